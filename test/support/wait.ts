// Bounded waiting for a readiness condition, instead of a fixed sleep: on a loaded machine a
// sleep is either too short (flaky) or too long (slow); a poll with a deadline is neither, and
// a condition that never comes fails with what was awaited instead of hanging the test.

export interface WaitOptions {
  /** Give up after this long (default 20 s: far past any healthy wait, well inside a test timeout). */
  timeoutMs?: number;
  /** Poll interval (default 20 ms). */
  everyMs?: number;
}

/** Resolves once `ready()` is true; rejects naming `what` once `timeoutMs` has passed. */
export async function waitUntil(
  ready: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 20_000, everyMs = 20 }: WaitOptions = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
