/** The replicated {@link BenchTarget}: a {@link LocalCluster} of replica processes running the bench service. */
import { setTimeout as delay } from 'node:timers/promises';
import { LocalCluster } from '../cluster/local-cluster.js';
import type { ProtocolOptions } from '../core/options.js';
import type { LogLevel } from '../log.js';
import type { ExecutorKind } from '../runtime/replica.js';
import type { BenchTarget, TargetSample } from './target.js';

export interface ClusterTargetOptions {
  readonly replicas: number;
  readonly replyBytes: number;
  /** Each replica keeps a data directory (journal and checkpoints, fsync'd). */
  readonly durable: boolean;
  readonly protocol?: Partial<ProtocolOptions>;
  readonly executor?: ExecutorKind;
  readonly logLevel?: LogLevel;
  /** Node.js options of the replica processes (`--cpu-prof`). */
  readonly nodeArgs: readonly string[];
}

/** Bound on the replicas agreeing on their last executed batch once the load stopped. */
const SETTLE_TIMEOUT_MS = 10_000;
/** Poll period of that bounded wait. */
const SETTLE_POLL_MS = 50;

export class ClusterTarget implements BenchTarget {
  readonly kind = 'replicated';

  private constructor(private readonly cluster: LocalCluster) {}

  static async start(options: ClusterTargetOptions): Promise<ClusterTarget> {
    const cluster = await LocalCluster.start({
      replicas: options.replicas,
      service: `bench?replyBytes=${options.replyBytes}`,
      dataDirs: options.durable,
      nodeArgs: options.nodeArgs,
      ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
      ...(options.executor === undefined ? {} : { executor: options.executor }),
      ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
    });
    return new ClusterTarget(cluster);
  }

  get configPath(): string {
    return this.cluster.configPath;
  }

  get processes(): number {
    return this.cluster.config.replicas.length;
  }

  get f(): number {
    return this.cluster.f;
  }

  async sample(): Promise<TargetSample> {
    const ids = this.cluster.config.replicas.map((r) => r.id);
    const [statuses, cpus] = await Promise.all([Promise.all(ids.map((id) => this.cluster.status(id))), Promise.all(ids.map((id) => this.cluster.cpu(id)))]);
    return {
      cpuMicros: cpus.map((c) => c.user + c.system),
      batches: statuses.reduce((sum, s) => sum + s.batchesDelivered, 0),
      requests: statuses.reduce((sum, s) => sum + s.requestsExecuted, 0),
      view: Math.max(...statuses.map((s) => s.view)),
    };
  }

  async settledStatesEqual(): Promise<boolean> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const digests = await Promise.all(this.cluster.running.map((id) => this.cluster.digest(id)));
      if (new Set(digests.map((d) => d.seq)).size === 1) return new Set(digests.map((d) => d.digest)).size === 1;
      if (Date.now() > deadline) return false;
      await delay(SETTLE_POLL_MS); // poll interval of a bounded wait for a condition
    }
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }
}
