/** Protocol options as the runtimes take them: defaults, validation, derived limits. */
import { batchWireBytesMax, defaultProtocolOptions, newViewBytesMax, protocolOptionsProblem, type ProtocolOptions } from '../core/options.js';
import { ConfigError } from '../errors.js';
import { stateTransferBytesMax, wireLimitsFrom } from '../wire/codec.js';

/** Headers and fixed fields of any message, rounded up. */
const MESSAGE_OVERHEAD_BYTES = 1024;
/** The largest frame the u32 length prefix can announce. */
const FRAME_BYTES_LIMIT = 0xffff_ffff;

/** `partial` over the defaults; throws {@link ConfigError} naming the first bad field. */
export function resolveProtocolOptions(partial: Partial<ProtocolOptions> | undefined): ProtocolOptions {
  const options: ProtocolOptions = { ...defaultProtocolOptions, ...partial };
  const problem = protocolOptionsProblem(options);
  if (problem !== undefined) throw new ConfigError(`protocol.${problem.field}`, problem.message);
  // A CHUNK message carries a whole chunk in one frame.
  if (options.chunkBytes > FRAME_BYTES_LIMIT - MESSAGE_OVERHEAD_BYTES) {
    throw new ConfigError('protocol.chunkBytes', `must be at most ${FRAME_BYTES_LIMIT - MESSAGE_OVERHEAD_BYTES} (one frame)`);
  }
  return options;
}

/** The largest frame a peer may send: a full PRE-PREPARE, or a maximal reply or request. */
export function frameBytesMax(options: ProtocolOptions): number {
  return MESSAGE_OVERHEAD_BYTES + Math.max(batchWireBytesMax(options), options.replyBytesMax, options.requestBytesMax);
}

/**
 * The largest frame on replica-to-replica links, for a cluster of `replicas`:
 * besides what {@link frameBytesMax} admits, a NEW-VIEW and the largest
 * STATE-SUMMARY, CHUNK and LOG-ENTRIES.
 */
export function replicaFrameBytesMax(options: ProtocolOptions, replicas: number): number {
  return Math.max(
    frameBytesMax(options),
    newViewBytesMax(options, replicas),
    stateTransferBytesMax(wireLimitsFrom(options, replicas)),
  );
}
