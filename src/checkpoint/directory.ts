/**
 * The directory a replica keeps its checkpoint image files in. With
 * `ReplicaOptions.checkpointDir` the files only serve this run: files a
 * previous run left are deleted at start, and the rest at close. In a data
 * directory (`ReplicaOptions.dataDir`) the images the journal names
 * survive restarts ({@link CheckpointDirectory.openKeeping}). Only files
 * named like image files are touched, so a directory given by mistake loses
 * nothing else.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SeqNo } from '../core/ordering.js';

const IMAGE_FILE = /^checkpoint-\d+-(\d+)\.state$/;

/** Names the image files of one replica and deletes them. */
export class CheckpointDirectory {
  #files = 0;

  private constructor(readonly path: string) {}

  /** Creates the directory `path` if needed and deletes the image files in it. */
  static async open(path: string): Promise<CheckpointDirectory> {
    return CheckpointDirectory.openKeeping(path, new Set());
  }

  /**
   * Creates the directory `path` if needed and deletes the image files in
   * it but those named in `keep`; new files are numbered after every file
   * kept, so none is ever written twice.
   */
  static async openKeeping(path: string, keep: ReadonlySet<string>): Promise<CheckpointDirectory> {
    const directory = new CheckpointDirectory(resolve(path));
    await mkdir(directory.path, { recursive: true });
    await directory.clean(keep);
    for (const name of keep) {
      const counter = IMAGE_FILE.exec(name)?.[1];
      if (counter !== undefined) directory.#files = Math.max(directory.#files, Number(counter) + 1);
    }
    return directory;
  }

  /** A new absolute file path for an image of checkpoint `seq`, never handed out before. */
  file(seq: SeqNo): string {
    return join(this.path, `checkpoint-${seq}-${this.#files++}.state`);
  }

  /** Deletes every image file in the directory but those named in `keep`. */
  async clean(keep: ReadonlySet<string> = new Set()): Promise<void> {
    const names = await readdir(this.path);
    const stale = names.filter((name) => IMAGE_FILE.test(name) && !keep.has(name));
    await Promise.all(stale.map((name) => rm(join(this.path, name), { force: true })));
  }
}
