/**
 * A closed-loop load on the built-in key-value service: each session writes
 * and reads back keys of its own, so every reply can be checked exactly
 * (a session's keys have no other writer).
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '../runtime/client.js';
import type { KvReply, KvRequest } from '../services/kv.js';
import { LatencyRecorder } from './latency.js';

export interface LoadResult {
  readonly completed: number;
  /** Replies that did not match what the session had written. */
  readonly wrong: number;
  readonly latency: LatencyRecorder;
  readonly elapsedMs: number;
}

/** Keys each session cycles through. */
const KEYS_PER_SESSION = 64;

export async function runKvLoad(
  client: Client<KvRequest, KvReply>,
  sessions: number,
  until: () => boolean,
  onProgress?: (completed: number) => void,
): Promise<LoadResult> {
  const latency = new LatencyRecorder();
  let completed = 0;
  let wrong = 0;
  const started = performance.now();
  const session = async (index: number): Promise<void> => {
    const written = new Map<string, string>();
    for (let i = 0; !until(); i++) {
      const key = `s${index}-k${i % KEYS_PER_SESSION}`;
      const read = i % 2 === 1;
      const value = `v${i}`;
      const request: KvRequest = read ? { op: 'get', key } : { op: 'put', key, value };
      const t0 = performance.now();
      let reply: KvReply;
      try {
        reply = await client.invoke(request);
      } catch {
        return; // client closed
      }
      latency.record(performance.now() - t0);
      completed++;
      onProgress?.(completed);
      if (read) {
        if (!reply.ok || (reply.value ?? undefined) !== written.get(key)) wrong++;
      } else if (reply.ok) {
        written.set(key, value);
      } else {
        wrong++;
      }
    }
  };
  await Promise.all(Array.from({ length: sessions }, (_, i) => session(i)));
  return { completed, wrong, latency, elapsedMs: performance.now() - started };
}
