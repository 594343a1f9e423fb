/**
 * Worker thread entry of `WorkerExecutor`: loads the service, then executes
 * batches, takes snapshots and restores states strictly in message order,
 * synchronously: a snapshot ends before the next batch changes the state.
 * A request that fails is rolled back by the runner and reported with its
 * batch. After the first fatal failure (a state codec's, a rollback that
 * cannot rebuild the state) it reports once and ignores everything else,
 * because the service state can no longer be trusted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../core/assert.js';
import { CheckpointFileError, ServiceLoadError, ServiceError, describeError } from './errors.js';
import type { StateDigests } from './executor.js';
import { loadService } from './load.js';
import {
  pack,
  toWire,
  transferList,
  unpack,
  type FromWorker,
  type SnapshotTarget,
  type ToWorker,
  type WorkerInit,
} from './protocol.js';
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
      // The operations' buffer was transferred here: the runner may keep views into it.
      const { results, failed } = runner.run(message.seq, unpack(message.operations));
      const packed = pack(results);
      post({ type: 'executed', seq: message.seq, results: packed, failed }, transferList(packed));
      break;
    }
    case 'snapshot':
      snapshot(runner, message.chunkBytes, message.to);
      break;
    case 'restore':
      // The buffer was transferred here, so the service may keep views into it.
      runner.restore(new Uint8Array(message.state));
      post({ type: 'restored' });
      break;
    case 'restore-file':
      runner.restoreFromFile(message.path, message.pieceBytes);
      post({ type: 'restored' });
      break;
    case 'query': {
      // [Q6] In message order: after every batch posted before it. A copy, since the result may share the state's memory.
      const { status, result } = runner.query(new Uint8Array(message.operation));
      const copy = result.slice().buffer;
      post({ type: 'queried', status, result: copy }, [copy]);
      break;
    }
  }
}

/** Answers a snapshot; a state file that cannot be written fails this snapshot only. */
function snapshot(runner: ServiceRunner, chunkBytes: number, to: SnapshotTarget): void {
  if (to.kind === 'memory') {
    // The state is a fresh copy spanning its whole buffer, so transferring it is safe.
    const taken = runner.snapshot(chunkBytes);
    const state = taken.state.buffer as ArrayBuffer;
    const chunkDigests = pack(taken.chunkDigests);
    post({ type: 'snapshot', state, bytes: taken.state.length, chunkDigests }, [state, ...transferList(chunkDigests)]);
    return;
  }
  let digests: StateDigests;
  try {
    digests = to.kind === 'file' ? runner.snapshotToFile(chunkBytes, to.path) : runner.stateDigests(chunkBytes);
  } catch (error) {
    if (!(error instanceof CheckpointFileError)) throw error;
    post({ type: 'snapshot-failed', error: toWire(error) });
    return;
  }
  const chunkDigests = pack(digests.chunkDigests);
  post({ type: 'snapshot', state: undefined, bytes: digests.bytes, chunkDigests }, transferList(chunkDigests));
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
