// admitted(): one attempt of a model call behind its endpoint's budget. Marble tests in virtual
// time: pacing, token refunds, priorities, Retry-After on one endpoint only, the adaptive window,
// withdrawal, and retries that queue again.
import { defer, map, merge, mergeMap, retry, throwError, timer } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { type BudgetOptions, EndpointBudget } from "../../src/limits/endpoint-budget.js";
import { EndpointBudgets } from "../../src/limits/endpoint-budgets.js";
import type { CallTicket } from "../../src/limits/types.js";
import { admitted } from "../../src/operators/rate-limit.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel, type FakeReply } from "../../src/providers/fake.js";
import type { ChatRequest } from "../../src/providers/types.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const request = (content: string): ChatRequest => ({ messages: [{ role: "user", content }] });
const ticket = (priority = 0, tokens = 0): CallTicket => ({ priority, tokens });
const text = (value: string) => expect.objectContaining({ text: value });

/** A fake model replying with the last message's text after `latencyMs` (virtual). */
function echoModel(
  scheduler: TestScheduler,
  latencyMs = 10,
  options: { provider?: string; fail?: FakeReply[] } = {},
) {
  const failures = [...(options.fail ?? [])];
  return new FakeChatModel({
    scheduler,
    latencyMs,
    provider: options.provider ?? "fake",
    respond: (req) => failures.shift() ?? req.messages[0]!.content,
  });
}

function budgetFor(scheduler: TestScheduler, options: BudgetOptions) {
  return new EndpointBudget("fake|fake-model", { scheduler, ...options });
}

