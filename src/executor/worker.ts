/**
 * Worker thread entry of `WorkerExecutor`: loads the service, then executes
 * batches, takes snapshots and restores states strictly in message order.
 * After the first failure it reports once and ignores everything else,
 * because the service state may be half-updated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../core/assert.js';
import { ServiceLoadError, ServiceError, describeError } from './errors.js';
import { loadService } from './load.js';
import { pack, toWire, transferList, unpack, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import { ServiceRunner } from './runner.js';

assert(parentPort !== null, 'executor worker started outside a worker thread');
const port = parentPort;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function load({ moduleUrl, exportName }: WorkerInit): Promise<ServiceRunner> {
  const service = await loadService(moduleUrl, exportName);
  try {
    return new ServiceRunner(service);
  } catch (error) {
    throw new ServiceLoadError(`initialState() of service "${service.name}" threw: ${describeError(error)}`, {
      cause: error,
    });
  }
}

function handle(runner: ServiceRunner, message: ToWorker): void {
  switch (message.type) {
    case 'execute': {
      const results = pack(runner.run(message.seq, unpack(message.operations)));
      post({ type: 'executed', seq: message.seq, results }, transferList(results));
      break;
    }
    case 'snapshot': {
      // The state is a fresh copy spanning its whole buffer, so transferring it is safe.
      const snapshot = runner.snapshot(message.chunkBytes);
      const state = snapshot.state.buffer as ArrayBuffer;
      const chunkDigests = pack(snapshot.chunkDigests);
      post({ type: 'snapshot', state, chunkDigests }, [state, ...transferList(chunkDigests)]);
      break;
    }
    case 'restore':
      // The buffer was transferred here, so the service may keep views into it.
      runner.restore(new Uint8Array(message.state));
      post({ type: 'restored' });
      break;
  }
}

function serve(runner: ServiceRunner): void {
  let failed = false;
  port.on('message', (message: ToWorker) => {
    if (failed) return;
    try {
      handle(runner, message);
    } catch (error) {
      failed = true;
      const failure = error instanceof ServiceError ? error : new ServiceError(describeError(error), { cause: error });
      post({ type: 'fatal', error: toWire(failure) });
    }
  });
  post({ type: 'ready' });
}

// On a load failure the worker just reports; the executor terminates it.
try {
  serve(await load(workerData as WorkerInit));
} catch (error) {
  const failure =
    error instanceof ServiceLoadError ? error : new ServiceLoadError(describeError(error), { cause: error });
  post({ type: 'load-failed', error: toWire(failure) });
}
