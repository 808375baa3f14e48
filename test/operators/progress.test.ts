// The progress side stream: counters fed by pipeline events, sampled in virtual time.
import { take } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { formatProgress, ProgressTracker } from "../../src/operators/progress.js";

const record = (tokens: number) => ({
  operation: "assistant_response",
  provider: "openai",
  model: "m",
  prompt_tokens: tokens,
  completion_tokens: tokens,
  cost_usd: 0.01,
});

describe("ProgressTracker", () => {
  it("counts done, failed, in flight, calls, tokens and cost; rates per interval", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    ts.run(({ expectObservable, cold }) => {
      const tracker = new ProgressTracker(ts);
      // Two calls in the first second, four in the second.
      cold("a 99ms b 900ms c 99ms d 99ms e 99ms f").subscribe(() => tracker.onCall(record(10)));
      cold("s 1500ms f").subscribe((v) =>
        v === "s" ? tracker.onStart() : tracker.onFinish({ kind: "failure" } as never),
      );
      const rates = tracker.snapshots(1000).pipe(take(2));
      expectObservable(rates).toBe("1000ms a 999ms (b|)", {
        a: expect.objectContaining({ calls: 2, callsPerSecond: 2, inFlight: 1, promptTokens: 20, failed: 0 }),
        b: expect.objectContaining({
          calls: 6,
          callsPerSecond: 4,
          inFlight: 0,
          failed: 1,
          completionTokens: 60,
        }),
      });
    });
  });

  it("formats a one-line summary", () => {
    const tracker = new ProgressTracker();
    tracker.onStart();
    tracker.onCall(record(6000));
    expect(formatProgress(tracker.snapshot(), 10)).toMatch(
      /^0\/10 done · 0 failed · 1 in flight · .* · 12k tokens · \$0\.0100$/,
    );
  });
});
