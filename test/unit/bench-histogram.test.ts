/**
 * The bench's latency histogram (src/bench/histogram.ts): every percentile
 * within its bucket's 0.8 % of the exact nearest-rank one, never below it
 * and never above the maximum; merging histograms is the same as recording
 * every value into one, so percentiles over several client processes are
 * those of all their requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bucketHighestUs, LatencyHistogram } from '../../src/bench/histogram.js';
import { nearestRankPercentile } from '../../src/cluster/latency.js';

const PERCENTILES = [1, 50, 90, 99, 99.9, 100];
/** Latencies in ms with µs resolution, from sub-millisecond to minutes. */
const latencies = fc.array(fc.integer({ min: 0, max: 600_000_000 }).map((us) => us / 1000), { minLength: 1, maxLength: 500 });

describe('bench latency histogram', () => {
  it('gives each percentile within 0.8 % above the exact one, at most the maximum', () => {
    fc.assert(
      fc.property(latencies, (values) => {
        const histogram = new LatencyHistogram();
        for (const v of values) histogram.record(v);
        const sorted = [...values].sort((a, b) => a - b);
        assert.equal(histogram.count, values.length);
        assert.equal(histogram.maxMs, sorted.at(-1));
        for (const p of PERCENTILES) {
          const exact = nearestRankPercentile(sorted, p);
          const reported = histogram.percentile(p);
          assert.ok(reported >= exact - 1e-9, `p${p}: ${reported} below ${exact}`);
          assert.ok(reported <= exact * (1 + 1 / 128) + 0.001, `p${p}: ${reported} too far above ${exact}`);
          assert.ok(reported <= histogram.maxMs);
        }
      }),
    );
  });

  it('merges through JSON as if every value had been recorded in one', () => {
    fc.assert(
      fc.property(latencies, latencies, (a, b) => {
        const one = new LatencyHistogram();
        const left = new LatencyHistogram();
        const right = new LatencyHistogram();
        for (const v of a) (one.record(v), left.record(v));
        for (const v of b) (one.record(v), right.record(v));
        const merged = LatencyHistogram.from(JSON.parse(JSON.stringify(left.toJSON())));
        merged.merge(JSON.parse(JSON.stringify(right.toJSON())));
        assert.deepEqual(merged.toJSON(), one.toJSON());
      }),
    );
  });

  it('has contiguous buckets: each starts one above where the previous ends', () => {
    const histogram = new LatencyHistogram();
    for (let us = 0; us < 70_000; us++) histogram.record(us / 1000);
    // Every bucket but the last is full: it counts each µs it holds once.
    const buckets = histogram.toJSON().buckets.slice(0, -1);
    let expected = 0;
    for (const [index, count] of buckets) {
      assert.equal(count, bucketHighestUs(index) - expected + 1, `bucket ${index}`);
      expected = bucketHighestUs(index) + 1;
    }
  });

  it('is empty until something is recorded', () => {
    const histogram = new LatencyHistogram();
    assert.equal(histogram.percentile(50), 0);
    assert.equal(histogram.maxMs, 0);
    assert.equal(histogram.meanMs, 0);
  });
});
