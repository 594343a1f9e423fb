/**
 * The cluster both examples share: 4 replicas on 127.0.0.1:10001-10004 (the
 * original design's ports), keys generated once into examples/.cluster/,
 * a fresh key per replica.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initCluster, loadClusterConfig, type ClusterConfig } from 'bafomet';

export const CLUSTER_DIR = fileURLToPath(new URL('../../examples/.cluster/', import.meta.url));
const CONFIG_PATH = `${CLUSTER_DIR}cluster.json`;

export async function localClusterConfig(): Promise<ClusterConfig> {
  if (!existsSync(CONFIG_PATH)) {
    await initCluster({ replicas: 4, host: '127.0.0.1', basePort: 10001, out: CLUSTER_DIR });
  }
  return loadClusterConfig(CONFIG_PATH);
}

/** Which example service to run: `kv` (default) or `counter`, from argv. */
export function exampleService(): 'kv' | 'counter' {
  const name = process.argv[2] ?? 'kv';
  if (name !== 'kv' && name !== 'counter') throw new Error(`unknown service ${name}: use kv or counter`);
  return name;
}
