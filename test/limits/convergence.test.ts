// The workload in virtual time — 400 three-turn conversations (2 000 calls) against an
// endpoint enforcing 3 000 rpm — for every way the limit can be known: configured, learned from
// headers, estimated after 429s with no headers at all, configured too high (a shared key), and a
// server whose burst is smaller than ours. Deterministic, so the targets are asserted.
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import type { RateLimitConfig } from "../../src/limits/endpoint-budget.js";
import { EndpointBudgets } from "../../src/limits/endpoint-budgets.js";
import { type EndpointSpec, runConversations, SimulatedEndpoint } from "./simulated-endpoint.js";

function simulate(spec: Omit<EndpointSpec, "rpm">, limit?: RateLimitConfig) {
  const scheduler = new VirtualTimeScheduler();
  const endpoint = new SimulatedEndpoint({ rpm: 3000, latencyMs: 200, ...spec }, scheduler);
  const budget = new EndpointBudgets({ scheduler }).for(endpoint, limit);
  const run = runConversations(budget, endpoint, scheduler, { conversations: 400, turns: 5, inFlight: 400 });
  scheduler.flush();
  const idealMs = (endpoint.ok / 3000) * 60_000;
  return {
    ok: endpoint.ok,
    failed: run.failed,
    capUsed: idealMs / endpoint.lastOkAt,
    answered429: endpoint.throttled / (endpoint.ok + endpoint.throttled),
    budget: budget.snapshot(),
  };
}

describe("2 000 calls against 3 000 rpm (virtual time)", () => {
  it("rate_limit rpm 3000: ≥ 97% of the cap, < 1% answered 429", () => {
    const r = simulate({}, { rpm: 3000 });
    expect(r).toMatchObject({ ok: 2000, failed: 0 });
    expect(r.capUsed).toBeGreaterThanOrEqual(0.97);
    expect(r.answered429).toBeLessThan(0.01);
  });

  it("no configuration, x-ratelimit headers: learns 3 000 rpm; ≥ 97% of the cap, < 1% answered 429", () => {
    const r = simulate({});
    expect(r.budget.rpm).toEqual({ value: 3000, source: "learned" });
    expect(r.capUsed).toBeGreaterThanOrEqual(0.97);
    expect(r.answered429).toBeLessThan(0.01);
  });

  it("no configuration, no headers: estimates the rate; ≥ 90% of the cap, < 5% answered 429", () => {
    const r = simulate({ headers: false });
    expect(r.budget.rpm?.source).toBe("estimated");
    expect(r).toMatchObject({ ok: 2000, failed: 0 });
    expect(r.capUsed).toBeGreaterThanOrEqual(0.9);
    expect(r.answered429).toBeLessThan(0.05);
  });

  it("a configured limit above the real one (a shared key) backs off: ≥ 90%, < 5% answered 429", () => {
    const r = simulate({ headers: false }, { rpm: 4000 });
    expect(r.capUsed).toBeGreaterThanOrEqual(0.9);
    expect(r.answered429).toBeLessThan(0.05);
  });

  it("a server burst smaller than the client's costs next to nothing", () => {
    const r = simulate({ burst: 3 }, { rpm: 3000 });
    expect(r.capUsed).toBeGreaterThanOrEqual(0.97);
    expect(r.answered429).toBeLessThan(0.01);
  });
});
