/** Logging hook of the network layer; the host application decides where it goes. */

/** Severity of a network log record. */
export type NetLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Receives network log records. Fields carry ids, addresses and counts only,
 * never key material or bytes received from peers.
 */
export type NetLog = (level: NetLogLevel, msg: string, fields?: Readonly<Record<string, unknown>>) => void;

/** The default: discard. */
export const silentLog: NetLog = () => {};

/** Calls an application callback so that its exceptions are logged instead of unwinding into socket handlers. */
export function invokeSafely(log: NetLog, callback: string, invoke: () => void): void {
  try {
    invoke();
  } catch (error) {
    log('error', `${callback} threw`, { error: error instanceof Error ? error.message : String(error) });
  }
}
