// EndpointBudget and EndpointBudgets in virtual time: pacing, token reservations and refunds,
// learned limits, Retry-After, priorities, withdrawal, timers, and endpoints kept apart.
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { type BudgetOptions, EndpointBudget } from "../../src/limits/endpoint-budget.js";
import { callTicket, EndpointBudgets, endpointKeyOf } from "../../src/limits/endpoint-budgets.js";
import type { Admission, CallTicket, Release } from "../../src/limits/types.js";
import { ProviderError } from "../../src/providers/errors.js";

/** Asks for admission at virtual times and records when each request was admitted. */
function harness(options: BudgetOptions = {}) {
  const scheduler = new VirtualTimeScheduler();
  const budget = new EndpointBudget("test", { scheduler, ...options });
  const admittedAt = new Map<string, number>();
  const releases = new Map<string, Release>();
  const ask = (name: string, ticket: CallTicket, at = 0, admission: Admission = budget) =>
    scheduler.schedule(() => {
      admission.admit(ticket).subscribe((release) => {
        admittedAt.set(name, scheduler.now());
        releases.set(name, release);
      });
    }, at);
  const later = (at: number, work: () => void) => scheduler.schedule(work, at);
  return { scheduler, budget, admittedAt, releases, ask, later };
}

const t = (priority = 0, tokens = 0): CallTicket => ({ priority, tokens });
const rateLimited = (retryAfterMs?: number) =>
  new ProviderError("rate_limit", "429", {
    status: 429,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
/** A 429 whose rate-limit headers say no request remains: the endpoint is out of quota. */
const outOfQuota = (retryAfterMs: number) =>
  new ProviderError("rate_limit", "429", { status: 429, retryAfterMs, rateLimit: { remainingRequests: 0 } });

describe("EndpointBudget pacing", () => {
  it("paces a configured rpm smoothly: rpm 600 admits one call per 100 ms", () => {
    const h = harness({ limit: { rpm: 600 }, burstSeconds: 0.1 });
    for (const name of ["a", "b", "c", "d"]) h.ask(name, t());
    h.scheduler.flush();
    expect([...h.admittedAt.values()]).toEqual([0, 100, 200, 300]);
  });

  it("allows a burst of a fraction of a second, never a minute's quota", () => {
    const h = harness({ limit: { rpm: 6000 } }); // 100 per second, default burst 0.25 s = 25
    for (let i = 0; i < 40; i++) h.ask(`c${i}`, t());
    h.scheduler.flush();
    const times = [...h.admittedAt.values()];
    expect(times.filter((at) => at === 0)).toHaveLength(25);
    expect(times.at(-1)).toBe(150); // the other 15 at 10 ms apart
  });

  it("reserves prompt + completion tokens and refunds the unused part", () => {
    const h = harness({ limit: { tpm: 6000 }, burstSeconds: 1 }); // 100 tokens per second, burst 100
    h.ask("a", t(0, 100));
    h.ask("b", t(0, 100));
    h.later(10, () => h.releases.get("a")!({ usage: { prompt_tokens: 15, completion_tokens: 5 } }));
    h.scheduler.flush();
    // At 10 ms: 1 token refilled + 80 refunded; b needs 100, 19 more = 190 ms.
    expect(h.admittedAt.get("b")).toBe(200);
  });

  it("without a refund the next reservation waits for the full refill", () => {
    const h = harness({ limit: { tpm: 6000 }, burstSeconds: 1 });
    h.ask("a", t(0, 100));
    h.ask("b", t(0, 100));
    h.later(10, () => h.releases.get("a")!({ error: new ProviderError("server", "500") }));
    h.scheduler.flush();
    expect(h.admittedAt.get("b")).toBe(1000);
  });
});

describe("EndpointBudget limits learned and configured", () => {
  it("adopts the limit from response headers and follows the server's remaining count", () => {
    const h = harness({ burstSeconds: 0.1 });
    h.ask("a", t());
    h.ask("b", t());
    h.later(50, () =>
      h.releases.get("a")!({
        usage: { prompt_tokens: 1, completion_tokens: 1 },
        rateLimit: { limitRequests: 600, remainingRequests: 0 },
      }),
    );
    h.ask("c", t(), 60);
    h.scheduler.flush();
    expect(h.budget.snapshot().rpm).toEqual({ value: 600, source: "learned" });
    // The server had 0 left when a arrived; since then 0.5 refilled and b spent 1: c waits for
    // the level to climb from -0.5 to 1 at 0.01 per ms, from 50 ms.
    expect(h.admittedAt.get("c")).toBe(200);
  });

  it("keeps the configured limit over a learned one", () => {
    const h = harness({ limit: { rpm: 300 } });
    h.ask("a", t());
    h.later(10, () =>
      h.releases.get("a")!({
        usage: { prompt_tokens: 1, completion_tokens: 1 },
        rateLimit: { limitRequests: 6000, limitTokens: 90_000 },
      }),
    );
    h.scheduler.flush();
    expect(h.budget.snapshot()).toMatchObject({
      rpm: { value: 300, source: "configured" },
      tpm: { value: 90_000, source: "learned" },
    });
  });

  it("takes the smaller value per field when models on one endpoint configure different limits", () => {
    const budgets = new EndpointBudgets({ scheduler: new VirtualTimeScheduler() });
    const a = { provider: "openai", model: "a", endpointKey: "openai|https://api|KEY" };
    const b = { provider: "openai", model: "b", endpointKey: "openai|https://api|KEY" };
    const budget = budgets.for(a, { rpm: 500, tpm: 10_000 });
    expect(budgets.for(b, { rpm: 300 })).toBe(budget);
    expect(budget.snapshot()).toMatchObject({ rpm: { value: 300 }, tpm: { value: 10_000 } });
  });
});

describe("EndpointBudget after a 429", () => {
  it("pauses for Retry-After when the answer's headers say no request remains, then resumes", () => {
    const h = harness({ limit: { rpm: 60_000 } });
    h.ask("a", t());
    h.later(10, () => h.releases.get("a")!({ error: outOfQuota(500) }));
    h.ask("b", t(), 20);
    h.scheduler.flush();
    expect(h.admittedAt.get("b")).toBe(510);
  });

  it("pauses when 5 % or more of the last second's calls are refused, with no headers", () => {
    const h = harness({ limit: { rpm: 60_000 } });
    h.ask("a", t());
    h.ask("b", t());
    h.later(10, () => h.releases.get("a")!({ error: rateLimited(500) })); // 1 of 2 refused
    h.ask("c", t(), 20);
    h.scheduler.flush();
    expect(h.admittedAt.get("c")).toBe(510);
  });

  it("does not pause the endpoint for a 429 now and then among successes (a server shedding load)", () => {
    const h = harness({ limit: { rpm: 60_000 } });
    const ok = Array.from({ length: 29 }, (_, i) => `ok${i}`);
    for (const name of ok) h.ask(name, t());
    h.ask("a", t());
    h.later(5, () => {
      for (const name of ok) h.releases.get(name)!({ usage: { prompt_tokens: 1, completion_tokens: 1 } });
    });
    h.later(10, () => h.releases.get("a")!({ error: rateLimited(500) })); // 1 of 30 refused
    h.ask("b", t(), 20);
    h.scheduler.flush();
    expect(h.admittedAt.get("b")).toBe(20);
    expect(h.budget.snapshot().pausedForMs).toBe(0);
  });

  it("with no limit known, neither estimates a rate nor cuts the window for scattered 429s", () => {
    const h = harness({ ramp: false });
    const ok = Array.from({ length: 29 }, (_, i) => `ok${i}`);
    for (const name of ok) h.ask(name, t());
    h.ask("a", t());
    let windowBefore: number | undefined;
    h.later(5, () => {
      for (const name of ok) h.releases.get(name)!({ usage: { prompt_tokens: 1, completion_tokens: 1 } });
    });
    h.later(9, () => {
      windowBefore = h.budget.snapshot().concurrency;
    });
    h.later(10, () => h.releases.get("a")!({ error: rateLimited(500) })); // 1 of 30 refused
    h.scheduler.flush();
    const after = h.budget.snapshot();
    expect(after.rpm).toBeUndefined();
    expect(windowBefore).toBeGreaterThan(0);
    expect(after.concurrency).toBe(windowBefore);
  });

  it("neither pauses nor cuts the pace for a 429 whose headers say quota remains", () => {
    const shed = new ProviderError("rate_limit", "429", {
      status: 429,
      retryAfterMs: 500,
      rateLimit: { remainingRequests: 400, remainingTokens: 90_000 },
    });
    const h = harness({ limit: { rpm: 600 }, burstSeconds: 1 });
    const plain = harness({ limit: { rpm: 600 }, burstSeconds: 1 });
    for (const x of [h, plain]) {
      x.ask("a", t());
      x.ask("b", t());
    }
    h.later(10, () => h.releases.get("a")!({ error: shed }));
    h.later(20, () => h.releases.get("b")!({ error: shed }));
    plain.later(10, () => plain.releases.get("a")!({ error: rateLimited(500) }));
    plain.later(20, () => plain.releases.get("b")!({ error: rateLimited(500) }));
    h.ask("c", t(), 30);
    plain.ask("c", t(), 30);
    h.scheduler.flush();
    plain.scheduler.flush();
    expect(h.admittedAt.get("c")).toBe(30);
    expect(h.budget.snapshot()).toMatchObject({ pausedForMs: 0, rpm: { value: 600 } });
    // Without headers the same two 429s pause the endpoint and cut the pace.
    expect(plain.admittedAt.get("c")).toBeGreaterThanOrEqual(520);
    expect(plain.budget.snapshot().rpm?.value).toBeLessThan(600);
  });

  it("pauses for a Retry-After up to maxPauseMs", () => {
    const h = harness({ limit: { rpm: 60_000 }, maxPauseMs: 2000 });
    h.ask("a", t());
    h.later(10, () => h.releases.get("a")!({ error: outOfQuota(2000) }));
    h.ask("b", t(), 20);
    h.scheduler.flush();
    expect(h.admittedAt.get("b")).toBe(2010);
  });

  it("a Retry-After over maxPauseMs takes the endpoint out instead of pausing it for an hour", () => {
    const h = harness({ limit: { rpm: 60_000 }, maxPauseMs: 2000 });
    h.ask("a", t());
    h.ask("b", t(), 5); // waits behind nothing: admitted at once
    h.later(10, () => h.releases.get("a")!({ error: outOfQuota(3_600_000) }));
    const refused: unknown[] = [];
    h.later(20, () => h.budget.admit(t()).subscribe({ error: (e: unknown) => refused.push(e) }));
    h.scheduler.flush();
    expect(h.admittedAt.get("b")).toBe(5);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ kind: "endpoint_down" });
    expect(String((refused[0] as Error).message)).toMatch(
      /Retry-After 3600 s, over call_retries.max_retry_after \(2 s\)/,
    );
    expect(h.budget.snapshot().down?.kind).toBe("endpoint_down");
  });

  it("cuts a known limit once per wave of 429s, not once per 429", () => {
    const h = harness({ limit: { rpm: 600 }, burstSeconds: 1 });
    for (const name of ["a", "b", "c", "d"]) h.ask(name, t());
    h.later(0, () => {}); // admitted at 0 (burst 10)
    h.later(10, () => {
      for (const name of ["a", "b", "c", "d"]) h.releases.get(name)!({ error: rateLimited() });
    });
    h.scheduler.flush();
    const snap = h.budget.snapshot(); // read at 10 ms: cut to 90%, recovering 2% per second
    expect(snap.rpm?.value).toBeCloseTo(540, 6);
    expect(snap.rateLimited).toBe(4);
  });

  it("with nothing known, a wave of 429s turns what the endpoint accepted into an estimated rate", () => {
    const h = harness({ ramp: false });
    for (let i = 0; i < 10; i++) h.ask(`a${i}`, t());
    let before: ReturnType<typeof h.budget.snapshot> | undefined;
    h.later(100, () => {
      for (let i = 0; i < 5; i++)
        h.releases.get(`a${i}`)!({ usage: { prompt_tokens: 1, completion_tokens: 1 } });
      for (let i = 5; i < 9; i++) h.releases.get(`a${i}`)!({ error: rateLimited() });
      before = h.budget.snapshot(); // four 429s: not yet enough to tell a cap from a server shedding load
      h.releases.get("a9")!({ error: rateLimited() });
    });
    h.scheduler.flush();
    expect(before?.rpm).toBeUndefined();
    const snap = h.budget.snapshot();
    expect(snap.concurrency).toBeUndefined(); // the rate governs now, not the window
    // 10 admitted, 5 refused within the first 100 ms: 5 per 100 ms accepted = 3000 rpm; 90% of it.
    expect(snap.rpm).toEqual({ value: 2700, source: "estimated" });
  });

  it("with nothing known, a few 429s among the first calls set no rate (one was 1 of 2 calls)", () => {
    const h = harness({ ramp: false });
    h.ask("a", t());
    h.ask("b", t());
    h.later(10, () => h.releases.get("a")!({ error: rateLimited(500) }));
    h.ask("c", t(), 20);
    h.scheduler.flush();
    expect(h.budget.snapshot()).toMatchObject({ pausedForMs: 0 });
    expect(h.budget.snapshot().rpm).toBeUndefined();
    expect(h.admittedAt.get("c")).toBe(20); // only the refused call waits for its Retry-After
  });
});

