/** Every fuzz target, in the order the long run takes them (cheap decoders first). */
import { builtinServicesTarget } from './builtin-services.js';
import { clientCoreTarget } from './client-core.js';
import { clientTableTarget } from './client-table.js';
import { clusterConfigTarget } from './cluster-config.js';
import { frameDecoderTarget } from './frame-decoder.js';
import { replicaCoreTarget } from './replica-core.js';
import { erased, type AnyFuzzTarget } from './target.js';
import { wireMessageTarget } from './wire-message.js';

export const FUZZ_TARGETS: readonly AnyFuzzTarget[] = [
  erased(wireMessageTarget),
  erased(clientTableTarget),
  erased(frameDecoderTarget),
  erased(clusterConfigTarget),
  erased(builtinServicesTarget),
  erased(clientCoreTarget),
  erased(replicaCoreTarget),
];
