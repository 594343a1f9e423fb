/** Readable renderings of messages and frames, for `--verbose` traces only. */
import type { Message, Request } from '../core/messages.js';
import { decodeMessage, type WireLimits } from '../wire/codec.js';

export type ClientNamer = (clientId: number) => string;

const hex = (bytes: Uint8Array, length = 4): string => Buffer.from(bytes.subarray(0, length)).toString('hex');

export function describeRequest(r: Request, name: ClientNamer): string {
  return `${name(r.clientId)}#${r.requestNo}`;
}

export function describeOperation(op: Uint8Array): string {
  if (op.length >= 2 && (op[0] === 1 || op[0] === 2)) {
    return `${op[0] === 1 ? 'append' : 'read'} k${op[1]} ${hex(op.subarray(2), 8)}`;
  }
  return `op:${hex(op, 8)}(${op.length}B)`;
}

export function describeMessage(m: Message, name: ClientNamer): string {
  switch (m.type) {
    case 'request':
      return `request ${describeRequest(m.request, name)} ${describeOperation(m.request.operation)}`;
    case 'reply':
      return `reply ${name(m.clientId)}#${m.requestNo} v${m.view} ${hex(m.result, 12)}`;
    case 'pre-prepare':
      return `pre-prepare v${m.view} s${m.seq} d:${hex(m.digest)} [${m.requests.map((r) => describeRequest(r, name)).join(',')}]`;
    case 'prepare':
    case 'commit':
      return `${m.type} v${m.view} s${m.seq} d:${hex(m.digest)}`;
    case 'checkpoint':
      return `checkpoint s${m.seq} state:${hex(m.stateDigest)}`;
    case 'view-change':
      return (
        `view-change to v${m.newView} by r${m.replica}, checkpoint s${m.checkpoint.seq}, ` +
        `prepared [${m.prepared.map((c) => `v${c.prePrepare.view}s${c.prePrepare.seq}`).join(',')}]`
      );
    case 'new-view':
      return (
        `new-view v${m.view} from [${m.viewChanges.map((vc) => `r${vc.replica}`).join(',')}] ` +
        `re-proposing [${m.prePrepares.map((pp) => `s${pp.seq}${pp.requests.length === 0 ? '(null)' : ''}`).join(',')}]`
      );
    case 'forward':
      return `forward ${describeRequest(m.request, name)}`;
    case 'state-query':
      return `state-query executed s${m.lastExecuted}`;
    case 'state-summary':
      return (
        `state-summary v${m.view}${m.viewActive ? '' : ' (changing)'} checkpoint s${m.checkpoint.seq} ` +
        `state:${hex(m.checkpoint.stateDigest)} chunks ${m.manifest.chunkDigests.length} delivered s${m.lastDelivered}`
      );
    case 'chunk-request':
      return `chunk-request s${m.seq} #${m.index}`;
    case 'chunk':
      return `chunk s${m.seq} #${m.index} ${m.bytes.length} bytes`;
    case 'log-request':
      return `log-request after s${m.after}`;
    case 'log-entries':
      return `log-entries [${m.batches.map((b) => `s${b.seq}[${b.requests.map((r) => describeRequest(r, name)).join(',')}]`).join(',')}]`;
    default:
      return (m as { type: string }).type;
  }
}

export function describeFrame(bytes: Uint8Array, limits: WireLimits, name: ClientNamer): string {
  const decoded = decodeMessage(bytes, limits);
  return decoded.ok ? describeMessage(decoded.message, name) : `<${bytes.length} bytes: ${decoded.reason}>`;
}
