// Pace: where an endpoint's rates come from and how waves of 429s move them.
import { describe, expect, it } from "vitest";
import { Pace } from "../../src/limits/pace.js";

describe("Pace", () => {
  it("prefers configured over learned limits, and takes the smaller of each", () => {
    const pace = new Pace({ rpm: 500 });
    pace.configure({ rpm: 800, tpm: 9000 });
    pace.learn({ limitRequests: 300, limitTokens: 5000 });
    pace.learn({ limitTokens: 7000 });
    expect(pace.rpm(0)).toBe(500);
    expect(pace.tpm(0)).toBe(9000);
    expect([pace.rpmSource(), pace.tpmSource()]).toEqual(["configured", "configured"]);
    const learned = new Pace();
    learned.learn({ limitRequests: 300, limitTokens: 5000 });
    learned.learn({ limitTokens: 7000 });
    expect([learned.rpm(0), learned.tpm(0), learned.rpmSource()]).toEqual([300, 5000, "learned"]);
  });

  it("cuts a known limit to 90% per wave and recovers 2% per second", () => {
    const pace = new Pace({ rpm: 1000, tpm: 10_000 });
    expect(pace.onNewWave(0, 0)).toBe(true);
    expect(pace.rpm(0)).toBeCloseTo(900, 9);
    expect(pace.tpm(0)).toBeCloseTo(9000, 9);
    expect(pace.rpm(2500)).toBeCloseTo(950, 9);
    pace.onNewWave(0, 2500); // a second wave cuts from where the recovery had got to
    expect(pace.rpm(2500)).toBeCloseTo(855, 9);
    expect(pace.rpm(60_000)).toBe(1000);
  });

  it("with nothing known, estimates 90% of what was accepted; the rest of the wave refines it down", () => {
    const pace = new Pace();
    expect(pace.rpm(0)).toBeUndefined();
    expect(pace.onNewWave(0, 0)).toBe(false); // nothing to go on: the window must cut
    expect(pace.onNewWave(3000, 10)).toBe(true);
    expect(pace.rpm(10)).toBe(2700);
    expect(pace.rpmSource()).toBe("estimated");
    pace.onSameWave(2800); // 2520 < 2700
    expect(pace.rpm(10)).toBe(2520);
    pace.onSameWave(3500); // never up
    expect(pace.rpm(10)).toBe(2520);
  });

  it("probes an estimate upward while it is the bottleneck, faster the longer no 429 came", () => {
    const pace = new Pace();
    pace.onNewWave(1000, 0);
    pace.probe(1000, 0); // 2% per second right after a cut
    expect(pace.rpm(0)).toBeCloseTo(918, 9);
    const late = new Pace();
    late.onNewWave(1000, 0);
    late.probe(1000, 10_000); // 10 s after the cut: 2% × 3
    expect(late.rpm(0)).toBeCloseTo(954, 9);
  });

  it("holds at 98% of a cap measured from the spacing of 429s, after a cushion, and probes above it slowly", () => {
    const pace = new Pace();
    pace.onNewWave(9000, 0); // the opening: the server's burst inflates what was accepted
    expect(pace.rpm(0)).toBe(8100);
    expect(pace.onNewWave(9000, 1500, 3000)).toBe(true); // the second wave measures the cap
    expect(pace.measuredRpm).toBe(3000);
    // 90% right after the wave (the server's bucket refills a cushion), 98% four seconds later.
    expect(pace.rpm(1500)).toBeCloseTo(2700, 9);
    expect(pace.rpm(3500)).toBeCloseTo(2820, 9);
    expect(pace.rpm(5500)).toBeCloseTo(2940, 9);
    expect(pace.rpm(60_000)).toBeCloseTo(2940, 9);
    pace.onSameWave(2000); // the rest of the wave no longer moves it: the spacing does
    expect(pace.rpm(5500)).toBeCloseTo(2940, 9);
    pace.onSpacingRefined(2950); // a late 429 in the span just measured
    expect(pace.rpm(5500)).toBeCloseTo(2891, 9);
    pace.probe(1000, 1500); // 0.3% per second right after the wave (2% before a measure)
    expect(pace.rpm(60_000)).toBeCloseTo(2891 * 1.003, 9);
    const later = new Pace();
    later.onNewWave(9000, 0);
    later.onNewWave(9000, 1000, 3000);
    later.probe(1000, 21_000); // 20 s without a 429: 0.3% × 3
    expect(later.rpm(21_000)).toBeCloseTo(2940 * 1.009, 9);
  });

  it("believes a measure a little lower than the last only the second time in a row", () => {
    const pace = new Pace();
    pace.onNewWave(9000, 0);
    pace.onNewWave(9000, 1000, 3000);
    pace.onNewWave(9000, 3000, 2850); // a late arrival refused: measures the pace, not the cap
    expect(pace.measuredRpm).toBe(3000);
    pace.onNewWave(9000, 5000, 2820); // again: the cap did drop
    expect(pace.measuredRpm).toBe(2820);
    pace.onNewWave(9000, 7000, 1500); // far lower: believed at once
    expect(pace.measuredRpm).toBe(1500);
    expect(pace.rpm(60_000)).toBeCloseTo(1470, 9);
  });

  it("learned limits end the estimate", () => {
    const pace = new Pace();
    pace.onNewWave(1000, 0);
    pace.learn({ limitRequests: 3000 });
    expect([pace.rpm(0), pace.rpmSource(), pace.estimating]).toEqual([3000, "learned", false]);
  });
});
