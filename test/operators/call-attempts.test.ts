// callModel runs its layers (cache, retry, stop check, admission, attempt) as one observable
// (call-attempts.ts). This holds it to the RxJS composition it replaced, built here from the
// operators themselves: for each scenario, in virtual time, both must log the same events at the
// same frames — emissions, errors, admission grants and releases, attempts subscribed and
// unsubscribed, cache reads and writes, the failed-call and retry hooks.
import { defer, Observable, retry, type SchedulerLike, tap, throwError, timer } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { cachedCall } from "../../src/cache/cached-call.js";
import { modelIdentity, responseKey } from "../../src/cache/key.js";
import { MemoryResponseCache } from "../../src/cache/memory-cache.js";
import type { ResponseCache } from "../../src/cache/types.js";
import { randomStream } from "../../src/conversation/random.js";
import { EndpointBudget } from "../../src/limits/endpoint-budget.js";
import type { Admission, CallTicket } from "../../src/limits/types.js";
import { backoffDelayMs, type CallOptions, callModel } from "../../src/operators/call-model.js";
import { admitted } from "../../src/operators/rate-limit.js";
import { StopRequested, stoppableAdmission, stoppableWait } from "../../src/operators/stop.js";
import { isEmptyReply, isTransient, ProviderError } from "../../src/providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../../src/providers/types.js";

const request: ChatRequest = { messages: [{ role: "user", content: "hi" }], seed: 3 };
const policy = { count: 2, baseDelayMs: 100, maxDelayMs: 400, maxRetryAfterMs: 5000 };
const identity = modelIdentity({ provider: "openai", model: "m", base_url: "http://x/v1" } as never);

/** The composition callModel was before the fusion (git a27258d), from the same building blocks. */
function composedCallModel(model: ChatModel, req: ChatRequest, options: CallOptions): Observable<ChatResult> {
  let jitter: (() => number) | undefined;
  const random = () => {
    jitter ??= randomStream(options.jitterSeed, "call_retry_jitter");
    return jitter();
  };
  const ceilingMs = options.retry.maxRetryAfterMs ?? 60_000;
  const attempt$ = (model.complete$ as (r: ChatRequest) => Observable<ChatResult>)(req);
  const once = options.onFailedCall
    ? attempt$.pipe(
        tap({
          error: (error: unknown) => {
            if (error instanceof ProviderError && error.reachedServer) options.onFailedCall?.(error);
          },
        }),
      )
    : attempt$;
  const { stopSignal } = options;
  const admission =
    options.admission && stopSignal ? stoppableAdmission(options.admission, stopSignal) : options.admission;
  const admittedOnce = admission ? once.pipe(admitted(admission, options.ticket as CallTicket)) : once;
  const attempt = stopSignal
    ? new Observable<ChatResult>((subscriber) =>
        stopSignal.aborted ? subscriber.error(new StopRequested()) : admittedOnce.subscribe(subscriber),
      )
    : admittedOnce;
  const live$ = attempt.pipe(
    retry({
      count: options.retry.count,
      delay: (error: unknown, n: number) => {
        if (error instanceof ProviderError && (error.retryAfterMs ?? 0) > ceilingMs)
          return throwError(
            () =>
              new ProviderError(
                "endpoint_down",
                `${error.message} (Retry-After ${Math.round((error.retryAfterMs ?? 0) / 1000)} s is over call_retries.max_retry_after, ${Math.round(ceilingMs / 1000)} s)`,
              ),
          );
        if (!isTransient(error) || (options.retryEmptyReplies === false && isEmptyReply(error)))
          return throwError(() => error);
        if (stopSignal?.aborted) return throwError(() => new StopRequested());
        const delayMs = backoffDelayMs(error, n, options.retry, random);
        options.onRetry?.(error, n, delayMs);
        return stoppableWait(timer(delayMs, options.scheduler), stopSignal);
      },
    }),
  );
  const { cache } = options;
  if (!cache) return live$;
  return cachedCall(cache.store, cache.identity, req, live$, cache.accept ? { accept: cache.accept } : {});
}

type Event = [number, string];

