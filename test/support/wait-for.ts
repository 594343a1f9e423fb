/** Waits for a condition with a bound, polling; never a fixed sleep. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; what: string; pollMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 20));
  }
}

/** {@link waitFor} in the short form socket tests use: polls every 5 ms, `timeoutMs` 5 s unless said. */
export function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return waitFor(condition, { timeoutMs, what, pollMs: 5 });
}
