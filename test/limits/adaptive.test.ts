// The adaptive window (slow start, growth only while binding, halving on 429) and the rate meter.
import { describe, expect, it } from "vitest";
import { ConcurrencyWindow, RateMeter } from "../../src/limits/adaptive.js";

describe("ConcurrencyWindow", () => {
  it("bounds nothing until a cut, which halves the calls in flight, not the bound", () => {
    const window = new ConcurrencyWindow({ max: 10_000 });
    expect(window.allowed).toBe(10_000);
    window.onRateLimited(300);
    expect(window.allowed).toBe(150);
  });

  it("with an initial bound, grows fourfold per round trip while it is the bottleneck", () => {
    const window = new ConcurrencyWindow({ initial: 32 });
    expect(window.allowed).toBe(32);
    for (let i = 0; i < 32; i++) window.onSuccess(true);
    expect(window.allowed).toBe(128);
  });

  it("does not grow while it is not the bottleneck", () => {
    const window = new ConcurrencyWindow({ initial: 4 });
    for (let i = 0; i < 100; i++) window.onSuccess(false);
    expect(window.allowed).toBe(4);
  });

  it("halves on a 429, then grows by about one per round trip", () => {
    const window = new ConcurrencyWindow({ initial: 20 });
    window.onRateLimited();
    expect(window.allowed).toBe(10);
    for (let i = 0; i < 10; i++) window.onSuccess(true); // one round trip of 10 calls
    expect(window.allowed).toBe(10);
    window.onSuccess(true);
    expect(window.allowed).toBe(11);
  });

  it("stays within min and max", () => {
    const window = new ConcurrencyWindow({ initial: 2, min: 2, max: 5 });
    window.onRateLimited();
    expect(window.allowed).toBe(2);
    for (let i = 0; i < 50; i++) window.onSuccess(true);
    expect(window.allowed).toBe(5);
  });
});

describe("RateMeter", () => {
  it("counts the last second", () => {
    const meter = new RateMeter();
    for (let t = 0; t < 2000; t += 10) meter.record(t); // 100 per second
    expect(meter.perMinute(1999, 0)).toBeCloseTo(6000, -2);
    expect(meter.perMinute(3500, 0)).toBe(0); // all of it older than a second
  });

  it("measures over the time since counting started when that is shorter", () => {
    const meter = new RateMeter();
    for (let t = 1000; t < 1200; t += 10) meter.record(t); // 20 events in 200 ms
    expect(meter.perMinute(1200, 1000)).toBeCloseTo(6000, 6);
  });
});
