/** Protocol options as the runtimes take them: defaults, validation, derived limits. */
import { batchWireBytesMax, defaultProtocolOptions, protocolOptionsProblem, type ProtocolOptions } from '../core/options.js';
import { ConfigError } from '../errors.js';

/** `partial` over the defaults; throws {@link ConfigError} naming the first bad field. */
export function resolveProtocolOptions(partial: Partial<ProtocolOptions> | undefined): ProtocolOptions {
  const options: ProtocolOptions = { ...defaultProtocolOptions, ...partial };
  const problem = protocolOptionsProblem(options);
  if (problem !== undefined) throw new ConfigError(`protocol.${problem.field}`, problem.message);
  return options;
}

/** Headers and fixed fields of any message, rounded up. */
const MESSAGE_OVERHEAD_BYTES = 1024;

/** The largest frame a peer may send: a full PRE-PREPARE, or a maximal reply or request. */
export function frameBytesMax(options: ProtocolOptions): number {
  return MESSAGE_OVERHEAD_BYTES + Math.max(batchWireBytesMax(options), options.replyBytesMax, options.requestBytesMax);
}
