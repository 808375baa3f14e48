import { describe, expect, it } from "vitest";
import { applyNoise } from "../../src/noise/apply.js";
import {
  distribution,
  editOperations,
  formatRealismReport,
  realismReport,
  summarize,
} from "../../src/noise/report.js";
import { sentences } from "./support/sentences.js";

describe("editOperations", () => {
  it("classifies substitutions, insertions, deletions, transpositions and case changes", () => {
    expect(editOperations({ before: "e", after: "r" })).toMatchObject({
      substitute: 1,
      insert: 0,
      delete: 0,
    });
    expect(editOperations({ before: "", after: " 😅" })).toMatchObject({ insert: 2 });
    expect(editOperations({ before: "?", after: "" })).toMatchObject({ delete: 1 });
    expect(editOperations({ before: "he", after: "eh" })).toMatchObject({ transpose: 1, substitute: 0 });
    expect(editOperations({ before: "T", after: "t" })).toMatchObject({ case: 1, substitute: 0 });
    expect(editOperations({ before: "ite", after: "ate" })).toMatchObject({
      substitute: 1,
      insert: 0,
      delete: 0,
    });
  });
});

describe("distribution", () => {
  it("gives mean, median, p90 and max", () => {
    expect(distribution([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1])).toEqual({ mean: 0.15, median: 0, p90: 1, max: 1 });
    expect(distribution([])).toEqual({ mean: 0, median: 0, p90: 0, max: 0 });
  });
});

describe("realism report", () => {
  const messages = sentences(200, 5, true);

  it("summarises clean share, CER, operations and token inflation per persona type", () => {
    const [base, sloppy] = realismReport(messages, {
      base: {},
      sloppy: { formality_level: "very_casual", tech_proficiency: "beginner", channel: "mobile_raw" },
    });
    expect(base!.persona).toBe("base");
    expect(base!.messages).toBe(200);
    expect(base!.clean_share).toBeGreaterThan(0.6);
    expect(base!.replay_failures).toBe(0);
    expect(base!.protected_violations).toBe(0);
    expect(sloppy!.channel).toBe("mobile_raw");
    expect(sloppy!.cer.mean).toBeGreaterThan(base!.cer.mean);
    expect(sloppy!.cer_ignore_case.max).toBeLessThanOrEqual(0.05);
    expect(sloppy!.content_words_kept).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(sloppy!.token_inflation - 1)).toBeLessThan(0.05);
    const shares = Object.values(sloppy!.operation_shares).reduce((a, b) => a + b, 0);
    expect(shares).toBeCloseTo(1);
    expect(formatRealismReport([base!, sloppy!])).toMatch(/sloppy {2}\(channel mobile_raw;[\s\S]*CER all/);
  });

  it("counts replay failures and protected-span violations in foreign results", () => {
    const text = "See https://example.com now";
    const good = applyNoise(text, {}, { probability: 0 });
    const bad = {
      ...good,
      noisy_text: "See https://exmple.com now",
      changed: true,
      edits: [{ start: 14, end: 15, before: "a", after: "", strategy: "keyboard_slip" }],
    };
    const summary = summarize([good, bad, { ...bad, edits: [] }]);
    expect(summary.protected_violations).toBe(1);
    expect(summary.replay_failures).toBe(1);
    expect(summary.clean_share).toBeCloseTo(2 / 3);
  });
});
