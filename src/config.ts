/** Cluster membership: who the replicas are, where they listen, and their keys. */
import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/** One replica's network address and identity. */
export interface ReplicaAddress {
  /** Index of the replica in `ClusterConfig.replicas`. */
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** base64 of the raw 32-byte Ed25519 public key */
  readonly publicKey: string;
}

/** A cluster of `replicas.length >= 3f + 1` replicas tolerating `f` Byzantine faults. */
export interface ClusterConfig {
  readonly f: number;
  readonly replicas: readonly ReplicaAddress[];
  /**
   * The client keys replicas admit (base64 of raw 32-byte Ed25519 public
   * keys, canonical): when present, a client whose key is not listed is
   * refused right after the TLS handshake; when absent, any key may be a
   * client, within the per-key limits (docs/DESIGN.md, "Connections and admission").
   */
  readonly clients?: readonly string[];
}

const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set(['f', 'replicas', 'clients']);
const REPLICA_FIELDS: ReadonlySet<string> = new Set(['id', 'host', 'port', 'publicKey']);
/** 32 bytes in base64 are 43 significant characters and one `=`. */
const PUBLIC_KEY_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const PUBLIC_KEY_BYTES = 32;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownFields(record: Record<string, unknown>, known: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(record)) {
    if (!known.has(key)) throw new ConfigError(`${prefix}${key}`, 'unknown field');
  }
}

function parsePublicKey(value: unknown, field: string): string {
  if (typeof value !== 'string' || !PUBLIC_KEY_BASE64.test(value)) {
    throw new ConfigError(field, `must be the base64 of a ${PUBLIC_KEY_BYTES}-byte Ed25519 public key`);
  }
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== PUBLIC_KEY_BYTES) throw new ConfigError(field, `must decode to ${PUBLIC_KEY_BYTES} bytes`);
  // Re-encode so that equal keys have equal strings (base64 admits non-canonical trailing bits).
  return raw.toString('base64');
}

function parseReplica(value: unknown, index: number): ReplicaAddress {
  const prefix = `replicas[${index}]`;
  if (!isRecord(value)) throw new ConfigError(prefix, 'must be an object');
  rejectUnknownFields(value, REPLICA_FIELDS, `${prefix}.`);
  if (value.id !== index) throw new ConfigError(`${prefix}.id`, `must be ${index} (ids are 0..n-1 in order)`);
  const { host, port } = value;
  if (typeof host !== 'string' || host.length === 0) throw new ConfigError(`${prefix}.host`, 'must be a non-empty string');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${prefix}.port`, 'must be an integer in 1..65535');
  }
  const publicKey = parsePublicKey(value.publicKey, `${prefix}.publicKey`);
  return Object.freeze({ id: index, host, port, publicKey });
}

/** Parses `clients`: distinct public keys, none of them a replica's (a replica key is always taken for that replica). */
function parseClients(value: unknown, replicaKeys: ReadonlyMap<string, number>): readonly string[] {
  if (!Array.isArray(value)) throw new ConfigError('clients', 'must be an array of base64 Ed25519 public keys');
  const seen = new Map<string, number>();
  const clients = value.map((item: unknown, index) => {
    const field = `clients[${index}]`;
    const key = parsePublicKey(item, field);
    const replica = replicaKeys.get(key);
    if (replica !== undefined) throw new ConfigError(field, `is the key of replicas[${replica}]`);
    const same = seen.get(key);
    if (same !== undefined) throw new ConfigError(field, `duplicates clients[${same}]`);
    seen.set(key, index);
    return key;
  });
  return Object.freeze(clients);
}

/**
 * Validates a cluster configuration (typically parsed JSON) and returns a
 * frozen copy.
 *
 * @throws ConfigError naming the offending field, e.g. `replicas[2].port`.
 */
export function parseClusterConfig(value: unknown): ClusterConfig {
  if (!isRecord(value)) throw new ConfigError('config', 'must be an object');
  rejectUnknownFields(value, TOP_LEVEL_FIELDS, '');
  const { f, replicas } = value;
  if (typeof f !== 'number' || !Number.isSafeInteger(f) || f < 0) {
    throw new ConfigError('f', 'must be an integer >= 0');
  }
  if (!Array.isArray(replicas)) throw new ConfigError('replicas', 'must be an array');
  if (replicas.length < 3 * f + 1) {
    throw new ConfigError('replicas', `needs at least 3f+1 = ${3 * f + 1} replicas, has ${replicas.length}`);
  }
  const parsed = replicas.map((replica: unknown, index) => parseReplica(replica, index));
  const endpoints = new Map<string, number>();
  const keys = new Map<string, number>();
  for (const replica of parsed) {
    const endpoint = `${replica.host}:${replica.port}`;
    const sameEndpoint = endpoints.get(endpoint);
    if (sameEndpoint !== undefined) {
      throw new ConfigError(`replicas[${replica.id}].port`, `host and port duplicate replicas[${sameEndpoint}]`);
    }
    endpoints.set(endpoint, replica.id);
    const sameKey = keys.get(replica.publicKey);
    if (sameKey !== undefined) {
      throw new ConfigError(`replicas[${replica.id}].publicKey`, `duplicates replicas[${sameKey}]`);
    }
    keys.set(replica.publicKey, replica.id);
  }
  const config = { f, replicas: Object.freeze(parsed) };
  if (value.clients === undefined) return Object.freeze(config);
  return Object.freeze({ ...config, clients: parseClients(value.clients, keys) });
}

/**
 * Reads and validates a JSON cluster configuration file.
 *
 * @throws ConfigError if the file cannot be read, is not JSON, or is invalid.
 */
export async function loadClusterConfig(path: string): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, `cannot read: ${describe(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, `not valid JSON: ${describe(error)}`);
  }
  return parseClusterConfig(json);
}