describe("EndpointBudget adaptive window", () => {
  it("starts low (here 8) in flight and grows while it is the bottleneck", () => {
    const h = harness({ window: { initial: 8 }, ramp: false });
    for (let i = 0; i < 20; i++) h.ask(`c${i}`, t());
    h.later(10, () => {
      for (let i = 0; i < 8; i++)
        h.releases.get(`c${i}`)!({ usage: { prompt_tokens: 1, completion_tokens: 1 } });
    });
    h.scheduler.flush();
    const at = [...h.admittedAt.values()];
    expect(at.filter((x) => x === 0)).toHaveLength(8);
    expect(at.filter((x) => x === 10)).toHaveLength(12); // each success: window +3, four waiting go
    // +3 for each of the first four successes; the later ones came when the window was not full.
    expect(h.budget.snapshot()).toMatchObject({ concurrency: 20, inFlight: 12 });
  });
});

describe("EndpointBudget queue", () => {
  it("admits higher priority first, in arrival order within a priority", () => {
    const h = harness({ limit: { rpm: 600 }, burstSeconds: 0.1 });
    h.ask("x", t(0));
    h.ask("y", t(0));
    h.ask("z", t(2));
    h.ask("w", t(1));
    h.ask("v", t(2));
    h.scheduler.flush();
    expect([...h.admittedAt.entries()]).toEqual([
      ["x", 0],
      ["z", 100],
      ["v", 200],
      ["w", 300],
      ["y", 400],
    ]);
  });

  it("withdraws a waiter on unsubscribe and cancels the timer when nobody waits", () => {
    const scheduler = new VirtualTimeScheduler();
    const budget = new EndpointBudget("k", { scheduler, limit: { rpm: 600 }, burstSeconds: 0.1 });
    budget.admit(t()).subscribe();
    let admitted = false;
    const waiting = budget.admit(t()).subscribe(() => (admitted = true));
    expect(scheduler.actions).toHaveLength(1); // the wake-up at 100 ms
    waiting.unsubscribe();
    expect(scheduler.actions).toHaveLength(0);
    expect(budget.snapshot().waiting).toBe(0);
    scheduler.flush();
    expect(admitted).toBe(false);
  });

  it("settles a call once; the release of an abandoned call returns its slot", () => {
    const h = harness({ window: { initial: 1 } });
    h.ask("a", t());
    h.ask("b", t());
    h.later(5, () => {
      h.releases.get("a")!({});
      h.releases.get("a")!({}); // no effect: b must not be joined by a phantom slot
    });
    h.ask("c", t(), 6);
    h.scheduler.flush();
    expect(h.admittedAt.get("b")).toBe(5);
    expect(h.admittedAt.has("c")).toBe(false);
    expect(h.budget.snapshot()).toMatchObject({ inFlight: 1, waiting: 1 });
  });
});

