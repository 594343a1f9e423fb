/**
 * Runs clients against the replicas of `replica-local` and prints every
 * reply (each accepted only when f + 1 replicas sent the same one).
 *
 *   npm run example:client-local             # key-value service
 *   npm run example:client-local -- counter  # counter service
 */
import { Client, counterService, kvService } from 'bafomet';
import { exampleService, localClusterConfig } from './local-cluster-config.js';

const CLIENTS = 4;
const REQUESTS_PER_CLIENT = 8;
const config = await localClusterConfig();

if (exampleService() === 'kv') {
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const client = await Client.connect({ config, service: kvService, sessions: 1 });
      for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
        const key = `client${c}-key${i % 3}`;
        const request = i % 2 === 0 ? ({ op: 'put', key, value: `value${i}` } as const) : ({ op: 'get', key } as const);
        const reply = await client.invoke(request);
        console.log(`client ${c}: ${JSON.stringify(request)} -> ${JSON.stringify(reply)}`);
      }
      await client.close();
    }),
  );
} else {
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const client = await Client.connect({ config, service: counterService, sessions: 1 });
      for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
        const reply = await client.invoke({ op: 'add', amount: c + 1 });
        console.log(`client ${c}: add ${c + 1} -> ${JSON.stringify(reply)}`);
      }
      await client.close();
    }),
  );
}
console.log(`done: ${CLIENTS * REQUESTS_PER_CLIENT} requests answered`);
