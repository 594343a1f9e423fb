/**
 * A memory budget that partially received frames share. A frame that does
 * not arrive in one chunk is buffered until it completes; without a shared
 * bound, many connections each stopping just short of a maximal frame pin
 * connections × maxFrameBytes (measured before this: 300 client connections
 * each 1 byte short of a 1 MiB frame took a replica from 105 to 473 MiB).
 */
import { BafometError } from '../errors.js';

/** A partial frame needed more buffer than the shared budget had left. */
export class FrameBudgetExceededError extends BafometError {
  constructor(
    readonly bytes: number,
    readonly budgetBytes: number,
  ) {
    super('ERR_BAFOMET_FRAME_BUDGET', `a partial frame needs ${bytes} more bytes; the shared budget of ${budgetBytes} is spent`);
  }
  override get name(): string {
    return 'FrameBudgetExceededError';
  }
}

/** Bytes of partial-frame buffers, reserved before they are allocated and released when freed. */
export class FrameBudget {
  private reserved = 0;

  /** @param bytesMax the most buffer bytes all partial frames may hold together. */
  constructor(readonly bytesMax: number) {}

  /** Bytes reserved now. */
  get reservedBytes(): number {
    return this.reserved;
  }

  /** Reserves `bytes` if that keeps the total within the budget; false (nothing reserved) otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.reserved + bytes > this.bytesMax) return false;
    this.reserved += bytes;
    return true;
  }

  /** Returns `bytes` reserved earlier. */
  release(bytes: number): void {
    this.reserved -= bytes;
  }
}
