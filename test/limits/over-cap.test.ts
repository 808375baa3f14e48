// When 429s say "over a cap" (src/limits/over-cap.ts), and what such an endpoint accepts after
// its first 429: the rate its cap refills at, which the first estimate is made from.
import { describe, expect, it } from "vitest";
import { AcceptedSinceRefusal, refusalsSayOverCap } from "../../src/limits/over-cap.js";

describe("refusalsSayOverCap", () => {
  it("with nothing known: five 429s that are a tenth of the last second's calls; fewer or sparser is a server shedding load", () => {
    expect(refusalsSayOverCap({ paced: false, refusals: 5, refusedShare: 0.1 })).toBe(true);
    expect(refusalsSayOverCap({ paced: false, refusals: 4, refusedShare: 0.5 })).toBe(false);
    expect(refusalsSayOverCap({ paced: false, refusals: 30, refusedShare: 0.03 })).toBe(false);
  });

  it("paced: a twentieth of the last second's calls", () => {
    expect(refusalsSayOverCap({ paced: true, refusals: 1, refusedShare: 0.05 })).toBe(true);
    expect(refusalsSayOverCap({ paced: true, refusals: 3, refusedShare: 0.04 })).toBe(false);
  });
});

describe("AcceptedSinceRefusal", () => {
  it("counts the calls admitted after the first refused one and not refused, over their admissions' span", () => {
    const measure = new AcceptedSinceRefusal();
    expect(measure.perMinute(10, 100)).toBeUndefined(); // no 429 yet
    // Calls 0–49 took the server's bucket; from call 50 (admitted at 500 ms) on, 1 in 4 passes.
    for (let ordinal = 50; ordinal < 90; ordinal++)
      if (ordinal % 4 !== 0) measure.refused(ordinal, 500 + (ordinal - 50) * 5);
    // 40 admitted from 500 to 695 ms, 30 refused: 10 accepted (+1 of slack) in 195 ms.
    expect(measure.perMinute(90, 695)).toBeCloseTo((11 * 60_000) / 195, 6);
  });

  it("an earlier call's 429 arriving late moves the start back", () => {
    const measure = new AcceptedSinceRefusal();
    measure.refused(20, 200);
    measure.refused(10, 100);
    // 30 admitted in all, the latest at 300 ms: from call 10 on, 20 admitted, 2 refused.
    expect(measure.perMinute(30, 300)).toBeCloseTo((19 * 60_000) / 200, 6);
  });

  it("tells no rate from calls admitted all at once, nor from a span that took in a long pause", () => {
    const burst = new AcceptedSinceRefusal();
    for (let ordinal = 5; ordinal < 10; ordinal++) burst.refused(ordinal, 0);
    expect(burst.perMinute(10, 0)).toBeUndefined();
    expect(burst.perMinute(10, 10)).toBeUndefined(); // under 20 ms
    const paused = new AcceptedSinceRefusal();
    paused.refused(50, 500);
    expect(paused.perMinute(80, 1600)).toBeUndefined(); // over a second: a Retry-After pause inside
  });

  it("a 429 more than a second after the first one counted starts the measure over", () => {
    const measure = new AcceptedSinceRefusal();
    measure.refused(3, 30); // a server shedding one call early in the run
    // A cap met 30 s later: from call 3000 (admitted at 30 s) on, 1 in 4 passes.
    for (let ordinal = 3000; ordinal < 3040; ordinal++)
      if (ordinal % 4 !== 0) measure.refused(ordinal, 30_000 + (ordinal - 3000) * 5);
    // From call 3001 (the first refused, at 30,005 ms) to 3039: 39 admitted, 30 refused, 9
    // accepted (+1 of slack) in 190 ms. Counted from call 3 it would span 30 s: no rate at all.
    expect(measure.perMinute(3040, 30_195)).toBeCloseTo((10 * 60_000) / 190, 6);
  });
});
