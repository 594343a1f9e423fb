/** One replica's answer to a client, ordered or read-only: its status (undefined: executed) and result bytes. */
import { bytesEqual } from './ids.js';

export interface Answer<Status> {
  readonly status: Status;
  readonly result: Uint8Array;
}

/** Two answers agree when status and result bytes are the same. */
export const sameAnswer = <Status>(a: Answer<Status>, b: Answer<Status>): boolean => a.status === b.status && bytesEqual(a.result, b.result);
