/**
 * What a replica's journal holds: the core's {@link DurableRecord}s and the
 * runtime's own {@link ImageRecord}s, which say where a checkpoint's image
 * lives on disk. The core never sees image records; the runtime folds the
 * others through `DurableState`.
 */
import type { DurableRecord } from '../core/durable.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { SeqNo } from '../core/ordering.js';

/**
 * The image of checkpoint `seq` is durable: its service state is the file
 * `file` (a name relative to the data directory), its client table is
 * `clientTable` (encoded by `encodeClientTable`), and `manifest` describes
 * both, so the replica can serve chunks of it after a restart.
 */
export interface ImageRecord {
  readonly kind: 'image';
  readonly seq: SeqNo;
  readonly manifest: CheckpointManifest;
  readonly clientTable: Uint8Array;
  readonly file: string;
}

/** One record of a replica's journal. */
export type JournalRecord = DurableRecord | ImageRecord;
