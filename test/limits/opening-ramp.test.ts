// The opening ramp (no rate known yet) in virtual time: admissions paced by a rate that doubles
// while calls wait for it, that does not grow while nobody pushes against it, and that steps aside
// past its ceiling — so an uncapped run reaches hundreds of calls in flight within about a second
// whatever the reply time, while a cap meets a trickle rather than a burst.
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { EndpointBudget } from "../../src/limits/endpoint-budget.js";
import { OpeningRamp } from "../../src/limits/opening-ramp.js";

function admittedBy(budget: EndpointBudget, scheduler: VirtualTimeScheduler, calls: number) {
  const at: number[] = [];
  for (let i = 0; i < calls; i++)
    budget.admit({ priority: 0, tokens: 0 }).subscribe(() => at.push(scheduler.now()));
  scheduler.flush();
  return (ms: number) => at.filter((t) => t <= ms).length;
}

describe("OpeningRamp", () => {
  it("doubles its rate per doubling time while calls wait for it", () => {
    const ramp = new OpeningRamp({ startPerSecond: 100, doublingMs: 100, burstSeconds: 0.01 });
    let taken = 0;
    // As the budget's pump does: every millisecond, admit while the ramp allows (always waiting).
    for (let now = 0; now <= 200; now++)
      while (ramp.waitMs(now) === 0) {
        ramp.take(now);
        taken++;
      }
    expect(ramp.perSecond).toBeGreaterThan(380); // 100 → 400/s over two doubling times
    expect(ramp.perSecond).toBeLessThan(420);
    expect(taken).toBeGreaterThan(35); // ∫ 100·2^(t/100) dt over 0.2 s ≈ 43
    expect(taken).toBeLessThan(50);
  });

  it("does not grow while nobody waits for it", () => {
    const ramp = new OpeningRamp({ startPerSecond: 100, doublingMs: 100 });
    ramp.take(0);
    ramp.waitMs(0);
    ramp.idle();
    expect(ramp.waitMs(1000)).toBe(0);
    expect(ramp.perSecond).toBe(100);
  });

  it("a late check (a busy event loop) grows the rate by 10 ms at most and lets no burst through", () => {
    const ramp = new OpeningRamp({ startPerSecond: 1000, doublingMs: 50, burstSeconds: 0.005 });
    while (ramp.waitMs(0) === 0) ramp.take(0); // its first burst gone: the ramp binds from here
    // The loop comes back 200 ms later: four doubling times, but a 429 may sit unread.
    let taken = 0;
    while (ramp.waitMs(200) === 0) {
      ramp.take(200);
      taken++;
    }
    expect(ramp.perSecond).toBeLessThan(1000 * 2 ** (12 / 50)); // due at ~1 ms, 10 ms late at most: not 16 000/s
    expect(taken).toBeLessThanOrEqual(6); // a burst of 5 ms of the rate, not 200 ms of it
  });

  it("steps aside for good past its ceiling", () => {
    const ramp = new OpeningRamp({ startPerSecond: 100, doublingMs: 100, ceilingPerSecond: 1000 });
    ramp.take(0);
    for (let now = 0; now <= 400 && !ramp.done; now++)
      while (!ramp.done && ramp.waitMs(now) === 0) ramp.take(now);
    expect(ramp.done).toBe(true);
    expect(ramp.waitMs(401)).toBe(0);
  });
});

describe("EndpointBudget opening (nothing known)", () => {
  it("paces the opening: no burst at once, 500 admitted within about a second", () => {
    const scheduler = new VirtualTimeScheduler();
    const budget = new EndpointBudget("k", { scheduler });
    const count = admittedBy(budget, scheduler, 500);
    // Defaults: 100/s doubling every 200 ms of waiting; a burst of 50 ms of the rate.
    expect(count(0)).toBeLessThanOrEqual(6);
    expect(count(200)).toBeLessThan(45); // ≈ 29 + the burst at 100–200/s
    expect(count(1000)).toBe(500); // ∫ 100·2^(t/200) dt reaches 500 at ≈ 0.84 s
    expect(budget.snapshot().ramp).toBeGreaterThan(100);
  });

  it("before: a concurrency window let 32 go at once (ramp off, the old opening, for contrast)", () => {
    const scheduler = new VirtualTimeScheduler();
    const budget = new EndpointBudget("k", { scheduler, ramp: false, window: { initial: 32 } });
    const count = admittedBy(budget, scheduler, 100);
    expect(count(0)).toBe(32);
  });

  it("steps aside once a rate is known", () => {
    const scheduler = new VirtualTimeScheduler();
    const budget = new EndpointBudget("k", { scheduler, limit: { rpm: 6_000_000 } });
    const count = admittedBy(budget, scheduler, 500);
    expect(count(0)).toBe(500); // burst of a quarter second of 100 000/s
    expect(budget.snapshot().ramp).toBeUndefined();
  });
});
