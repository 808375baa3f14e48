// The per-call deadline: fires on time or when the caller aborts, reaches the SDK through the
// signal it was handed (a real AbortSignal, or the light one the openai provider uses), and
// costs the caller's signal one listener however many calls watch it.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallAbortSignal, CallDeadline } from "../../src/providers/call-deadline.js";

/** How the SDK uses the signal: one abort listener, never removed. */
function listen(signal: AbortSignal): { fired: number } {
  const seen = { fired: 0 };
  signal.addEventListener("abort", () => seen.fired++, { once: true });
  return seen;
}

describe.each([
  ["light", true],
  ["AbortSignal", false],
])("CallDeadline (%s signal)", (_name, light) => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("aborts the signal when the time is up, and says it expired", () => {
    const deadline = new CallDeadline(1000, undefined, { light });
    const seen = listen(deadline.signal);
    vi.advanceTimersByTime(999);
    expect([deadline.signal.aborted, seen.fired, deadline.expired]).toEqual([false, 0, false]);
    vi.advanceTimersByTime(1);
    expect([deadline.signal.aborted, seen.fired, deadline.expired]).toEqual([true, 1, true]);
    expect(deadline.callerAbort()).toBeUndefined();
    deadline.dispose();
  });

  it("a disposed deadline never fires", () => {
    const deadline = new CallDeadline(1000, undefined, { light });
    const seen = listen(deadline.signal);
    deadline.dispose();
    vi.advanceTimersByTime(5000);
    expect([deadline.signal.aborted, seen.fired]).toEqual([false, 0]);
  });

  it("a caller abort reaches every call in flight, with the caller's reason", () => {
    const caller = new AbortController();
    const deadlines = Array.from({ length: 50 }, () => new CallDeadline(60_000, caller.signal, { light }));
    const seen = deadlines.map((d) => listen(d.signal));
    const done = deadlines.slice(0, 10);
    for (const d of done) d.dispose(); // finished before the abort
    const reason = new Error("stop now");
    caller.abort(reason);
    expect(seen.map((s) => s.fired)).toEqual([...Array(10).fill(0), ...Array(40).fill(1)]);
    expect(deadlines[20]!.callerAbort()).toBe(reason);
    expect(deadlines[20]!.expired).toBe(false);
    for (const d of deadlines) d.dispose();
  });

  it("an already aborted caller aborts the call at once", () => {
    const caller = new AbortController();
    caller.abort();
    const deadline = new CallDeadline(60_000, caller.signal, { light });
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.callerAbort() as Error).name).toBe("AbortError");
    deadline.dispose();
  });
});

describe("the caller's signal", () => {
  it("gets one listener however many calls watch it", () => {
    const caller = new AbortController();
    const added = vi.spyOn(caller.signal, "addEventListener");
    const removed = vi.spyOn(caller.signal, "removeEventListener");
    for (let i = 0; i < 100; i++) new CallDeadline(60_000, caller.signal, { light: true }).dispose();
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).not.toHaveBeenCalled();
  });
});

describe("CallAbortSignal", () => {
  it("calls each listener once, drops removed ones, and reports its reason", () => {
    const signal = new CallAbortSignal();
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    signal.addEventListener("abort", a);
    signal.addEventListener("abort", b);
    signal.addEventListener("other", () => calls.push("other"));
    signal.removeEventListener("abort", b);
    signal.abort("why");
    signal.abort("again");
    expect(calls).toEqual(["a"]);
    expect([signal.aborted, signal.reason]).toEqual([true, "why"]);
    expect(() => signal.throwIfAborted()).toThrow("why");
  });
});
