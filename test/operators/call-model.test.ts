// callModel: the one per-call retry policy. Marble tests run latency and backoff in virtual time.
import type { Observable } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { randomStream } from "../../src/conversation/random.js";
import { backoffDelayMs, callEvents, callModel } from "../../src/operators/call-model.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ChatModel, ChatResult } from "../../src/providers/types.js";
import type { UsageRecord } from "../../src/schema/interaction.js";

const policy = { count: 3, baseDelayMs: 100, maxDelayMs: 400 };
const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const request = { messages: [{ role: "user" as const, content: "hi" }] };

describe("backoffDelayMs", () => {
  const mid = () => 0.5;
  it.each([
    [1, 75], // step 100: 50 + 0.5*50
    [2, 150], // step 200
    [3, 300], // step 400
    [4, 300], // capped at 400
  ])("attempt %i waits %i ms with a mid-range draw", (attempt, expected) => {
    expect(backoffDelayMs(new ProviderError("server", "x"), attempt, policy, mid)).toBe(expected);
  });

  it("never waits less than Retry-After", () => {
    const error = new ProviderError("rate_limit", "slow down", { retryAfterMs: 5000 });
    expect(backoffDelayMs(error, 1, policy, mid)).toBe(5000);
  });

  it("stays within [step/2, step]", () => {
    expect(backoffDelayMs(new Error("x"), 2, policy, () => 0)).toBe(100);
    expect(backoffDelayMs(new Error("x"), 2, policy, () => 0.999999)).toBeCloseTo(200, 3);
  });
});

describe("callModel (virtual time)", () => {
  it("retries a 429 no sooner than its Retry-After, then succeeds", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ expectObservable }) => {
      const model = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 10,
        respond: [new ProviderError("rate_limit", "429", { retryAfterMs: 1000 }), "ok"],
      });
      const result$ = callModel(model, request, { retry: policy, scheduler: testScheduler, jitterSeed: 1 });
      // 10 ms failing call, 1000 ms Retry-After (> jittered 100 ms step), 10 ms good call.
      expectObservable(result$).toBe("1020ms (a|)", { a: expect.objectContaining({ text: "ok" }) });
      expect(model.callCount).toBe(0); // nothing runs before the virtual clock does
    });
  });

  it("gives up after `count` retries of a transient error", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ flush }) => {
      const failure = new ProviderError("server", "503");
      const model = new FakeChatModel({ scheduler: testScheduler, latencyMs: 10, respond: () => failure });
      const result$ = callModel(model, request, { retry: policy, scheduler: testScheduler, jitterSeed: 7 });
      let error: unknown;
      result$.subscribe({ error: (e) => (error = e) });
      flush();
      expect(error).toBe(failure);
      expect(model.callCount).toBe(1 + policy.count);
    });
  });

  it("does not retry errors that no retry can fix", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ expectObservable }) => {
      const auth = new ProviderError("auth", "401 bad key");
      const model = new FakeChatModel({ scheduler: testScheduler, latencyMs: 10, respond: [auth, "never"] });
      expectObservable(
        callModel(model, request, { retry: policy, scheduler: testScheduler, jitterSeed: 1 }),
      ).toBe("10ms #", undefined, auth);
    });
  });
});

// A model whose every call is one subscription to a cold observable from the marble helpers, so
// expectSubscriptions shows when each attempt starts and ends.
function scriptedModel(call: Observable<ChatResult>): ChatModel {
  return {
    provider: "scripted",
    model: "m",
    complete: () => Promise.reject(new Error("marble tests use complete$")),
    complete$: () => call,
  };
}

