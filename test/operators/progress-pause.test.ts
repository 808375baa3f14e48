// The progress snapshot says why a run waits: a call's retry delay over a few seconds, an
// endpoint's pause (preferred: it names the host), and counts conversations an endpoint given up
// on refused before they started — apart from the failures.
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { BudgetSnapshot } from "../../src/limits/endpoint-budget.js";
import { formatProgress, ProgressTracker } from "../../src/operators/progress.js";
import { ProviderError } from "../../src/providers/errors.js";
import type { FailureRecord } from "../../src/schema/interaction.js";

function failure(kind: string, calls: number): FailureRecord {
  return {
    status: "failed",
    interaction_id: "i",
    persona_id: "p",
    query_id: "q",
    reason: "r",
    error_kind: kind,
    attempts: 1,
    completed_turns: 0,
    failed_at: "2026-01-01T00:00:00Z",
    usage: Array.from({ length: calls }, () => ({
      operation: "assistant_response",
      provider: "openai",
      model: "m",
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_usd: 0,
      failed: kind,
    })),
  };
}

describe("progress pauses", () => {
  it("shows a retry delay over 3 s with its reason and remaining time, until it is over", () => {
    const scheduler = new VirtualTimeScheduler();
    const tracker = new ProgressTracker(scheduler);
    tracker.onCallRetry(new ProviderError("server", "503", { status: 503 }), 8000);
    tracker.onCallRetry(new ProviderError("server", "503", { status: 503 }), 2000); // too short to show
    expect(tracker.snapshot().pause).toEqual({
      reason: "server error, HTTP 503 (backoff)",
      remainingMs: 8000,
      waiting: 1,
    });
    scheduler.schedule(() => {
      expect(tracker.snapshot().pause?.remainingMs).toBe(5000);
      expect(formatProgress(tracker.snapshot())).toContain("paused 5s: server error, HTTP 503 (backoff)");
    }, 3000);
    scheduler.schedule(() => expect(tracker.snapshot().pause).toBeUndefined(), 8000);
    scheduler.flush();
  });

  it("prefers an endpoint's pause, which names its host", () => {
    const tracker = new ProgressTracker(new VirtualTimeScheduler());
    const budget: BudgetSnapshot = {
      key: "openai|https://api.example.com/v1|K",
      inFlight: 0,
      waiting: 3,
      admitted: 1,
      rateLimited: 1,
      pausedForMs: 42_000,
      pause: { reason: "rate limited by api.example.com (Retry-After)", remainingMs: 42_000, waiting: 3 },
    };
    tracker.watchEndpoints(() => [budget]);
    tracker.onCallRetry(
      new ProviderError("rate_limit", "429", { status: 429, retryAfterMs: 42_001 }),
      42_001,
    );
    expect(formatProgress(tracker.snapshot())).toContain(
      "paused 42s: rate limited by api.example.com (Retry-After) (3 calls)",
    );
  });

  it("counts conversations refused before any call as not started, not failed", () => {
    const tracker = new ProgressTracker(new VirtualTimeScheduler());
    for (let i = 0; i < 3; i++) tracker.onStart();
    tracker.onFinish({ kind: "failure", failure: failure("endpoint_down", 0) });
    tracker.onFinish({ kind: "failure", failure: failure("auth", 1) }); // it made a call: a failure
    tracker.refusedBeforeStart(5);
    const snapshot = tracker.snapshot();
    expect(snapshot).toMatchObject({ failed: 1, notStarted: 6 });
    expect(formatProgress(snapshot)).toContain("6 not started");
  });
});
