/**
 * Simulated time and the event queue: a binary min-heap ordered by
 * (time, insertion counter), so events due at the same microsecond run in
 * the order they were scheduled. Nothing else decides what happens next.
 */

/** Simulated time in integer microseconds since the start of the run. */
export type Micros = number;

export const MS: Micros = 1000;

interface Entry<E> {
  readonly time: Micros;
  readonly order: number;
  readonly event: E;
}

export class EventQueue<E> {
  private heap: Entry<E>[] = [];
  private counter = 0;
  /** Time of the event being processed (the simulated clock). */
  now: Micros = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `event` at absolute time `time` (never in the past). */
  at(time: Micros, event: E): void {
    const entry: Entry<E> = { time: Math.max(Math.round(time), this.now), order: this.counter++, event };
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry<E>;
      if (p.time < entry.time || (p.time === entry.time && p.order < entry.order)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Schedules `event` `delay` microseconds from now. */
  after(delay: Micros, event: E): void {
    this.at(this.now + delay, event);
  }

  /** Time of the next event, or undefined. */
  peekTime(): Micros | undefined {
    return this.heap[0]?.time;
  }

  /** Removes the next event and advances the clock to it. */
  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Entry<E>;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        const le = heap[l] as Entry<E>;
        if (r < n) {
          const re = heap[r] as Entry<E>;
          if (re.time < le.time || (re.time === le.time && re.order < le.order)) c = r;
        }
        const ce = heap[c] as Entry<E>;
        if (last.time < ce.time || (last.time === ce.time && last.order < ce.order)) break;
        heap[i] = ce;
        i = c;
      }
      heap[i] = last;
    }
    this.now = top.time;
    return top.event;
  }
}
