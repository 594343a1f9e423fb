/**
 * The checkpoint images a replica keeps to serve (docs/STATE-TRANSFER.md
 * S3): the stable checkpoint's and its own above it, at most `imagesMax`.
 */
import { assert } from '../core/assert.js';
import type { SeqNo } from '../core/ordering.js';
import type { CheckpointImage } from './image.js';

/** Kept images by sequence number, bounded; `onDrop` frees what an image holds once it is no longer kept. */
export class CheckpointImages<I = CheckpointImage> {
  private readonly images = new Map<SeqNo, I>();
  /** The latest stable checkpoint: images below it are never asked for again. */
  private stable = 0;

  constructor(
    private readonly imagesMax: number,
    private readonly onDrop: (image: I) => void = () => {},
  ) {
    assert(Number.isSafeInteger(imagesMax) && imagesMax > 0, `images kept must be positive, not ${imagesMax}`);
  }

  get(seq: SeqNo): I | undefined {
    return this.images.get(seq);
  }

  /**
   * Keeps `image` as checkpoint `seq`'s (dropping another one kept for it),
   * unless a later checkpoint is stable already: then drops `image`.
   * Asserts the bound: the log window holds at most
   * logWindow / checkpointInterval checkpoints above the stable one, so with
   * the stable one's that many images plus one are all a replica can hold.
   */
  keep(seq: SeqNo, image: I): void {
    if (seq < this.stable) return this.onDrop(image);
    const replaced = this.images.get(seq);
    if (replaced !== undefined && replaced !== image) this.onDrop(replaced);
    this.images.set(seq, image);
    assert(this.images.size <= this.imagesMax, `more than ${this.imagesMax} checkpoint images kept`);
  }

  /** Checkpoint `seq` is stable: drops every image below it, keeps its own and later ones. */
  stableAt(seq: SeqNo): void {
    this.stable = Math.max(this.stable, seq);
    for (const [kept, image] of this.images) {
      if (kept < this.stable) {
        this.images.delete(kept);
        this.onDrop(image);
      }
    }
  }

  /** Drops every image (the replica closes). */
  clear(): void {
    for (const image of this.images.values()) this.onDrop(image);
    this.images.clear();
  }
}
