/**
 * `bafomet init`: writes a cluster config and one private key file per
 * replica, each from its own fresh Ed25519 key (ancestor defect 11: every
 * node once used the same all-zero seed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseClusterConfig, type ClusterConfig } from '../config.js';
import { maxFaults } from '../core/quorum.js';
import { generateIdentity, publicKeyBase64, savePrivateKey } from '../net/identity.js';

export interface InitOptions {
  readonly replicas: number;
  readonly host: string;
  /** Replica i listens on basePort + i, unless `ports` lists each port. */
  readonly basePort: number;
  readonly ports?: readonly number[];
  readonly out: string;
  /** Faults tolerated; default the most `replicas` allows. */
  readonly f?: number;
}

export const CONFIG_FILE = 'cluster.json';

/** The key file of replica `id` inside a cluster folder made by {@link initCluster}. */
export function replicaKeyFile(dir: string, id: number): string {
  return join(dir, `replica-${id}.key.pem`);
}

export async function initCluster(options: InitOptions): Promise<{ config: ClusterConfig; configPath: string }> {
  await mkdir(options.out, { recursive: true });
  const replicas = [];
  for (let id = 0; id < options.replicas; id++) {
    const identity = generateIdentity();
    await savePrivateKey(replicaKeyFile(options.out, id), identity);
    replicas.push({ id, host: options.host, port: options.ports?.[id] ?? options.basePort + id, publicKey: publicKeyBase64(identity) });
  }
  const config = parseClusterConfig({ f: options.f ?? maxFaults(options.replicas), replicas });
  const configPath = join(options.out, CONFIG_FILE);
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n');
  return { config, configPath };
}
