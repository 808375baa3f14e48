// Endpoint health in virtual time: connection failures in a row take an endpoint out of the run,
// an answer in between resets the count, a host that does not exist or a refused key take it out
// at once, and from then on every call — waiting or new — is refused without being admitted.
// Until the first answer (firstContactAlone) one call goes at a time.
import { type SchedulerAction, type SchedulerLike, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { type BudgetOptions, EndpointBudget } from "../../src/limits/endpoint-budget.js";
import { DOWN_AFTER, endpointHost, endpointParts } from "../../src/limits/endpoint-health.js";
import type { Release } from "../../src/limits/types.js";
import { ProviderError } from "../../src/providers/errors.js";

const KEY = "openai|http://127.0.0.1:9/v1|MY_KEY";

function harness(options: BudgetOptions = {}) {
  const scheduler = new VirtualTimeScheduler();
  const budget = new EndpointBudget(KEY, { scheduler, ...options });
  const admitted: string[] = [];
  const refused = new Map<string, ProviderError>();
  const releases = new Map<string, Release>();
  const ask = (name: string, at = 0) =>
    scheduler.schedule(() => {
      budget.admit({ priority: 0, tokens: 0 }).subscribe({
        next: (release) => {
          admitted.push(name);
          releases.set(name, release);
        },
        error: (error: ProviderError) => refused.set(name, error),
      });
    }, at);
  const later = (at: number, work: () => void) => scheduler.schedule(work, at);
  return { scheduler, budget, admitted, refused, releases, ask, later };
}

const refusedConnection = () =>
  new ProviderError("connection", "connection failed: connect ECONNREFUSED", { code: "ECONNREFUSED" });
const ok = { usage: { prompt_tokens: 1, completion_tokens: 1 } };

describe("endpoint health", () => {
  it(`${DOWN_AFTER} connection failures in a row take the endpoint out; waiting and new calls are refused at once`, () => {
    const h = harness({ ramp: false });
    for (let i = 0; i < 8; i++) h.ask(`c${i}`);
    h.later(10, () => {
      for (let i = 0; i < DOWN_AFTER; i++) h.releases.get(`c${i}`)!({ error: refusedConnection() });
    });
    h.ask("late", 20);
    h.scheduler.flush();
    expect(h.admitted).toHaveLength(8); // the window let them all go before anything was known
    expect([...h.refused.keys()]).toEqual(["late"]);
    const refusal = h.refused.get("late")!;
    expect(refusal.kind).toBe("endpoint_down");
    expect(refusal.transient).toBe(false);
    expect(refusal.message).toBe(
      "endpoint http://127.0.0.1:9/v1 down: connection refused (ECONNREFUSED) after 5 attempts",
    );
    expect(h.budget.snapshot().down).toEqual({
      endpoint: "http://127.0.0.1:9/v1",
      kind: "endpoint_down",
      reason: "connection refused (ECONNREFUSED) after 5 attempts",
    });
  });

  it("an answer between connection failures resets the count", () => {
    const h = harness({ ramp: false });
    for (let i = 0; i < 9; i++) h.ask(`c${i}`);
    h.later(10, () => {
      for (let i = 0; i < 4; i++) h.releases.get(`c${i}`)!({ error: refusedConnection() });
      h.releases.get("c4")!(ok);
      for (let i = 5; i < 9; i++) h.releases.get(`c${i}`)!({ error: refusedConnection() });
    });
    h.ask("late", 20);
    h.scheduler.flush();
    expect(h.budget.snapshot().down).toBeUndefined();
    expect(h.admitted).toContain("late");
  });

  it("a refused key (401) takes the endpoint out at the first failure, naming the key variable", () => {
    const h = harness({ firstContactAlone: true });
    for (let i = 0; i < 20; i++) h.ask(`c${i}`);
    h.later(10, () =>
      h.releases.get("c0")!({ error: new ProviderError("auth", "HTTP 401: bad key", { status: 401 }) }),
    );
    h.scheduler.flush();
    // One request reached the endpoint; the other 19 were refused without being admitted.
    expect(h.admitted).toEqual(["c0"]);
    expect(h.refused.size).toBe(19);
    const refusal = h.refused.get("c19")!;
    expect(refusal.kind).toBe("auth");
    expect(refusal.message).toBe(
      "endpoint http://127.0.0.1:9/v1 refused the key: authentication failed (HTTP 401); check MY_KEY",
    );
  });

  it("a host that does not exist takes the endpoint out at once", () => {
    const h = harness();
    h.ask("a");
    h.later(5, () =>
      h.releases.get("a")!({
        error: new ProviderError("connection", "getaddrinfo ENOTFOUND", { code: "ENOTFOUND" }),
      }),
    );
    h.ask("b", 10);
    h.scheduler.flush();
    expect(h.refused.get("b")?.message).toBe(
      "endpoint http://127.0.0.1:9/v1 down: host not found (ENOTFOUND) after 1 attempt",
    );
  });

  it("with firstContactAlone, one call at a time until the endpoint answers, then the others", () => {
    const h = harness({ firstContactAlone: true, ramp: false, firstContactGraceMs: 1_000_000 });
    for (let i = 0; i < 5; i++) h.ask(`c${i}`);
    h.later(10, () => expect(h.admitted).toEqual(["c0"]));
    // A failure before any answer (refused) leaves it alone: the next goes, still alone.
    h.later(20, () => h.releases.get("c0")!({ error: refusedConnection() }));
    h.later(30, () => expect(h.admitted).toEqual(["c0", "c1"]));
    h.later(40, () => h.releases.get("c1")!(ok));
    h.scheduler.flush();
    expect(h.admitted).toEqual(["c0", "c1", "c2", "c3", "c4"]);
  });

  it("the lone first call holds the others for the grace period only: a reply need not be waited for", () => {
    const h = harness({ firstContactAlone: true, ramp: false, firstContactGraceMs: 150 });
    for (let i = 0; i < 5; i++) h.ask(`c${i}`);
    h.later(149, () => expect(h.admitted).toEqual(["c0"]));
    h.scheduler.flush();
    expect(h.admitted).toEqual(["c0", "c1", "c2", "c3", "c4"]);
    expect(h.scheduler.now()).toBe(150); // the gate opened at 150 ms, c0 still unanswered
  });

  it("a key refused within the grace period costs exactly one request", () => {
    const h = harness({ firstContactAlone: true, firstContactGraceMs: 150 });
    for (let i = 0; i < 50; i++) h.ask(`c${i}`);
    h.later(140, () =>
      h.releases.get("c0")!({ error: new ProviderError("auth", "HTTP 401: bad key", { status: 401 }) }),
    );
    h.scheduler.flush();
    expect(h.admitted).toEqual(["c0"]);
    expect(h.refused.size).toBe(49);
  });

  it("the gate stays shut while its checks run late (a busy event loop may hold an unread refusal)", () => {
    // Every timer of this scheduler fires 40 ms late, as on a starved event loop.
    const virtual = new VirtualTimeScheduler();
    const late: SchedulerLike = {
      now: () => virtual.now(),
      schedule: (work, delay, state) =>
        virtual.schedule(
          work as (this: SchedulerAction<unknown>, state?: unknown) => void,
          (delay ?? 0) + 40,
          state,
        ),
    };
    const budget = new EndpointBudget(KEY, { scheduler: late, firstContactAlone: true, ramp: false });
    const admitted: number[] = [];
    const releases: Release[] = [];
    for (let i = 0; i < 5; i++)
      budget.admit({ priority: 0, tokens: 0 }).subscribe((release) => {
        admitted.push(virtual.now());
        releases.push(release);
      });
    virtual.schedule(() => expect(admitted).toEqual([0]), 900);
    virtual.schedule(() => releases[0]!(ok), 1000); // the first answer opens it
    virtual.flush();
    expect(admitted).toEqual([0, 1000, 1000, 1000, 1000]);
  });

  it("a pause for a Retry-After shows its reason and remaining time in the snapshot", () => {
    const h = harness({ limit: { rpm: 60_000 }, maxPauseMs: 60_000 });
    h.ask("a");
    h.later(10, () =>
      h.releases.get("a")!({
        error: new ProviderError("rate_limit", "429", {
          status: 429,
          retryAfterMs: 42_000,
          rateLimit: { remainingRequests: 0 },
        }),
      }),
    );
    h.ask("b", 20);
    h.later(1010, () => {
      expect(h.budget.snapshot().pause).toEqual({
        reason: "rate limited by 127.0.0.1:9 (Retry-After)",
        remainingMs: 41_000,
        waiting: 1,
      });
    });
    h.scheduler.flush();
    expect(h.admitted).toEqual(["a", "b"]);
  });

  it("names endpoints from their keys", () => {
    expect(endpointParts("anthropic|https://api.anthropic.com|ANTHROPIC_API_KEY")).toEqual({
      endpoint: "https://api.anthropic.com",
      keyEnv: "ANTHROPIC_API_KEY",
    });
    expect(endpointParts("fake|fake-model")).toEqual({ endpoint: "fake|fake-model", keyEnv: undefined });
    expect(endpointHost("openai|https://api.openai.com/v1|OPENAI_API_KEY")).toBe("api.openai.com");
  });
});
