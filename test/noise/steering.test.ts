import { describe, expect, it } from "vitest";
import { applyNoise, applyNoiseBatch } from "../../src/noise/apply.js";
import { layout } from "../../src/noise/keyboard.js";
import {
  habitsOf,
  personaKeyOf,
  resolveSteering,
  rowRate,
  sloppinessOf,
  traitsOf,
} from "../../src/noise/steering.js";

describe("traits and channel", () => {
  it("derives behavioural traits from persona features and ignores unknown ones", () => {
    expect(
      traitsOf({
        communication_style: "casual",
        formality_level: "very_casual",
        tech_proficiency: "beginner",
      }),
    ).toEqual(["casual", "very_casual", "low_skill"]);
    expect(
      traitsOf({
        communication_style: "professional",
        formality_level: "highly_formal",
        tech_proficiency: "expert",
      }),
    ).toEqual(["formal", "highly_formal", "expert"]);
    expect(
      traitsOf({
        emotional_state: "Frustrated",
        scenario: "in_a_rush",
        native_language: "Portuguese",
        multi_intent_rate: "often_multi",
      }),
    ).toEqual(["frustrated", "rushed", "learner", "multi_intent_often"]);
    // Demographics never steer noise.
    expect(traitsOf({ age_band: "60p", favourite_colour: "blue", native_language: "English" })).toEqual([]);
  });

  it("lets formality_level decide the register over communication_style", () => {
    expect(traitsOf({ communication_style: "technical", formality_level: "casual" })).toEqual(["casual"]);
    expect(traitsOf({ communication_style: "professional" })).toEqual(["formal"]);
  });

  it("chooses the channel: forced, then channel, then device; a phone draws autocorrect or raw per persona", () => {
    expect(resolveSteering({}).channel).toBe("desktop");
    expect(resolveSteering({ channel: "voice" }).channel).toBe("voice");
    expect(resolveSteering({ device: "desktop" }, {}, { channel: "paste" }).channel).toBe("paste");
    const phones = Array.from(
      { length: 40 },
      (_, i) => resolveSteering({ device: "mobile", persona_id: `p${i}` }).channel,
    );
    expect(new Set(phones)).toEqual(new Set(["mobile_raw", "mobile_autocorrect"]));
    // The same persona always gets the same channel.
    expect(resolveSteering({ device: "mobile", persona_id: "p1" }).channel).toBe(phones[1]);
  });
});

describe("rates", () => {
  it("multiplies the base by the traits' multipliers and caps it", () => {
    const row = { base: 0.6, cap: 4, multipliers: { casual: 1.5, mobile_raw: 2.5, low_skill: 1.8 } };
    expect(rowRate(row, ["casual"])).toBeCloseTo(0.9);
    expect(rowRate(row, [])).toBe(0.6);
    const capped = resolveSteering({ persona_id: "x" }, { keyboard_slip: { base: 50 } });
    expect(capped.rates.keyboard_slip).toBe(4);
    // Chances never exceed 1 even without a cap.
    expect(resolveSteering({ persona_id: "x" }, { lowercase: { base: 7 } }).rates.lowercase).toBe(1);
  });

  it("averages the `set` values of the persona's traits before multiplying", () => {
    const row = { base: 0.1, set: { casual: 0.55, mobile_raw: 0.45 }, multipliers: { very_casual: 1.2 } };
    expect(rowRate(row, ["casual", "mobile_raw"])).toBeCloseTo(0.5);
    expect(rowRate(row, ["casual", "very_casual"])).toBeCloseTo(0.66);
  });

  it("takes config overrides by row and trait", () => {
    const features = { persona_id: "y", communication_style: "casual" };
    const base = resolveSteering(features);
    const tuned = resolveSteering(features, {
      lowercase: { set: { casual: 0 } },
      keyboard_slip: { base: 1.2 },
    });
    expect(tuned.rates.lowercase).toBe(0);
    expect(tuned.rates.keyboard_slip).toBeCloseTo(base.rates.keyboard_slip! * 2);
    expect(tuned.rates.emoji).toBe(base.rates.emoji);
  });

  it("draws a lognormal sloppiness with mean ≈ 1 that makes two casual users differ", () => {
    const draws = Array.from({ length: 2000 }, (_, i) => sloppinessOf({ persona_id: `p${i}` }));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.95);
    expect(mean).toBeLessThan(1.05);
    const logs = draws.map(Math.log);
    const logMean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - logMean) ** 2, 0) / logs.length);
    expect(sd).toBeGreaterThan(0.35);
    expect(sd).toBeLessThan(0.45);
    expect(sloppinessOf({ persona_id: "a" })).toBe(sloppinessOf({ persona_id: "a" }));
  });

  it("raises the L1 error rows over the turns (fatigue), capped", () => {
    const f = { persona_id: "z" };
    const first = resolveSteering(f, {}, { turn: 1 });
    const tenth = resolveSteering(f, {}, { turn: 10 });
    const late = resolveSteering(f, {}, { turn: 500 });
    expect(first.fatigue).toBe(1);
    expect(tenth.rates.keyboard_slip).toBeGreaterThan(first.rates.keyboard_slip!);
    expect(tenth.rates.lowercase).toBe(first.rates.lowercase);
    expect(late.fatigue).toBe(1.5);
    expect(resolveSteering(f, {}, { turn: 1, afterUnhelpfulReply: true }).fatigue).toBeCloseTo(1.2);
  });
});

