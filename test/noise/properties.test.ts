// Properties of applyNoise over arbitrary and generated input: determinism, exact replay,
// protected spans untouched, guard rails kept.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyNoise } from "../../src/noise/apply.js";
import { characterErrorRate, replayEdits } from "../../src/noise/edits.js";
import { protectedSpans } from "../../src/noise/protect.js";
import { stream } from "../../src/noise/random.js";
import { PERSONA_TYPES } from "../../src/noise/report.js";
import { PROTECTED_ITEMS, sentence } from "./support/sentences.js";

const personas = fc.constantFrom(...Object.values(PERSONA_TYPES));
const options = fc.record({
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  interactionId: fc.string({ maxLength: 8 }),
  turn: fc.integer({ min: 1, max: 20 }),
});
/** Chat-like text: prose pieces, protected items, emoji and arbitrary unicode mixed. */
const chatText = fc
  .array(
    fc.oneof(
      fc.integer().map((n) => sentence(stream("prop", n))),
      fc.constantFrom(...PROTECTED_ITEMS),
      fc.constantFrom("😅", "🙏🏽", "👩‍💻", "é", "ß", "İstanbul", "naïve café", "\n", "  "),
      fc.string({ unit: "grapheme", maxLength: 12 }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(" "));

describe("applyNoise properties", () => {
  it("is deterministic: the same inputs give the same result", () => {
    fc.assert(
      fc.property(chatText, personas, options, (text, persona, opts) => {
        const a = applyNoise(text, persona, { ...opts, probability: 1 });
        const b = applyNoise(text, { ...persona }, { ...opts, probability: 1 });
        expect(b).toEqual(a);
      }),
      { numRuns: 150 },
    );
  });

  it("records edits that replay to the noisy text exactly, on arbitrary strings", () => {
    fc.assert(
      fc.property(
        fc.oneof(chatText, fc.string({ unit: "grapheme", maxLength: 80 })),
        personas,
        options,
        (text, persona, opts) => {
          const result = applyNoise(text, persona, { ...opts, probability: 1 });
          expect(replayEdits(text, result.edits)).toBe(result.noisy_text);
          expect(result.original_text).toBe(text);
          expect(result.changed).toBe(result.noisy_text !== text);
          if (!result.changed) expect(result.edits).toEqual([]);
          // Edits are sorted, disjoint and each records a strategy listed in the result.
          for (let i = 1; i < result.edits.length; i++)
            expect(result.edits[i]!.start).toBeGreaterThanOrEqual(result.edits[i - 1]!.end);
          for (const edit of result.edits) expect(result.applied_strategies).toContain(edit.strategy);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never touches a protected span: each item appears verbatim and no edit overlaps a span", () => {
    fc.assert(
      fc.property(chatText, personas, options, (text, persona, opts) => {
        const result = applyNoise(text, persona, { ...opts, probability: 1 });
        for (const span of protectedSpans(text)) {
          expect(result.edits.filter((e) => e.start < span.end && e.end > span.start)).toEqual([]);
        }
        for (const item of PROTECTED_ITEMS)
          if (text.includes(item)) expect(result.noisy_text).toContain(item);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the guard rail: case-insensitive CER ≤ 5% per message, even for the sloppiest persona", () => {
    const sloppy = {
      ...PERSONA_TYPES.casual_mobile_beginner,
      emotional_state: "frustrated",
      time_sensitivity: "critical",
    };
    fc.assert(
      fc.property(fc.integer(), options, (n, opts) => {
        const text = sentence(stream("rail", n), n % 2 === 0);
        const result = applyNoise(text, sloppy, { ...opts, probability: 1 });
        expect(characterErrorRate(text, result.noisy_text, { ignoreCase: true })).toBeLessThanOrEqual(0.05);
        // Only whole-message lowercasing may go past the budget, and only by changing case.
        if (!result.applied_strategies.includes("lowercase"))
          expect(characterErrorRate(text, result.noisy_text)).toBeLessThanOrEqual(0.05);
      }),
      { numRuns: 300 },
    );
  });

  it("noises nothing when the gate is closed and everything it can when it is open", () => {
    const text = "Can you help me set up the printer? It's urgent.";
    expect(applyNoise(text, {}, { probability: 0 })).toMatchObject({
      changed: false,
      edits: [],
      layer: null,
    });
    for (let seed = 0; seed < 50; seed++)
      expect(applyNoise(text, {}, { probability: 1, seed }).changed).toBe(true);
  });
});
