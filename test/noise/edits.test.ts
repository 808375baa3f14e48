import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { characterErrorRate, levenshtein, replayEdits } from "../../src/noise/edits.js";

/** The textbook O(n·m) distance over code points, to check the banded one against. */
function naive(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

describe("levenshtein", () => {
  it("agrees with the textbook distance on arbitrary strings, emoji included", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.string({ unit: "grapheme", maxLength: 40 }),
        (a, b) => {
          expect(levenshtein(a, b)).toBe(naive(a, b));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("counts an emoji once and can ignore case", () => {
    expect(levenshtein("ok", "ok 😅")).toBe(2);
    expect(levenshtein("Hello", "hello")).toBe(1);
    expect(levenshtein("Hello", "hello", { ignoreCase: true })).toBe(0);
  });

  it("is fast on long, nearly equal texts", () => {
    const long = "lorem ipsum dolor sit amet ".repeat(2000);
    const noisy = `${long.slice(0, 20_000)}x${long.slice(20_001)}`;
    expect(levenshtein(long, noisy)).toBe(1);
  });
});

describe("characterErrorRate", () => {
  it("is the distance over the clean length", () => {
    expect(characterErrorRate("abcd", "abed")).toBe(0.25);
    expect(characterErrorRate("", "")).toBe(0);
    expect(characterErrorRate("", "x")).toBe(1);
  });
});

describe("replayEdits", () => {
  it("applies edits over the clean text in order", () => {
    const edits = [
      { start: 0, end: 1, before: "T", after: "t", strategy: "lowercase" },
      { start: 4, end: 4, before: "", after: "x", strategy: "keyboard_slip" },
      { start: 8, end: 9, before: ".", after: "", strategy: "no_final_punctuation" },
    ];
    expect(replayEdits("This one.", edits)).toBe("thisx one");
  });

  it("refuses overlapping edits and edits whose `before` does not match", () => {
    expect(() =>
      replayEdits("abc", [
        { start: 0, end: 2, before: "ab", after: "", strategy: "s" },
        { start: 1, end: 2, before: "b", after: "", strategy: "s" },
      ]),
    ).toThrow(RangeError);
    expect(() => replayEdits("abc", [{ start: 0, end: 1, before: "x", after: "", strategy: "s" }])).toThrow(
      RangeError,
    );
  });
});