describe("EndpointBudgets", () => {
  it("keeps endpoints apart: a 429 pauses only its own", () => {
    const scheduler = new VirtualTimeScheduler();
    const budgets = new EndpointBudgets({ scheduler });
    const slow = budgets.for({ provider: "openai", model: "m", endpointKey: "openai|a|K" });
    const other = budgets.for({ provider: "anthropic", model: "m", endpointKey: "anthropic|b|K" });
    const admitted: string[] = [];
    slow.admit(t()).subscribe((release) => release({ error: outOfQuota(1000) }));
    slow.admit(t()).subscribe(() => admitted.push(`slow@${scheduler.now()}`));
    other.admit(t()).subscribe(() => admitted.push(`other@${scheduler.now()}`));
    scheduler.flush();
    expect(admitted).toEqual(["other@0", "slow@1000"]);
    expect(budgets.snapshot().map((s) => s.key)).toEqual(["openai|a|K", "anthropic|b|K"]);
  });

  it("keys by endpointKey, else provider|model", () => {
    expect(endpointKeyOf({ provider: "fake", model: "m" })).toBe("fake|m");
    expect(endpointKeyOf({ provider: "openai", model: "m", endpointKey: "e" })).toBe("e");
  });

  it("callTicket reserves the prompt estimate plus the completion limit", () => {
    const request = { messages: [{ role: "user" as const, content: "x".repeat(400) }], maxTokens: 50 };
    expect(callTicket(request, 3)).toEqual({ priority: 3, tokens: 150 });
    expect(callTicket({ messages: request.messages }, 0, 256)).toEqual({ priority: 0, tokens: 356 });
  });
});
