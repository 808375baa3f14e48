import { describe, expect, it } from "vitest";
import { InputError } from "../../src/config/errors.js";
import { parseSplitSpec, personaDraw, splitOf } from "../../src/exports/split.js";

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `persona_${from + i}`);

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).field;
  }
  throw new Error("expected an InputError");
}

describe("parseSplitSpec", () => {
  it("reads name=fraction pairs in order", () => {
    expect(parseSplitSpec("train=0.8,test=0.2")).toEqual([
      { name: "train", fraction: 0.8 },
      { name: "test", fraction: 0.2 },
    ]);
    expect(parseSplitSpec(" train = 0.7 , validation=0.1,test=0.2")).toHaveLength(3);
  });

  it.each([
    ["train=0.8,test=0.1", /sum to 0.9, not 1/],
    ["train=0.8;test=0.2", /must be a number/],
    ["train=abc,test=0.2", /must be a number in \(0, 1\]/],
    ["train=0,test=1", /must be a number/],
    ["train=0.5,train=0.5", /named twice/],
    ["tr-ain=1", /not a plain name/],
    ["train", /cannot read/],
  ])("rejects %s with an InputError on --split", (spec, message) => {
    expect(fieldOf(() => parseSplitSpec(spec))).toBe("--split");
    expect(() => parseSplitSpec(spec)).toThrow(message);
  });
});

describe("splitOf", () => {
  const spec = parseSplitSpec("train=0.8,test=0.2");

  it("is deterministic, and a different seed gives a different assignment", () => {
    const a = ids(200).map((id) => splitOf(id, spec, 7));
    expect(ids(200).map((id) => splitOf(id, spec, 7))).toEqual(a);
    expect(ids(200).map((id) => splitOf(id, spec, 8))).not.toEqual(a);
  });

  it("never moves a persona when others are added", () => {
    const before = new Map(ids(300).map((id) => [id, splitOf(id, spec, 1)]));
    // Assignments depend on (seed, persona) alone: computing more personas changes nothing.
    for (const id of ids(1000, 300)) splitOf(id, spec, 1);
    for (const [id, split] of before) expect(splitOf(id, spec, 1)).toBe(split);
  });

  it("follows the fractions over many personas", () => {
    const three = parseSplitSpec("train=0.7,validation=0.2,test=0.1");
    const counts = new Map<string, number>();
    for (const id of ids(20_000)) {
      const split = splitOf(id, three, 3);
      counts.set(split, (counts.get(split) ?? 0) + 1);
    }
    // Binomial standard deviation at n=20,000 is under 0.004: 0.015 is far outside noise.
    expect((counts.get("train") ?? 0) / 20_000).toBeCloseTo(0.7, 1);
    expect(Math.abs((counts.get("validation") ?? 0) / 20_000 - 0.2)).toBeLessThan(0.015);
    expect(Math.abs((counts.get("test") ?? 0) / 20_000 - 0.1)).toBeLessThan(0.015);
  });

  it("draws uniformly in [0, 1)", () => {
    const draws = ids(5000).map((id) => personaDraw(id, 0));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
  });
});
