/**
 * The directory a replica keeps its checkpoint image files in
 * (`ReplicaOptions.checkpointDir`). The files only serve this run: a
 * restarted replica fetches the stable checkpoint again (S4 c), so files a
 * previous run left are deleted at start, and the rest at close. Only files
 * named like image files are touched, so a directory given by mistake loses
 * nothing else.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SeqNo } from '../core/ordering.js';

const IMAGE_FILE = /^checkpoint-\d+-\d+\.state$/;

/** Names the image files of one replica and deletes them. */
export class CheckpointDirectory {
  #files = 0;

  private constructor(readonly path: string) {}

  /** Creates the directory `path` if needed and deletes the image files in it. */
  static async open(path: string): Promise<CheckpointDirectory> {
    const directory = new CheckpointDirectory(resolve(path));
    await mkdir(directory.path, { recursive: true });
    await directory.clean();
    return directory;
  }

  /** A new absolute file path for an image of checkpoint `seq`, never handed out before. */
  file(seq: SeqNo): string {
    return join(this.path, `checkpoint-${seq}-${this.#files++}.state`);
  }

  /** Deletes every image file in the directory. */
  async clean(): Promise<void> {
    const names = await readdir(this.path);
    await Promise.all(names.filter((name) => IMAGE_FILE.test(name)).map((name) => rm(join(this.path, name), { force: true })));
  }
}
