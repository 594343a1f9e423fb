import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadClusterConfig, parseClusterConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const key = (byte: number): string => Buffer.alloc(32, byte).toString('base64');

function validConfig(): { f: number; replicas: Record<string, unknown>[] } {
  return {
    f: 1,
    replicas: [0, 1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 7000 + id, publicKey: key(id + 1) })),
  };
}

function assertFieldError(value: unknown, field: string): void {
  assert.throws(
    () => parseClusterConfig(value),
    (error: unknown) => error instanceof ConfigError && error.field === field,
    `expected ConfigError for ${field}`,
  );
}

/** A valid config with one change applied. */
function mutated(change: (config: ReturnType<typeof validConfig>) => void): unknown {
  const config = validConfig();
  change(config);
  return config;
}

describe('parseClusterConfig', () => {
  it('accepts a valid config and returns a frozen copy', () => {
    const input = validConfig();
    const config = parseClusterConfig(input);
    assert.equal(config.f, 1);
    assert.equal(config.replicas.length, 4);
    assert.deepEqual(config.replicas[2], { id: 2, host: '127.0.0.1', port: 7002, publicKey: key(3) });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.replicas) && Object.isFrozen(config.replicas[0]));
    assert.notEqual(config.replicas[0], input.replicas[0]);
  });

  it('accepts f = 0 with one replica and more than 3f+1 replicas', () => {
    assert.equal(parseClusterConfig({ f: 0, replicas: validConfig().replicas.slice(0, 1) }).replicas.length, 1);
    assert.equal(parseClusterConfig({ f: 0, replicas: validConfig().replicas }).replicas.length, 4);
  });

  it('canonicalizes public keys so equal keys compare equal', () => {
    // 'AB' decodes like 'AA' in the last position: the low bits are padding.
    const canonical = key(0);
    const sloppy = `${canonical.slice(0, 42)}B=`;
    assert.equal(Buffer.from(sloppy, 'base64').toString('base64'), canonical);
    const config = parseClusterConfig(mutated((c) => (c.replicas[0]!.publicKey = sloppy)));
    assert.equal(config.replicas[0]!.publicKey, canonical);
    assertFieldError(mutated((c) => ((c.replicas[0]!.publicKey = sloppy), (c.replicas[1]!.publicKey = canonical))), 'replicas[1].publicKey');
  });

  it('names the offending field', () => {
    assertFieldError(null, 'config');
    assertFieldError([], 'config');
    assertFieldError(mutated((c) => Object.assign(c, { extra: true })), 'extra');
    assertFieldError(mutated((c) => (c.f = -1)), 'f');
    assertFieldError(mutated((c) => (c.f = 0.5)), 'f');
    assertFieldError(mutated((c) => Object.assign(c, { f: '1' })), 'f');
    assertFieldError(mutated((c) => Object.assign(c, { replicas: {} })), 'replicas');
    assertFieldError(mutated((c) => (c.f = 2)), 'replicas');
    assertFieldError(mutated((c) => (c.replicas[1] = 'x' as unknown as Record<string, unknown>)), 'replicas[1]');
    assertFieldError(mutated((c) => (c.replicas[2]!.id = 3)), 'replicas[2].id');
    assertFieldError(mutated((c) => delete c.replicas[2]!.id), 'replicas[2].id');
    assertFieldError(mutated((c) => (c.replicas[1]!.host = '')), 'replicas[1].host');
    assertFieldError(mutated((c) => (c.replicas[1]!.host = 7)), 'replicas[1].host');
    assertFieldError(mutated((c) => (c.replicas[2]!.port = 0)), 'replicas[2].port');
    assertFieldError(mutated((c) => (c.replicas[2]!.port = 65536)), 'replicas[2].port');
    assertFieldError(mutated((c) => (c.replicas[2]!.port = 80.5)), 'replicas[2].port');
    assertFieldError(mutated((c) => (c.replicas[2]!.port = '80')), 'replicas[2].port');
    assertFieldError(mutated((c) => (c.replicas[3]!.publicKey = 'not base64!')), 'replicas[3].publicKey');
    assertFieldError(mutated((c) => (c.replicas[3]!.publicKey = Buffer.alloc(31).toString('base64'))), 'replicas[3].publicKey');
    assertFieldError(mutated((c) => (c.replicas[3]!.publicKey = Buffer.alloc(33).toString('base64'))), 'replicas[3].publicKey');
    assertFieldError(mutated((c) => delete c.replicas[3]!.publicKey), 'replicas[3].publicKey');
    assertFieldError(mutated((c) => (c.replicas[3]!.port = 7001)), 'replicas[3].port');
    assertFieldError(mutated((c) => (c.replicas[3]!.publicKey = key(1))), 'replicas[3].publicKey');
    assertFieldError(mutated((c) => (c.replicas[0]!.pubkey = key(9))), 'replicas[0].pubkey');
  });

  it('parses the admitted client keys, canonical and frozen; absent means any key', () => {
    assert.equal('clients' in parseClusterConfig(validConfig()), false);
    const sloppy = `${key(0).slice(0, 42)}B=`;
    const config = parseClusterConfig({ ...validConfig(), clients: [key(10), sloppy] });
    assert.deepEqual(config.clients, [key(10), key(0)]);
    assert.ok(Object.isFrozen(config.clients));
    assert.deepEqual(parseClusterConfig({ ...validConfig(), clients: [] }).clients, [], 'an empty list admits no client');
  });

  it('names the offending client key', () => {
    assertFieldError({ ...validConfig(), clients: key(10) }, 'clients');
    assertFieldError({ ...validConfig(), clients: [key(10), 'not base64!'] }, 'clients[1]');
    assertFieldError({ ...validConfig(), clients: [key(10), 7] }, 'clients[1]');
    assertFieldError({ ...validConfig(), clients: [key(10), Buffer.alloc(31).toString('base64')] }, 'clients[1]');
    assertFieldError({ ...validConfig(), clients: [key(10), key(11), key(10)] }, 'clients[2]');
    assertFieldError({ ...validConfig(), clients: [key(2)] }, 'clients[0]');
  });

  it('puts the field name in the message', () => {
    assert.throws(() => parseClusterConfig(mutated((c) => (c.replicas[2]!.port = 0))), /^ConfigError: replicas\[2\]\.port: /);
  });
});

describe('loadClusterConfig', () => {
  it('reads a JSON file and rejects unreadable or malformed ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bafomet-config-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(good, JSON.stringify(validConfig()));
      assert.equal((await loadClusterConfig(good)).replicas.length, 4);
      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{ "f": 1,');
      await assert.rejects(loadClusterConfig(bad), (error: unknown) => error instanceof ConfigError && error.field === bad);
      const missing = join(dir, 'missing.json');
      await assert.rejects(loadClusterConfig(missing), (error: unknown) => error instanceof ConfigError && error.field === missing);
      const invalid = join(dir, 'invalid.json');
      await writeFile(invalid, JSON.stringify({ ...validConfig(), f: -1 }));
      await assert.rejects(loadClusterConfig(invalid), (error: unknown) => error instanceof ConfigError && error.field === 'f');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
