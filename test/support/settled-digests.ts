/** Waits until the given replica processes executed the same last batch; returns their distinct state digests. */
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { waitFor } from './wait-for.js';

export async function settledDigests(cluster: LocalCluster, replicas: readonly number[] = cluster.running, timeoutMs = 15_000): Promise<Set<string>> {
  let digests = new Set<string>();
  await waitFor(
    async () => {
      const answers = await Promise.all(replicas.map((id) => cluster.digest(id)));
      digests = new Set(answers.map((a) => a.digest));
      return new Set(answers.map((a) => a.seq)).size === 1;
    },
    { timeoutMs, what: 'replicas to execute the same last batch' },
  );
  return digests;
}
