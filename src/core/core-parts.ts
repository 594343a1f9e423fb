/**
 * The modules of one replica core, each in its own file, and how they find
 * each other. `ReplicaCore` builds them once and hands every module this
 * object; a module reaches the others through it when an event it handles
 * has consequences elsewhere (a commit delivers, a delivery may let the
 * primary propose, a stable checkpoint moves the window).
 */
import type { Agreement } from './agreement.js';
import type { Checkpointing } from './checkpointing.js';
import type { ClientTable } from './client-table.js';
import type { CoreContext } from './core-context.js';
import type { Execution } from './execution.js';
import type { MessageLog } from './message-log.js';
import type { PendingRequests } from './pending-requests.js';
import type { StateTransfer } from './state-transfer.js';
import type { ViewChangeMachine } from './view-change-machine.js';

export interface CoreParts {
  readonly ctx: CoreContext;
  readonly log: MessageLog;
  readonly pending: PendingRequests;
  readonly clients: ClientTable;
  readonly agreement: Agreement;
  readonly execution: Execution;
  readonly checkpoints: Checkpointing;
  readonly viewChange: ViewChangeMachine;
  readonly transfer: StateTransfer;
}