describe("admitted (virtual time)", () => {
  it("paces calls at a configured rpm: 600 rpm → one call per 100 ms", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = echoModel(scheduler);
      const budget = budgetFor(scheduler, { limit: { rpm: 600 }, burstSeconds: 0.1 });
      const call = (name: string) => model.complete$(request(name)).pipe(admitted(budget, ticket()));
      expectObservable(merge(call("a"), call("b"), call("c"), call("d"))).toBe(
        "10ms a 99ms b 99ms c 99ms (d|)",
        { a: text("a"), b: text("b"), c: text("c"), d: text("d") },
      );
    });
  });

  it("paces tokens per minute, and the refund of unused tokens lets the next call go sooner", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = echoModel(scheduler);
      // 6 000 tpm = 100 tokens per second, burst one second. Each call reserves 100; the fake
      // reports 2 prompt + 2 completion tokens, so 96 come back when a call ends.
      const budget = budgetFor(scheduler, { limit: { tpm: 6000 }, burstSeconds: 1 });
      const call = (name: string) =>
        model.complete$(request(`${name}234567`)).pipe(admitted(budget, ticket(0, 100)));
      // a: 0–10 ms; at 10 ms the bucket holds 1 + 96; b needs 3 more: admitted at 40, done at 50.
      expectObservable(merge(call("a"), call("b"))).toBe("10ms a 39ms (b|)", {
        a: text("a234567"),
        b: text("b234567"),
      });
    });
  });

  it("admits higher priority first: conversations further along go before new ones", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = echoModel(scheduler);
      const budget = budgetFor(scheduler, { limit: { rpm: 600 }, burstSeconds: 0.1 });
      const call = (name: string, priority: number) =>
        model.complete$(request(name)).pipe(admitted(budget, ticket(priority)));
      // "new" takes the one token at 0; then turn 3 before turn 1 before the other new one.
      expectObservable(merge(call("n", 0), call("m", 0), call("t1", 1), call("t3", 3))).toBe(
        "10ms n 99ms x 99ms y 99ms (m|)",
        { n: text("n"), x: text("t3"), y: text("t1"), m: text("m") },
      );
    });
  });

  it("a 429 that says the quota is out pauses its endpoint only; the retry queues behind the pause", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const budgets = new EndpointBudgets({ scheduler });
      const outOfQuota = new ProviderError("rate_limit", "429", {
        status: 429,
        retryAfterMs: 500,
        rateLimit: { remainingRequests: 0 },
      });
      const limited = echoModel(scheduler, 10, { provider: "limited", fail: [outOfQuota] });
      const other = echoModel(scheduler, 10, { provider: "other" });
      const call = (model: FakeChatModel, name: string) =>
        defer(() => model.complete$(request(name)).pipe(admitted(budgets.for(model), ticket()))).pipe(
          retry({ count: 1, delay: () => timer(0, scheduler) }),
        );
      // limited: 429 at 10 ms, retried at once but admitted only at 510, answered at 520.
      // other: unaffected, its calls at 20 and 30 ms answered at 30 and 40.
      const later = (ms: number, model: FakeChatModel, name: string) =>
        timer(ms, scheduler).pipe(mergeMap(() => call(model, name)));
      expectObservable(merge(call(limited, "L"), later(20, other, "o1"), later(30, other, "o2"))).toBe(
        "30ms a 9ms b 479ms (L|)",
        { a: text("o1"), b: text("o2"), L: text("L") },
      );
    });
  });

  it("a 429 now and then among successes stalls nobody else on the endpoint; only its own retry waits", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      // The opening ramp off: this pins the scattered-429 rule, with every call admitted at once.
      const budgets = new EndpointBudgets({ scheduler, ramp: false });
      const shed = new ProviderError("rate_limit", "429", { status: 429, retryAfterMs: 500 });
      // Two models on one endpoint: the first answers its first call with a 429.
      const shedding = echoModel(scheduler, 10, { provider: "busy", fail: [shed] });
      const steady = echoModel(scheduler, 10, { provider: "busy" });
      // As callModel retries: never sooner than the Retry-After.
      const call = (model: FakeChatModel, name: string) =>
        defer(() => model.complete$(request(name)).pipe(admitted(budgets.for(model), ticket()))).pipe(
          retry({ count: 1, delay: () => timer(500, scheduler) }),
        );
      const later = (ms: number, model: FakeChatModel, name: string) =>
        timer(ms, scheduler).pipe(mergeMap(() => call(model, name)));
      // 30 calls at 0 answered at 10; L (sent at 5) refused at 15: 1 of 31, a server shedding a
      // call. M at 20 goes at once and is answered at 30; L is retried at 515, answered at 525.
      const thirty = merge(...Array.from({ length: 30 }, (_, i) => call(steady, `s${i}`)));
      const answered: string[] = [];
      merge(thirty, later(5, shedding, "L"), later(20, steady, "M")).subscribe((r) =>
        answered.push(`${r.text}@${scheduler.now()}`),
      );
      expectObservable(timer(600, scheduler).pipe(map(() => answered.slice(30)))).toBe("600ms (a|)", {
        a: ["M@30", "L@525"],
      });
    });
  });

  it("ramps the adaptive window up while it is full", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const model = echoModel(scheduler);
      const budget = budgetFor(scheduler, { window: { initial: 2 }, ramp: false });
      const calls = Array.from({ length: 6 }, (_, i) =>
        model.complete$(request(`c${i}`)).pipe(admitted(budget, ticket())),
      );
      // Two go at 0; each success at 10 ms widens the window by one and lets two more go.
      expectObservable(merge(...calls)).toBe("10ms (ab) 6ms (cdef|)", {
        a: text("c0"),
        b: text("c1"),
        c: text("c2"),
        d: text("c3"),
        e: text("c4"),
        f: text("c5"),
      });
    });
  });

  it("a wave of 429s cuts the pace once; the retries wait for the slower pace", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const refusal = () => new ProviderError("rate_limit", "429", { status: 429 });
      const model = echoModel(scheduler, 10, { fail: [refusal(), refusal(), refusal()] });
      const budget = budgetFor(scheduler, { limit: { rpm: 6000 }, burstSeconds: 0.1 });
      const call = (name: string) =>
        defer(() => model.complete$(request(name)).pipe(admitted(budget, ticket()))).pipe(
          retry({ count: 1, delay: () => timer(0, scheduler) }),
        );
      // 6000 rpm, burst 10: all three go at 0 and are refused at 10. One cut to 90% (5400 rpm,
      // 11.1 ms apart), and the bucket is emptied: retries at 22, 33, 44 ms → answers 10 ms later.
      expectObservable(merge(call("a"), call("b"), call("c"))).toBe("32ms a 10ms b 10ms (c|)", {
        a: text("a"),
        b: text("b"),
        c: text("c"),
      });
      flush();
      expect(budget.snapshot().rateLimited).toBe(3);
    });
  });

  it("withdrawing a queued call frees its place; unsubscribing a running call returns its slot", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable, flush }) => {
      const model = echoModel(scheduler, 50);
      const budget = budgetFor(scheduler, { window: { initial: 1 } });
      const call = (name: string) => model.complete$(request(name)).pipe(admitted(budget, ticket()));
      // a runs from 0 but is abandoned at 20; b (queued) is withdrawn at 10; c starts when a's
      // slot comes back at 20 and answers at 70.
      expectObservable(call("a"), "^-------------------!").toBe("");
      expectObservable(call("b"), "^---------!").toBe("");
      expectObservable(call("c")).toBe("70ms (c|)", { c: text("c") });
      flush();
      expect(model.calls.map((c) => c.messages[0]!.content)).toEqual(["a", "c"]);
    });
  });

  it("a call that fails at once (synchronously) returns its slot at once", () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      // Without the opening ramp: this pins the window's slot, not the ramp's pacing.
      const budget = budgetFor(scheduler, { window: { initial: 1 }, ramp: false });
      const broken = throwError(() => new ProviderError("bad_request", "400")).pipe(
        admitted(budget, ticket()),
      );
      const model = echoModel(scheduler);
      expectObservable(broken).toBe("#", undefined, new ProviderError("bad_request", "400"));
      expectObservable(model.complete$(request("next")).pipe(admitted(budget, ticket()))).toBe("10ms (n|)", {
        n: text("next"),
      });
    });
  });
});