describe("idiosyncrasy", () => {
  it("gives each persona a few habit misspellings that recur across its turns", () => {
    const persona = { persona_id: "habitual", formality_level: "very_casual" };
    const habits = habitsOf(personaKeyOf(persona));
    expect(habits.size).toBe(3);
    const [word, form] = [...habits][0]!;
    const text = `so ${word} is the thing, and ${word} again, ${word} once more`;
    const results = applyNoiseBatch(Array(30).fill(text), persona, {
      probability: 1,
      steering: { idiosyncrasy: { base: 0.9 } },
    });
    const seen = results.flatMap((r) =>
      r.edits.filter((e) => e.strategy === "idiosyncrasy").map(() => r.noisy_text),
    );
    expect(seen.length).toBeGreaterThan(20);
    for (const noisy of seen) expect(noisy).toContain(form);
    // Another persona has other habits.
    expect([...habitsOf(personaKeyOf({ persona_id: "other" }))]).not.toEqual([...habits]);
  });
});

describe("keyboard layouts", () => {
  it("has different neighbours on a desktop and a phone", () => {
    const keys = (name: "qwerty_desktop" | "qwerty_phone", key: string) =>
      layout(name)
        .neighbours.get(key)!
        .map(([k]) => k)
        .sort();
    expect(keys("qwerty_desktop", "a")).toEqual(["q", "s", "w", "z"]);
    expect(keys("qwerty_phone", "a")).toEqual(["q", "s", "w"]);
    expect(keys("qwerty_desktop", "g")).toEqual(expect.arrayContaining(["f", "h", "t", "y", "v", "b"]));
  });

  it("substitutes a neighbour key of the persona's own layout", () => {
    const text = "the quick brown fox jumps over the lazy dog and keeps running far away from here";
    const only = { keyboard_slip: { mandatory: true }, lowercase: { enabled: false } };
    for (const [channel, name] of [
      ["mobile_raw", "qwerty_phone"],
      ["desktop", "qwerty_desktop"],
    ] as const) {
      const near = layout(name).neighbours;
      let substitutions = 0;
      for (let seed = 0; seed < 150; seed++) {
        const result = applyNoise(text, { channel }, { probability: 1, strategies: only, seed });
        expect(result.channel).toBe(channel);
        for (const e of result.edits) {
          if (e.strategy !== "keyboard_slip" || !/^[a-z]$/.test(e.before) || !/^[a-z]$/.test(e.after))
            continue;
          substitutions++;
          expect(near.get(e.before)!.map(([k]) => k)).toContain(e.after);
        }
      }
      expect(substitutions).toBeGreaterThan(20);
    }
  });
});

it("applyNoise accepts a persona with no features at all", () => {
  expect(applyNoise("Hello there, how are you?", {}, { probability: 1 }).changed).toBe(true);
});
