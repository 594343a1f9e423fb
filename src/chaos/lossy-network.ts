/**
 * A middlebox on every link of a local cluster: one per ordered pair of
 * replicas (i dials j through its own box, which forwards to j's real port)
 * and one per replica for clients. Replicas keep listening on their real
 * ports; what they and the clients dial is the boxes'.
 *
 * A replica takes every address from one cluster file, so replica i must be
 * started with a file of its own: its own entry at its real port, replica j
 * at the port of box (i, j). `LocalCluster` starts every replica from the
 * same file, so after it has started them this module restarts each one in
 * turn, with the shared file rewritten for it just before (a replica reads
 * the file before its ready line, which `startReplica` waits for); then it
 * puts the original file back. Nothing has happened yet at that point (the
 * load starts afterwards), so the restarts cost about a second and nothing else.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { parseClusterConfig, type ClusterConfig, type ReplicaAddress } from '../config.js';
import type { LogLevel } from '../log.js';
import { LinkEvents } from './link-events.js';
import { Middlebox, NO_FAULTS, sumCounts, type MiddleboxCounts, type MiddleboxFault, type MiddleboxFaults } from './middlebox.js';

/** How to start a {@link LossyNetwork}. */
export interface LossyNetworkOptions {
  /** Seed of every box (each derives its own stream from it and its link). */
  readonly seed: number;
  /** A progress line. */
  readonly say: (line: string) => void;
  /** Log level of the restarted replicas; default info (disconnections and views are logged at info). */
  readonly logLevel?: LogLevel;
  /** Also called with each log line of each replica, as it arrives (performance.now()). */
  readonly onLogLine?: (replica: number, line: string, at: number) => void;
}

/** A link by its ends: replica `from` to replica `to`, or the clients (`from` = 'clients') to replica `to`. */
export interface LinkBox {
  readonly from: number | 'clients';
  readonly to: number;
  readonly box: Middlebox;
}

/** One injected fault, for the report's timeline. */
export interface FaultEvent {
  /** ms after {@link LossyNetwork.startTimeline} (performance.now()). */
  readonly atMs: number;
  readonly fault: MiddleboxFault;
  /** The link: replica id or `clients`, to replica id. */
  readonly from: number | 'clients';
  readonly to: number;
}

/** Fault events kept for the timeline; the counts go on past it. */
export const TIMELINE_EVENTS_MAX = 512;

const withPort = (address: ReplicaAddress, port: number): ReplicaAddress => ({ ...address, port });

/** The middleboxes of one run, the configuration that routes clients through them, and what they saw. */
export class LossyNetwork {
  /** The configuration clients must use: every replica at its clients' box. */
  readonly clientConfig: ClusterConfig;
  /** Disconnections and view installations the replicas logged since the restarts. */
  readonly events: LinkEvents;
  private readonly timeline: FaultEvent[] = [];
  private timelineFrom = performance.now();

  private constructor(
    /** Every box, by link. */
    readonly links: readonly LinkBox[],
    clientConfig: ClusterConfig,
    events: LinkEvents,
  ) {
    this.clientConfig = clientConfig;
    this.events = events;
  }

  /**
   * Starts the boxes (forwarding faithfully) and restarts every replica of
   * `cluster`, one at a time, dialling its peers through them. The replicas
   * log at info from then on, so that their disconnections can be counted;
   * lines below the cluster's own log level are not passed on.
   */
  static async start(cluster: LocalCluster, options: LossyNetworkOptions): Promise<LossyNetwork> {
    const { config } = cluster;
    const n = config.replicas.length;
    const links: LinkBox[] = [];
    const started: Middlebox[] = [];
    // Assigned once the boxes are up; they inject nothing before setFaults, so no fault is missed.
    let network: LossyNetwork | undefined;
    try {
      for (const to of config.replicas) {
        for (const from of [...config.replicas.map((r) => r.id).filter((id) => id !== to.id), 'clients' as const]) {
          const seed = options.seed + links.length;
          const onFault = (fault: MiddleboxFault): void => network?.record(fault, from, to.id);
          const box = await Middlebox.start({ target: { host: to.host, port: to.port }, seed, onFault });
          started.push(box);
          links.push({ from, to: to.id, box });
        }
      }
    } catch (error) {
      await Promise.all(started.map((box) => box.close()));
      throw error;
    }
    const portOf = (from: number | 'clients', to: number): number => links.find((l) => l.from === from && l.to === to)!.box.port;
    const clientConfig = parseClusterConfig({ f: config.f, replicas: config.replicas.map((r) => withPort(r, portOf('clients', r.id))) });
    const events = new LinkEvents(performance.now());
    network = new LossyNetwork(links, clientConfig, events);
    const original = await readFile(cluster.configPath, 'utf8');
    try {
      for (let id = 0; id < n; id++) {
        const own = parseClusterConfig({ f: config.f, replicas: config.replicas.map((r) => (r.id === id ? r : withPort(r, portOf(id, r.id)))) });
        await writeFile(cluster.configPath, JSON.stringify(own, null, 2) + '\n');
        await cluster.kill(id);
        await cluster.startReplica(id, {
          logLevel: options.logLevel ?? 'info',
          onLogLine: (line, at) => {
            events.onLogLine(id, line, at);
            options.onLogLine?.(id, line, at);
          },
        });
      }
      options.say(`${links.length} middleboxes: every replica dials its peers and the load dials every replica through one`);
    } catch (error) {
      await network.close();
      throw error;
    } finally {
      await writeFile(cluster.configPath, original);
    }
    return network;
  }

  /** Forgets the fault events so far; their times count from `at` (performance.now()) on. */
  startTimeline(at: number): void {
    this.timelineFrom = at;
    this.timeline.length = 0;
  }

  /** The faults injected since {@link startTimeline}, in order (the first {@link TIMELINE_EVENTS_MAX}). */
  faultTimeline(): readonly FaultEvent[] {
    return [...this.timeline];
  }

  private record(fault: MiddleboxFault, from: number | 'clients', to: number): void {
    if (this.timeline.length < TIMELINE_EVENTS_MAX) this.timeline.push({ atMs: Math.round(performance.now() - this.timelineFrom), fault, from, to });
  }

  /** Sets the faults of every box. */
  setFaults(faults: MiddleboxFaults): void {
    for (const { box } of this.links) box.setFaults(faults);
  }

  /** Forwards faithfully from now on (stalled connections stay stalled until their ends give up). */
  quiet(): void {
    this.setFaults(NO_FAULTS);
  }

  /** The counts of every box, summed. */
  counts(): MiddleboxCounts {
    return sumCounts(this.links.map((l) => l.box.counts()));
  }

  /** Closes every box (and so every connection through them). Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.box.close()));
  }
}