describe("callModel attempts (virtual time, subscriptions)", () => {
  it("retries a failed attempt after its backoff: two attempts, the second subscribed once the seeded backoff after the first has passed", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      // Each attempt takes 10 ms; the first fails with a 503, the second (same cold) does too, so
      // a retry count of 1 ends in the error. The backoff: equal jitter over the first step
      // (100 ms), drawn from the jitter seed — between 50 and 100 ms.
      const attempt = cold<ChatResult>("10ms #", undefined, new ProviderError("server", "503"));
      const result$ = callModel(scriptedModel(attempt), request, {
        retry: { count: 1, baseDelayMs: 100, maxDelayMs: 400 },
        scheduler: ts,
        jitterSeed: 1,
      });
      const backoff = backoffDelayMs(
        new ProviderError("server", "503"),
        1,
        { count: 1, baseDelayMs: 100, maxDelayMs: 400 },
        randomStream(1, "call_retry_jitter"),
      );
      expect(backoff).toBeGreaterThanOrEqual(50);
      expect(backoff).toBeLessThanOrEqual(100);
      expectObservable(result$).toBe(`${20 + backoff}ms #`, undefined, new ProviderError("server", "503"));
      expectSubscriptions(attempt.subscriptions).toBe(["^ 9ms !", `${10 + backoff}ms ^ 9ms !`]);
    });
  });

  it("unsubscribing mid-call ends the attempt at once, and no retry ever starts", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempt = cold<ChatResult>("10ms #", undefined, new ProviderError("server", "503"));
      const result$ = callModel(scriptedModel(attempt), request, {
        retry: policy,
        scheduler: ts,
        jitterSeed: 1,
      });
      // Unsubscribed at 4 ms, while the first attempt is in flight: nothing is emitted, and the
      // attempt's subscription ends in the same frame (for a real model: the request is aborted).
      expectObservable(result$, "^ 3ms !").toBe("");
      expectSubscriptions(attempt.subscriptions).toBe("^ 3ms !");
    });
  });
});

describe("callModel: calls made and Retry-After ceiling", () => {
  it("counts every attempt that reached the server (callEvents), not one refused while connecting", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ flush }) => {
      const model = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 10,
        respond: [
          new ProviderError("server", "503", { status: 503 }),
          new ProviderError("connection", "refused", { code: "ECONNREFUSED" }),
          "ok",
        ],
      });
      const calls: UsageRecord[] = [];
      const delays: Array<number | undefined> = [];
      const events = {
        onCall: (record: UsageRecord) => calls.push(record),
        onCallRetry: (_error: unknown, delayMs?: number) => delays.push(delayMs),
      };
      let text = "";
      callModel(model, request, {
        retry: policy,
        scheduler: testScheduler,
        jitterSeed: 1,
        ...callEvents("style_transfer", model, events),
      }).subscribe((result) => (text = result.text));
      flush();
      expect(text).toBe("ok");
      expect(calls).toEqual([
        {
          operation: "style_transfer",
          provider: model.provider,
          model: model.model,
          prompt_tokens: 0,
          completion_tokens: 0,
          cost_usd: 0,
          failed: "server",
        },
      ]);
      expect(delays).toHaveLength(2);
      expect(delays.every((d) => typeof d === "number" && d > 0)).toBe(true);
    });
  });

  it("a Retry-After over maxRetryAfterMs fails at once as endpoint_down, not retried", () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ flush }) => {
      const model = new FakeChatModel({
        scheduler: testScheduler,
        latencyMs: 10,
        respond: () => new ProviderError("rate_limit", "HTTP 429", { status: 429, retryAfterMs: 3_600_000 }),
      });
      let error: ProviderError | undefined;
      callModel(model, request, {
        retry: { ...policy, maxRetryAfterMs: 60_000 },
        scheduler: testScheduler,
        jitterSeed: 1,
      }).subscribe({ error: (e: ProviderError) => (error = e) });
      flush();
      expect(model.callCount).toBe(1);
      expect(error?.kind).toBe("endpoint_down");
      expect(error?.transient).toBe(false);
      expect(error?.message).toBe("HTTP 429 (Retry-After 3600 s is over call_retries.max_retry_after, 60 s)");
    });
  });
});
