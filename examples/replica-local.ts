/**
 * Starts the 4 replicas of the local example cluster in this process (each
 * with its own worker thread running the service). Ctrl-C stops them.
 *
 *   npm run example:replica-local            # key-value service
 *   npm run example:replica-local -- counter # counter service
 */
import { Replica, replicaKeyFile } from 'bafomet';
import { CLUSTER_DIR, exampleService, localClusterConfig } from './local-cluster-config.js';

const config = await localClusterConfig();
const service = new URL(`../src/services/${exampleService()}.js`, import.meta.url);
const replicas = await Promise.all(
  config.replicas.map((r) => Replica.start({ config, id: r.id, identity: replicaKeyFile(CLUSTER_DIR, r.id), service })),
);
for (const r of config.replicas) console.log(`replica ${r.id} listening on ${r.host}:${r.port}`);
console.log(`serving ${exampleService()} with n=${config.replicas.length}, f=${config.f}; Ctrl-C to stop`);

const stop = async (): Promise<void> => {
  await Promise.all(replicas.map((r) => r.close()));
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
