/**
 * `bafomet init`: writes a cluster config and one private key file per
 * replica (and per client, if asked for admitted clients), each from its own
 * fresh Ed25519 key (ancestor defect 11: every node once used the same
 * all-zero seed). Key files are PKCS#8 PEM with mode 0600, created
 * exclusively (`savePrivateKey`); nothing here logs or prints a private key.
 * It never overwrites a cluster's files: a key lost by accident is a replica
 * that cannot rejoin.
 */
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseClusterConfig, type ClusterConfig } from '../config.js';
import { maxFaults } from '../core/quorum.js';
import { BafometError } from '../errors.js';
import { generateIdentity, publicKeyBase64, savePrivateKey } from '../net/identity.js';

export interface InitOptions {
  readonly replicas: number;
  readonly host: string;
  /** Replica i listens on basePort + i, unless `ports` lists each port. */
  readonly basePort: number;
  readonly ports?: readonly number[];
  /** The host of each replica, by id (replicas on several machines); default `host` for every one. */
  readonly hosts?: readonly string[];
  readonly out: string;
  /** Faults tolerated; default the most `replicas` allows. */
  readonly f?: number;
  /**
   * Client key files to write (`client-<i>.key.pem`); with any, the config
   * lists their public keys in `clients`, and replicas admit only them.
   * Default 0: no `clients`, any key is admitted.
   */
  readonly clientKeys?: number;
}

export const CONFIG_FILE = 'cluster.json';

/** {@link initCluster} found files it would write already in its folder; `paths` lists them. Nothing was written. */
export class ClusterFilesExistError extends BafometError {
  constructor(readonly paths: readonly string[]) {
    const more = paths.length > 1 ? ` (and ${paths.length - 1} more)` : '';
    super('ERR_BAFOMET_EXISTS', `${paths[0] ?? 'a cluster file'} already exists${more}; initCluster never overwrites a cluster's files`);
  }
  override get name(): string {
    return 'ClusterFilesExistError';
  }
}

/** The key file of replica `id` inside a cluster folder made by {@link initCluster}. */
export function replicaKeyFile(dir: string, id: number): string {
  return join(dir, `replica-${id}.key.pem`);
}

/** The key file of admitted client `index` inside a cluster folder made by {@link initCluster}. */
export function clientKeyFile(dir: string, index: number): string {
  return join(dir, `client-${index}.key.pem`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Writes `cluster.json`, `replica-<id>.key.pem` for every replica and
 * `client-<i>.key.pem` for each of `clientKeys` into `out` (created if
 * missing). Validates the config before writing anything.
 *
 * @throws ClusterFilesExistError if any of those files exists (none is written then);
 * ConfigError if the options make an invalid config.
 */
export async function initCluster(options: InitOptions): Promise<{ config: ClusterConfig; configPath: string }> {
  const identities = Array.from({ length: options.replicas }, () => generateIdentity());
  const clientIdentities = Array.from({ length: options.clientKeys ?? 0 }, () => generateIdentity());
  const replicas = identities.map((identity, id) => ({
    id,
    host: options.hosts?.[id] ?? options.host,
    port: options.ports?.[id] ?? options.basePort + id,
    publicKey: publicKeyBase64(identity),
  }));
  const clients = clientIdentities.length === 0 ? {} : { clients: clientIdentities.map(publicKeyBase64) };
  const config = parseClusterConfig({ f: options.f ?? maxFaults(options.replicas), replicas, ...clients });
  await mkdir(options.out, { recursive: true });
  const configPath = join(options.out, CONFIG_FILE);
  const keys = [
    ...identities.map((identity, id) => ({ identity, path: replicaKeyFile(options.out, id) })),
    ...clientIdentities.map((identity, index) => ({ identity, path: clientKeyFile(options.out, index) })),
  ];
  const present = [];
  for (const path of [configPath, ...keys.map((key) => key.path)]) if (await exists(path)) present.push(path);
  if (present.length > 0) throw new ClusterFilesExistError(present);
  // Exclusive creates: a file that appeared since the check is refused too, and what this call wrote is removed.
  const written: string[] = [];
  try {
    for (const { identity, path } of keys) {
      await savePrivateKey(path, identity);
      written.push(path);
    }
    await writeFile(configPath, JSON.stringify(config, null, 2) + '\n', { flag: 'wx' });
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    const { code, path } = error as NodeJS.ErrnoException;
    if (code === 'EEXIST') throw new ClusterFilesExistError([path ?? options.out]);
    throw error;
  }
  return { config, configPath };
}
