/**
 * The checkpoint images a replica keeps to serve (docs/STATE-TRANSFER.md
 * S3): the stable checkpoint's and its own above it, at most `imagesMax`.
 */
import { assert } from '../core/assert.js';
import type { SeqNo } from '../core/ordering.js';
import type { CheckpointImage } from './image.js';

/** Kept images by sequence number, bounded. */
export class CheckpointImages {
  private readonly images = new Map<SeqNo, CheckpointImage>();
  /** The latest stable checkpoint: images below it are never asked for again. */
  private stable = 0;

  constructor(private readonly imagesMax: number) {
    assert(Number.isSafeInteger(imagesMax) && imagesMax > 0, `images kept must be positive, not ${imagesMax}`);
  }

  get(seq: SeqNo): CheckpointImage | undefined {
    return this.images.get(seq);
  }

  /**
   * Keeps `image` as checkpoint `seq`'s, unless a later checkpoint is stable
   * already. Asserts the bound: the log window holds at most
   * logWindow / checkpointInterval checkpoints above the stable one, so with
   * the stable one's that many images plus one are all a replica can hold.
   */
  keep(seq: SeqNo, image: CheckpointImage): void {
    if (seq < this.stable) return;
    this.images.set(seq, image);
    assert(this.images.size <= this.imagesMax, `more than ${this.imagesMax} checkpoint images kept`);
  }

  /** Checkpoint `seq` is stable: drops every image below it, keeps its own and later ones. */
  stableAt(seq: SeqNo): void {
    this.stable = Math.max(this.stable, seq);
    for (const kept of this.images.keys()) if (kept < this.stable) this.images.delete(kept);
  }
}