/** A model whose attempts follow a script of marble-like steps, logging (un)subscriptions. */
function scriptedModel(
  scheduler: SchedulerLike,
  log: (what: string) => void,
  script: Array<{ after: number; reply?: string; error?: unknown; silentEnd?: boolean }>,
): ChatModel {
  let n = 0;
  return {
    provider: "openai",
    model: "m",
    complete: () => Promise.reject(new Error("virtual time only")),
    complete$: () =>
      new Observable<ChatResult>((subscriber) => {
        const step = script[Math.min(n, script.length - 1)]!;
        const index = n++;
        log(`attempt ${index} subscribed`);
        const timerSub = scheduler.schedule(() => {
          if (step.error !== undefined) subscriber.error(step.error);
          else if (step.silentEnd) subscriber.complete();
          else {
            subscriber.next({
              text: step.reply ?? "",
              usage: { prompt_tokens: 1, completion_tokens: 1 },
              finishReason: "stop",
              provider: "openai",
              model: "m",
            });
            subscriber.complete();
          }
        }, step.after);
        return () => {
          timerSub.unsubscribe();
          log(`attempt ${index} unsubscribed`);
        };
      }),
  };
}

/** An admission that logs grants and releases around a real endpoint budget. */
function loggedAdmission(inner: Admission, log: (what: string) => void): Admission {
  return {
    admit: (ticket) =>
      new Observable((subscriber) => {
        log("admission asked");
        const sub = inner.admit(ticket).subscribe({
          next: (release) => {
            log("admission granted");
            subscriber.next((outcome) => {
              log(`released ${outcome.error ? "error" : outcome.usage ? "usage" : "nothing"}`);
              release(outcome);
            });
          },
          error: (error) => {
            log(`admission error ${String(error)}`);
            subscriber.error(error);
          },
        });
        return () => {
          log("admission unsubscribed");
          sub.unsubscribe();
        };
      }),
  };
}

