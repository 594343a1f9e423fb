/**
 * What the replicas' own logs say about their links and views during a
 * chaos run: disconnections by kind and reason (src/net logs each at info,
 * with a reason), and when each replica installed a view. Read from the
 * pino JSON lines a replica process writes on stderr.
 */

/** One view a replica installed, or started changing to. */
export interface ViewEvent {
  readonly replica: number;
  readonly view: number;
  /** ms after the tally's start (performance.now()). */
  readonly atMs: number;
}

/** What {@link LinkEvents.summary} reports. */
export interface LinkEventsSummary {
  /** Disconnections logged by every replica. */
  readonly disconnections: number;
  /**
   * The same by `<kind>: <reason>`, kind being `outgoing` (a link this
   * replica dialled), `incoming` (another replica's link to it) or `client`,
   * e.g. `outgoing: idle`, `incoming: error: decryption failed or bad record mac`.
   */
  readonly disconnectionsByReason: Readonly<Record<string, number>>;
  /** View changes started (a replica voted to leave its view), in the order logged (at most {@link VIEWS_KEPT_MAX}). */
  readonly viewChangesStarted: readonly ViewEvent[];
  /** Views installed, in the order logged (at most {@link VIEWS_KEPT_MAX}). */
  readonly viewsInstalled: readonly ViewEvent[];
}

/** Distinct `kind: reason` keys kept; further ones are counted under `other`. */
export const REASONS_MAX = 32;
/** View events kept of each kind (4 replicas × 64 views). */
export const VIEWS_KEPT_MAX = 256;

const KIND_OF_MESSAGE: Readonly<Record<string, string>> = {
  disconnected: 'outgoing',
  'replica disconnected': 'incoming',
  'client disconnected': 'client',
};

/** Tallies link and view events from replica log lines. */
export class LinkEvents {
  private disconnections = 0;
  private readonly byReason = new Map<string, number>();
  private readonly views: ViewEvent[] = [];
  private readonly started: ViewEvent[] = [];

  constructor(private startedAt: number) {}

  /** Forgets everything tallied so far; times count from `at` (performance.now()) on. */
  startOver(at: number): void {
    this.startedAt = at;
    this.disconnections = 0;
    this.byReason.clear();
    this.views.length = 0;
    this.started.length = 0;
  }

  /** One stderr line of replica `replica`, arrived at `at` (performance.now()); lines that are not pino JSON are ignored. */
  onLogLine(replica: number, line: string, at: number): void {
    if (!line.startsWith('{')) return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const msg = record['msg'];
    if (typeof msg !== 'string') return;
    const kind = KIND_OF_MESSAGE[msg];
    if (kind !== undefined) {
      this.disconnections++;
      let key = `${kind}: ${typeof record['reason'] === 'string' ? record['reason'] : 'unknown'}`;
      if (!this.byReason.has(key) && this.byReason.size >= REASONS_MAX) key = 'other';
      this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    } else if (typeof record['view'] === 'number') {
      const list = msg === 'view installed' ? this.views : msg === 'view change started' ? this.started : undefined;
      if (list !== undefined && list.length < VIEWS_KEPT_MAX) list.push({ replica, view: record['view'], atMs: Math.round(at - this.startedAt) });
    }
  }

  /** What was tallied since the start (or the last {@link startOver}). */
  summary(): LinkEventsSummary {
    return {
      disconnections: this.disconnections,
      disconnectionsByReason: Object.fromEntries([...this.byReason].sort((a, b) => b[1] - a[1])),
      viewChangesStarted: [...this.started],
      viewsInstalled: [...this.views],
    };
  }
}
