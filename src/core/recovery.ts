/**
 * A replica restarted from its journal (docs/DURABILITY.md D11-D15): the
 * runtime folds the journal into a {@link DurableState}, restores the
 * service from the stable checkpoint's image if it holds a sound one, and
 * hands both to the core, which takes back its view, its own votes and
 * certificates, and the batches it delivered after the image. Pure.
 */
import { assert } from './assert.js';
import type { CoreParts } from './core-parts.js';
import type { DurableState } from './durable.js';
import type { ClientTableEntry } from './effects.js';
import type { CheckpointManifest } from './messages.js';
import type { SeqNo } from './ordering.js';

/** What a replica restarted from its data directory starts its core with. */
export interface Recovered {
  /** The fold of its journal [D9]. */
  readonly state: DurableState;
  /**
   * The image of the stable checkpoint `state.stable.seq`, checked against
   * the certificate's digest, that the runtime restored the service from
   * [D11]; undefined when it has none (then the service starts from its
   * initial state and state transfer fetches the checkpoint [D13]).
   */
  readonly image?: { readonly seq: SeqNo; readonly manifest: CheckpointManifest; readonly clientTable: readonly ClientTableEntry[] };
  /**
   * Manifests of the images of this replica's own checkpoints above the
   * stable one that the runtime still holds [D12]: once one becomes stable
   * by others' votes, this replica can serve it without executing up to it.
   */
  readonly ownImages?: ReadonlyMap<SeqNo, CheckpointManifest>;
}

/** Restores the core's modules from `recovered` [D11-D14]; the effects it emits come out of the first step. */
export function recover(parts: CoreParts, recovered: Recovered): void {
  const { ctx, log, clients, agreement, checkpoints, viewChange, execution } = parts;
  const { state, image } = recovered;
  ctx.replaying = true; // what follows is in the journal already
  if (image !== undefined) {
    assert(image.seq === state.stable.seq, `image ${image.seq} is not the stable checkpoint ${state.stable.seq}`);
    clients.restore(image.clientTable); // [D11]
    log.restartAfter(image.seq);
  }
  checkpoints.restoreStable(state.stable, image?.manifest); // [D11, D13]
  for (const message of state.ownCheckpoints.values()) checkpoints.restoreOwn(message, recovered.ownImages?.get(message.seq)); // [D12]
  viewChange.restore(state); // [D12]
  let highest = log.stable.seq;
  for (const [seq, durable] of state.slots()) {
    const slot = log.slotFor(seq);
    slot.certificate = durable.certificate; // [D12] a later VIEW-CHANGE proves what this replica prepared
    if (durable.delivered !== undefined) {
      slot.proven = durable.delivered; // [D14] runs again, in order
      slot.deliveryJournaled = true;
      if (seq > highest) highest = seq; // decided: a primary never proposes at it again
    }
    const pp = durable.prePrepare;
    if (ctx.viewActive && pp !== undefined && pp.view === ctx.view) {
      agreement.restoreVotes(slot, pp); // [D12] never another PRE-PREPARE or PREPARE at (view, seq)
      if (seq > highest) highest = seq;
    }
  }
  if (ctx.viewActive) agreement.proposeAfter(Math.max(highest, log.lastDelivered) as SeqNo); // [D12]
  execution.deliver(); // [D14]
  ctx.replaying = false;
}