function loggedCache(inner: ResponseCache, log: (what: string) => void): ResponseCache {
  return {
    get: (key) => {
      const found = inner.get(key);
      log(`cache get ${found ? "hit" : "miss"}`);
      return found;
    },
    put: (key, result) => {
      log(`cache put ${result.text}`);
      inner.put(key, result);
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
    stats: () => inner.stats(),
  };
}

interface Scenario {
  script: Parameters<typeof scriptedModel>[2];
  admission?: "budget" | "busy" | "refused";
  cache?: "empty" | "warm" | "warm-empty";
  accept?: (result: ChatResult) => boolean;
  /** Frame at which the subscriber unsubscribes. */
  unsubscribeAt?: number;
  /** Frame at which the stop signal fires (-1: before subscribing). */
  stopAt?: number;
  retryEmptyReplies?: false;
}

function runScenario(build: typeof callModel, scenario: Scenario): Event[] {
  const events: Event[] = [];
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  scheduler.run(({ flush }) => {
    const log = (what: string) => events.push([scheduler.now(), what]);
    const model = scriptedModel(scheduler, log, scenario.script);
    const store = new MemoryResponseCache();
    if (scenario.cache === "warm" || scenario.cache === "warm-empty") {
      const text = scenario.cache === "warm" ? "stored" : "";
      cachedCall(
        store,
        identity,
        request,
        new Observable<ChatResult>((s) => {
          s.next({
            text,
            usage: { prompt_tokens: 1, completion_tokens: 1 },
            finishReason: "stop",
            provider: "openai",
            model: "m",
          });
          s.complete();
        }),
      ).subscribe();
    }
    const stop = new AbortController();
    if (scenario.stopAt === -1) stop.abort();
    else if (scenario.stopAt !== undefined) scheduler.schedule(() => stop.abort(), scenario.stopAt);
    const budget = new EndpointBudget("openai|m", { scheduler, window: { initial: 1 } });
    let admission: Admission | undefined;
    if (scenario.admission === "refused")
      admission = { admit: () => throwError(() => new ProviderError("endpoint_down", "down")) };
    else if (scenario.admission) admission = loggedAdmission(budget, log);
    if (scenario.admission === "busy") {
      // Another call holds the only slot for 50 ms.
      budget
        .admit({ priority: 0, tokens: 0 })
        .subscribe((release) => scheduler.schedule(() => release({}), 50));
    }
    const options: CallOptions = {
      retry: policy,
      scheduler,
      jitterSeed: 5,
      onRetry: (error, n, delayMs) => log(`retry ${n} after ${delayMs.toFixed(3)} (${String(error)})`),
      onFailedCall: (error) => log(`failed call ${error.kind}`),
      ...(scenario.cache
        ? {
            cache: {
              store: loggedCache(store, log),
              identity,
              ...(scenario.accept ? { accept: scenario.accept } : {}),
            },
          }
        : {}),
      ...(admission ? { admission, ticket: { priority: 1, tokens: 0 } } : {}),
      ...(scenario.stopAt !== undefined ? { stopSignal: stop.signal } : {}),
      ...(scenario.retryEmptyReplies === false ? { retryEmptyReplies: false } : {}),
    };
    const sub = defer(() => build(model, request, options)).subscribe({
      next: (result) => log(`next ${result.text}${result.cached ? " (cached)" : ""}`),
      error: (error: unknown) => log(`error ${String(error)}`),
      complete: () => log("complete"),
    });
    if (scenario.unsubscribeAt !== undefined)
      scheduler.schedule(() => {
        log("unsubscribe");
        sub.unsubscribe();
      }, scenario.unsubscribeAt);
    flush();
  });
  return events;
}

const transient = (reachedServer = false) =>
  new ProviderError("server", "503", { status: 503, reachedServer });

const scenarios: Record<string, Scenario> = {
  "a success": { script: [{ after: 10, reply: "ok" }] },
  "a success through admission and a cache miss": {
    script: [{ after: 10, reply: "ok" }],
    admission: "budget",
    cache: "empty",
  },
  "a cache hit (no admission asked, no attempt)": {
    script: [{ after: 10, reply: "ok" }],
    admission: "budget",
    cache: "warm",
  },
  "a hit the caller rejects: the call is made and the good reply stored": {
    script: [{ after: 10, reply: "fresh" }],
    cache: "warm-empty",
    accept: (result) => result.text !== "",
  },
  "two transient failures then a success, admission asked each time": {
    script: [
      { after: 10, error: transient(true) },
      { after: 10, error: transient() },
      { after: 10, reply: "third" },
    ],
    admission: "budget",
    cache: "empty",
  },
  "retries spent": { script: [{ after: 10, error: transient(true) }], admission: "budget" },
  "an error no retry fixes": {
    script: [{ after: 10, error: new ProviderError("auth", "401") }],
    admission: "budget",
  },
  "a Retry-After over the ceiling": {
    script: [{ after: 10, error: new ProviderError("rate_limit", "429", { retryAfterMs: 60_000 }) }],
    admission: "budget",
  },
  "a 429 waits its Retry-After": {
    script: [
      { after: 10, error: new ProviderError("rate_limit", "429", { retryAfterMs: 700 }) },
      { after: 10, reply: "later" },
    ],
    admission: "budget",
  },
  "an empty reply not retried": {
    script: [{ after: 10, error: new ProviderError("malformed", "empty", { emptyReply: true }) }],
    retryEmptyReplies: false,
  },
  "an attempt that completes without a reply": {
    script: [{ after: 10, silentEnd: true }],
    admission: "budget",
    cache: "empty",
  },
  "unsubscribed while queued for admission": {
    script: [{ after: 10, reply: "never" }],
    admission: "busy",
    unsubscribeAt: 20,
  },
  "queued behind a busy slot, then served": { script: [{ after: 10, reply: "late" }], admission: "busy" },
  "unsubscribed mid-call": {
    script: [{ after: 30, reply: "never" }],
    admission: "budget",
    unsubscribeAt: 12,
  },
  "unsubscribed during the backoff": {
    script: [{ after: 10, error: transient() }],
    admission: "budget",
    unsubscribeAt: 40,
  },
  "the stop during the backoff": {
    script: [{ after: 10, error: transient() }],
    admission: "budget",
    stopAt: 30,
  },
  "the stop while queued for admission": {
    script: [{ after: 10, reply: "never" }],
    admission: "busy",
    stopAt: 20,
  },
  "stopped before it starts": { script: [{ after: 10, reply: "never" }], admission: "budget", stopAt: -1 },
  "the stop mid-call: the call finishes": {
    script: [{ after: 30, reply: "finished" }],
    admission: "budget",
    stopAt: 5,
  },
  "an admission that refuses at once": { script: [{ after: 10, reply: "never" }], admission: "refused" },
};

describe("callModel's fused layers behave as the RxJS composition did", () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, () => {
      const fused = runScenario(callModel, scenario);
      const composed = runScenario(composedCallModel, scenario);
      expect(fused).toEqual(composed);
      expect(fused.length).toBeGreaterThan(0);
    });
  }
});

