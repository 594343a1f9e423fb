/**
 * The bench service (src/services/bench.ts): replies of the size its module
 * URL names, a state that records how many requests ran and a digest of
 * them in order, and a state codec that round-trips it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchService, replyBytesOf } from '../../src/services/bench.js';
import { resolveServiceModule } from '../../src/cluster/service-module.js';

const request = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('bench service', () => {
  it('takes its reply size from the module URL', () => {
    const url = resolveServiceModule('bench?replyBytes=64');
    assert.ok(url instanceof URL && url.pathname.endsWith('/services/bench.js'));
    assert.equal(replyBytesOf(String(url)), 64);
    assert.equal(replyBytesOf('file:///x/bench.js'), 0);
    assert.throws(() => replyBytesOf('file:///x/bench.js?replyBytes=-1'), RangeError);
    assert.throws(() => replyBytesOf('file:///x/bench.js?replyBytes=99999999'), RangeError);
  });

  it('answers replyBytes bytes starting with the count, for any request', () => {
    const service = benchService(16);
    const state = service.initialState();
    const first = service.update(state, request('a'));
    const second = service.update(state, new Uint8Array(0));
    assert.equal(first.length, 16);
    assert.deepEqual([...first.subarray(0, 2)], [1, 0]);
    assert.deepEqual([...second.subarray(0, 2)], [2, 0]);
    assert.equal(benchService(0).update(benchService(0).initialState(), request('a')).length, 0);
  });

  it('ends with equal states for the same requests in the same order, different ones otherwise', () => {
    const service = benchService(0);
    const run = (requests: string[]): Uint8Array => {
      const state = service.initialState();
      for (const r of requests) service.update(state, request(r));
      return service.state.encode(state);
    };
    assert.deepEqual(run(['a', 'b']), run(['a', 'b']));
    assert.notDeepEqual(run(['a', 'b']), run(['b', 'a']));
    assert.notDeepEqual(run(['a']), run(['a', 'a']));
  });

  it('round-trips its state and refuses a malformed one', () => {
    const service = benchService(8);
    const state = service.initialState();
    for (let i = 0; i < 300; i++) service.update(state, request(String(i)));
    const decoded = service.state.decode(service.state.encode(state));
    assert.equal(decoded.count, 300);
    assert.deepEqual([...decoded.digest], [...state.digest]);
    assert.throws(() => service.state.decode(new Uint8Array(39)), TypeError);
  });
});
