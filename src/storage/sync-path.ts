/** fsync of a file or folder by path: what was written to it, or the entries of a folder, survive a power cut. */
import { open } from 'node:fs/promises';

export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
