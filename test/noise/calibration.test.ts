// Rates mean what the steering table says: slips per 100 letters, misspellings per listed word,
// message-level shares; most messages stay clean at the default activation; and sloppy
// personas are measurably noisier than careful ones.
import { describe, expect, it } from "vitest";
import { applyNoise, STRATEGIES } from "../../src/noise/apply.js";
import { Draft } from "../../src/noise/draft.js";
import { characterErrorRate } from "../../src/noise/edits.js";
import { lexicon } from "../../src/noise/lexicon.js";
import { PERSONA_TYPES } from "../../src/noise/report.js";
import { resolveSteering } from "../../src/noise/steering.js";
import { sentences } from "./support/sentences.js";

const MESSAGES = sentences(2000, 11);
/** Only the named strategies, no forced change: the raw rates. */
const only = (...names: string[]) => ({
  probability: 1,
  ensureChange: false,
  strategies: Object.fromEntries(
    STRATEGIES.filter((s) => !names.includes(s.name)).map((s) => [s.name, { enabled: false }]),
  ),
});
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe("calibration", () => {
  it("keyboard slips per 100 letters match the resolved rate", () => {
    const persona = PERSONA_TYPES.base!;
    const rate = resolveSteering(persona, {}, { seed: 0 }).rates.keyboard_slip!;
    let slips = 0;
    let letters = 0;
    MESSAGES.forEach((text, i) => {
      const result = applyNoise(text, persona, { ...only("keyboard_slip"), interactionId: `m${i}` });
      slips += result.edits.filter((e) => e.strategy === "keyboard_slip").length;
      for (const word of new Draft(text, { maxCer: 0.05, minContentKept: 0.9 }).words)
        letters += word.text.replace(/[^A-Za-z]/g, "").length;
    });
    const measured = (slips / letters) * 100;
    expect(measured).toBeGreaterThan(rate * 0.8);
    expect(measured).toBeLessThan(rate * 1.2);
  });

  it("misspellings per listed word match the resolved rate", () => {
    const persona = { ...PERSONA_TYPES.casual_mobile_beginner, channel: "desktop" };
    const rate = resolveSteering(persona, {}, { seed: 0 }).rates.misspelling!;
    const listed = lexicon().misspellings;
    let hits = 0;
    let eligible = 0;
    MESSAGES.forEach((text, i) => {
      const result = applyNoise(text, persona, { ...only("misspelling"), interactionId: `m${i}` });
      hits += result.edits.length;
      eligible += new Draft(text, { maxCer: 1, minContentKept: 0 }).words.filter((w) =>
        listed.has(w.lower),
      ).length;
    });
    expect(eligible).toBeGreaterThan(1000);
    // The guard rails refuse a few, so the measured rate may fall somewhat below.
    expect(hits / eligible).toBeGreaterThan(rate * 0.7);
    expect(hits / eligible).toBeLessThan(rate * 1.25);
  });

  it("message-level shares (lowercase, no final punctuation) match the resolved rates", () => {
    const persona = PERSONA_TYPES.casual_mobile_beginner!;
    const { rates } = resolveSteering(persona, {}, { seed: 0 });
    const sample = MESSAGES.slice(0, 1000);
    const share = (name: string) =>
      mean(
        sample.map((text, i) =>
          applyNoise(text, persona, { ...only(name), interactionId: `m${i}` }).changed ? 1 : 0,
        ),
      );
    expect(share("lowercase")).toBeCloseTo(rates.lowercase!, 1);
    expect(share("no_final_punctuation")).toBeCloseTo(rates.no_final_punctuation!, 1);
  });

  it("leaves most messages clean at the default activation, and exactly the gated share noised", () => {
    const results = MESSAGES.map((text, i) =>
      applyNoise(text, PERSONA_TYPES.base!, { interactionId: `m${i}` }),
    );
    const clean = results.filter((r) => !r.changed).length / results.length;
    expect(clean).toBeGreaterThan(0.7);
    expect(clean).toBeLessThan(0.8);
  });

  it("makes a casual, very casual beginner on a phone ≥ 1.5× as noisy as a highly formal expert on a desktop", () => {
    for (const seed of [0, 1, 2]) {
      const cer = (persona: Record<string, unknown>) =>
        mean(
          MESSAGES.slice(0, 600).map((text, i) =>
            characterErrorRate(text, applyNoise(text, persona, { seed, interactionId: `m${i}` }).noisy_text),
          ),
        );
      const sloppy = cer(PERSONA_TYPES.casual_mobile_beginner!);
      const careful = cer(PERSONA_TYPES.formal_desktop_expert!);
      expect(sloppy).toBeGreaterThanOrEqual(1.5 * careful);
      expect(sloppy).toBeLessThan(0.15);
      expect(careful).toBeLessThan(0.15);
      expect(careful).toBeGreaterThan(0);
    }
  });
});
