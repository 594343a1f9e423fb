/** Reconnect pacing for outgoing connections. */

/** First reconnect delay. */
export const RECONNECT_DELAY_MIN_MS = 50;
/** Reconnect delays double up to this. */
export const RECONNECT_DELAY_MAX_MS = 2000;

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with
 * the upper half randomized so that peers restarting together do not dial in lockstep.
 */
export function reconnectDelayMs(attempt: number): number {
  const ceiling = Math.min(RECONNECT_DELAY_MAX_MS, RECONNECT_DELAY_MIN_MS * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
