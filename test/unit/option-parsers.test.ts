/** The CLI's option parsers (src/cli/option-parsers.ts) and `init --hosts`'s config (src/cluster/init.ts). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { hostList, integer, positive, seconds } from '../../src/cli/option-parsers.js';
import { initCluster } from '../../src/cluster/init.js';

describe('CLI option parsers', () => {
  it('hostList: host:port entries, IPv6 in brackets, in order', () => {
    assert.deepEqual(hostList('a.example:7000,10.0.0.2:7001,[::1]:7002'), [
      { host: 'a.example', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('hostList: refuses an entry without a host or a valid port', () => {
    for (const text of ['a', ':7000', 'a:0', 'a:65536', 'a:70.5', 'a:7000,,b:7001', 'a:x']) {
      assert.throws(() => hostList(text), InvalidArgumentError, text);
    }
  });

  it('integer, positive, seconds: bounds', () => {
    assert.equal(integer(1, 10)('7'), 7);
    assert.throws(() => integer(1, 10)('11'), InvalidArgumentError);
    assert.throws(() => integer(1, 10)('2.5'), InvalidArgumentError);
    assert.equal(positive(5)('0.5'), 0.5);
    assert.throws(() => positive(5)('0'), InvalidArgumentError);
    assert.equal(seconds(0, 3)('1.5'), 1.5);
    assert.throws(() => seconds(0, 3)('-1'), InvalidArgumentError);
  });
});

describe('initCluster with a host per replica (init --hosts)', () => {
  it('writes each replica with its own host and port', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bafomet-init-hosts-'));
    try {
      const hosts = hostList('a.example:7000,b.example:7100,c.example:7200,d.example:7300');
      const { config } = await initCluster({ replicas: 4, host: 'unused', basePort: 1, hosts: hosts.map((h) => h.host), ports: hosts.map((h) => h.port), out: dir });
      assert.deepEqual(
        config.replicas.map((r) => [r.host, r.port]),
        hosts.map((h) => [h.host, h.port]),
      );
      assert.equal(config.f, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
