// CapSpacing: the cap of a server without rate-limit headers, from the spacing of its 429s.
import { describe, expect, it } from "vitest";
import { CapSpacing } from "../../src/limits/cap-spacing.js";

describe("CapSpacing", () => {
  it("measures calls accepted between two waves over the time between their first refusals", () => {
    const spacing = new CapSpacing();
    spacing.refused(100); // the opening wave: calls 100, 101 and 103 refused
    expect(spacing.onWave(100, 2000)).toBeUndefined(); // nothing to measure from yet
    spacing.refused(101);
    spacing.refused(103);
    spacing.refused(250); // the next wave, 3 s later
    // Calls 100..249 (150), less the 3 refused: 147 accepted in 3 s = 2 940 per minute.
    expect(spacing.onWave(250, 5000)).toEqual({ rpm: 2940, spanMs: 3000, accepted: 147, sent: 150 });
  });

  it("takes a late 429 for a call in the span just measured off the accepted count", () => {
    const spacing = new CapSpacing();
    spacing.refused(0);
    spacing.onWave(0, 0);
    spacing.refused(60);
    expect(spacing.onWave(60, 1000)?.rpm).toBe(3540); // 59 accepted in 1 s
    spacing.refused(58); // answered after the wave that started at 60
    expect(spacing.latest).toEqual({ rpm: 3480, spanMs: 1000, accepted: 58, sent: 60 });
    spacing.refused(61); // the new wave's own: not in the span
    expect(spacing.latest?.accepted).toBe(58);
  });

  it("does not measure spans under a second (a few calls either way would move the rate a lot)", () => {
    const spacing = new CapSpacing();
    spacing.refused(0);
    spacing.onWave(0, 0);
    spacing.refused(20);
    expect(spacing.onWave(20, 400)).toBeUndefined();
    expect(spacing.latest).toBeUndefined();
    spacing.refused(80); // measured from the last wave (400 ms), not the first
    expect(spacing.onWave(80, 1600)).toEqual({ rpm: 2950, spanMs: 1200, accepted: 59, sent: 60 });
  });
});