describe("callModel with a model answering by promise", () => {
  it("emits the result once, stores it, and drops a result that lands after an unsubscribe", async () => {
    const store = new MemoryResponseCache();
    let calls = 0;
    const model: ChatModel = {
      provider: "openai",
      model: "m",
      complete: async () => {
        calls++;
        return {
          text: "by promise",
          usage: { prompt_tokens: 1, completion_tokens: 1 },
          finishReason: "stop",
          provider: "openai",
          model: "m",
        };
      },
    };
    const options: CallOptions = {
      retry: policy,
      scheduler: new TestScheduler(() => undefined),
      jitterSeed: 1,
      cache: { store, identity },
    };
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) =>
      callModel(model, request, options).subscribe({
        next: (r) => seen.push(r.text),
        error: reject,
        complete: resolve,
      }),
    );
    expect(seen).toEqual(["by promise"]);
    expect(calls).toBe(1);
    // A second call is a hit: no model call.
    const replayedText = await new Promise<ChatResult>((resolve, reject) =>
      callModel(model, request, options).subscribe({ next: resolve, error: reject }),
    );
    expect(replayedText.cached).toBe(true);
    expect(calls).toBe(1);
    // Unsubscribed before the promise settles: nothing is emitted or stored.
    const other: ChatRequest = { messages: [{ role: "user", content: "other" }] };
    const late: string[] = [];
    callModel(model, other, options)
      .subscribe({ next: (r) => late.push(r.text) })
      .unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(late).toEqual([]);
    expect(calls).toBe(2);
    expect(store.get(responseKey(identity, other))).toBeUndefined();
  });
});

describe("callModel with a model that cannot send yet (ready() pending)", () => {
  it("asks admission only once the model is ready, and never if unsubscribed before", async () => {
    let markReady = () => {};
    let pending: Promise<void> | undefined = new Promise<void>((resolve) => {
      markReady = () => {
        pending = undefined;
        resolve();
      };
    });
    let calls = 0;
    const model: ChatModel = {
      provider: "openai",
      model: "m",
      ready: () => pending,
      complete: async () => {
        calls++;
        return {
          text: "sent",
          usage: { prompt_tokens: 1, completion_tokens: 1 },
          finishReason: "stop",
          provider: "openai",
          model: "m",
        };
      },
    };
    const asked: number[] = [];
    const admission: Admission = {
      admit: (ticket) =>
        new Observable((subscriber) => {
          asked.push(ticket.priority);
          subscriber.next(() => {});
          subscriber.complete();
        }),
    };
    const options = (priority: number): CallOptions => ({
      retry: policy,
      scheduler: new TestScheduler(() => undefined),
      jitterSeed: 1,
      admission,
      ticket: { priority, tokens: 1 },
    });
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) =>
      callModel(model, request, options(1)).subscribe({
        next: (r) => seen.push(r.text),
        error: reject,
        complete: resolve,
      }),
    );
    callModel(model, request, options(2)).subscribe().unsubscribe(); // gone before the model is ready
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(asked).toEqual([]);
    expect(calls).toBe(0);
    markReady();
    await done;
    expect(asked).toEqual([1]);
    expect(seen).toEqual(["sent"]);
    expect(calls).toBe(1);
  });
});

describe("callModel with a model whose ready() rejects (it could not be built)", () => {
  it("goes ahead with the attempt, which reports the failure", async () => {
    let ready: Promise<void> | undefined = Promise.reject(new Error("thread could not build the model"));
    ready.catch(() => {});
    const model: ChatModel = {
      provider: "openai",
      model: "m",
      ready: () => {
        const current = ready;
        ready = undefined;
        return current;
      },
      complete: () => Promise.reject(new ProviderError("config", "model m could not be built")),
    };
    const error = await new Promise<unknown>((resolve) =>
      callModel(model, request, {
        retry: policy,
        scheduler: new TestScheduler(() => undefined),
        jitterSeed: 1,
      }).subscribe({ next: () => resolve(undefined), error: resolve }),
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toBe("model m could not be built");
  });
});
