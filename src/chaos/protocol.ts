/** The protocol options a chaos run gives its replicas, from the checkpoint interval it wants. */
import { defaultProtocolOptions, viewChangeBytesNeeded, type ProtocolOptions } from '../core/options.js';

const MIB = 1024 * 1024;

/**
 * Options for a checkpoint every `interval` batches. Up to the default log
 * window's half that is the only change. Above it the log window grows to
 * twice the interval (the core requires it), and since a VIEW-CHANGE must be
 * able to carry a full batch for every slot of the window, batches shrink
 * (128 requests, 32 KiB; the chaos requests are under 100 bytes) and
 * `viewChangeBytesMax` grows to what the window needs: with the default
 * batch limits a window of 4096 would need 1.3 GB per VIEW-CHANGE, past
 * what one frame can announce once n of them make a NEW-VIEW.
 */
export function protocolForInterval(interval: number): Partial<ProtocolOptions> {
  if (!Number.isSafeInteger(interval) || interval < 1) throw new RangeError(`checkpoint interval ${interval} is not a positive integer`);
  if (interval * 2 <= defaultProtocolOptions.logWindow) return { checkpointInterval: interval };
  const batches = { batchRequestsMax: 128, batchBytesMax: 32 * 1024, requestBytesMax: 4 * 1024 };
  const logWindow = 2 * interval;
  const needed = viewChangeBytesNeeded({ ...defaultProtocolOptions, ...batches, logWindow });
  const viewChangeBytesMax = Math.max(defaultProtocolOptions.viewChangeBytesMax, Math.ceil(needed / MIB) * MIB);
  return { checkpointInterval: interval, logWindow, ...batches, viewChangeBytesMax };
}
