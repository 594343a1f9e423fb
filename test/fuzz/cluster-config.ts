/**
 * Fuzz target: the cluster configuration parser (`parseClusterConfig`,
 * src/config.ts), which reads a JSON file an operator (or a tool) wrote.
 * Inputs: valid configurations of 1 to 10 replicas, the same with one
 * value replaced (a wrong type, a boundary number, a non-canonical key, a
 * removed or unknown field, a duplicated replica), and arbitrary JSON values.
 *
 * Properties: it returns or throws its documented ConfigError, nothing else;
 * what it returns is frozen, keeps its promises (at least 3f + 1 replicas,
 * ids 0..n-1 in order, ports in 1..65535, canonical base64 keys of 32 bytes,
 * no two replicas with one endpoint or key) and parses again to itself.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseClusterConfig, type ClusterConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import type { FuzzTarget } from './target.js';

export type ConfigCase =
  | { readonly kind: 'edited'; readonly config: unknown; readonly edit: ConfigEdit | null }
  | { readonly kind: 'json'; readonly value: unknown };

export interface ConfigEdit {
  /** Which value (in a depth-first walk) to replace, modulo their number. */
  readonly at: number;
  readonly with: unknown;
  /** Delete the field instead, or add an unknown one beside it. */
  readonly action: 'replace' | 'delete' | 'add-field' | 'duplicate-replica';
}

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'));

const validConfig: fc.Arbitrary<unknown> = fc.integer({ min: 1, max: 10 }).chain((n) =>
  fc.record({
    f: fc.integer({ min: 0, max: Math.floor((n - 1) / 3) }),
    replicas: fc.tuple(...Array.from({ length: n }, (_, id) => fc.record({ id: fc.constant(id), host: fc.constantFrom('127.0.0.1', 'a.example', '::1'), port: fc.integer({ min: 1, max: 65535 }), publicKey: key }))),
  }),
);

/** Values that sit on an edge of what some field accepts. */
const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, '', 'x', [], {}, -1, 0, 1, 1.5, 65535, 65536, 2 ** 53, -0, Number.MAX_VALUE, '1', 'AAAA'),
  // 43 base64 characters and '=' whose last character has non-zero trailing bits, and other near-keys.
  fc.constantFrom('A'.repeat(42) + 'B=', 'A'.repeat(43) + '=', 'A'.repeat(44), '/'.repeat(43) + '=', 'A'.repeat(42) + '==' ),
  fc.jsonValue({ maxDepth: 2 }),
);

export const clusterConfigTarget: FuzzTarget<ConfigCase> = {
  name: 'cluster-config',
  weight: 10,
  testRuns: 1000,
  arbitrary: () =>
    fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('edited' as const),
          config: validConfig,
          edit: fc.option(
            fc.record({ at: fc.nat({ max: 0xffff }), with: edgeValue, action: fc.constantFrom<ConfigEdit['action']>('replace', 'replace', 'delete', 'add-field', 'duplicate-replica') }),
            { freq: 5 },
          ),
        }),
        weight: 4,
      },
      { arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 4 }) }), weight: 1 },
    ),
  check: (c) => {
    // Through JSON text, as loadClusterConfig reads it: no holes, no undefined, no -0.
    const input: unknown = JSON.parse(JSON.stringify(c.kind === 'json' ? c.value : edited(c.config, c.edit)) ?? 'null');
    let config: ClusterConfig;
    try {
      config = parseClusterConfig(input);
    } catch (error) {
      if (error instanceof ConfigError) return;
      throw new Error(`parseClusterConfig threw ${String(error)} (not a ConfigError) on ${JSON.stringify(input)}`);
    }
    if (c.kind === 'edited' && c.edit === null) assert.ok(config, 'a valid configuration is refused');
    checkPromises(config, input);
  },
};

function checkPromises(config: ClusterConfig, input: unknown): void {
  const what = JSON.stringify(input);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.replicas), `not frozen: ${what}`);
  assert.ok(Number.isSafeInteger(config.f) && config.f >= 0 && config.replicas.length >= 3 * config.f + 1, `f and n: ${what}`);
  const endpoints = new Set<string>();
  const keys = new Set<string>();
  config.replicas.forEach((r, i) => {
    assert.equal(r.id, i, `ids in order: ${what}`);
    assert.ok(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535, `port: ${what}`);
    assert.ok(typeof r.host === 'string' && r.host.length > 0, `host: ${what}`);
    const raw = Buffer.from(r.publicKey, 'base64');
    assert.ok(raw.length === 32 && raw.toString('base64') === r.publicKey, `key not canonical: ${what}`);
    endpoints.add(`${r.host}:${r.port}`);
    keys.add(r.publicKey);
  });
  assert.equal(endpoints.size, config.replicas.length, `duplicate endpoint: ${what}`);
  assert.equal(keys.size, config.replicas.length, `duplicate key: ${what}`);
  assert.deepStrictEqual(parseClusterConfig(JSON.parse(JSON.stringify(config))), config, `does not parse to itself: ${what}`);
}

/** `config` (a JSON value) with `edit` applied to a copy. */
function edited(config: unknown, edit: ConfigEdit | null): unknown {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  if (edit === null) return copy;
  if (edit.action === 'duplicate-replica') {
    const replicas = copy.replicas as unknown[];
    replicas.push({ ...(replicas[edit.at % replicas.length] as object), id: replicas.length });
    return copy;
  }
  const slots: { parent: Record<string | number, unknown>; key: string | number }[] = [];
  const walk = (node: Record<string | number, unknown>): void => {
    for (const k of Object.keys(node)) {
      slots.push({ parent: node, key: Array.isArray(node) ? Number(k) : k });
      const v = node[k];
      if (typeof v === 'object' && v !== null) walk(v as Record<string, unknown>);
    }
  };
  walk(copy);
  const slot = slots[edit.at % slots.length];
  if (slot === undefined) return copy;
  if (edit.action === 'replace') slot.parent[slot.key] = edit.with;
  else if (edit.action === 'delete') delete slot.parent[slot.key];
  else slot.parent[`${String(slot.key)}-extra`] = edit.with;
  return copy;
}
