// Seeded random streams: deterministic, independent per key, and evenly spread.
import { describe, expect, it } from "vitest";
import { randomStream, seedFrom, weightedIndex } from "../../src/conversation/random.js";

describe("seeded random streams", () => {
  it("are deterministic and differ for keys that differ in one character", () => {
    expect(seedFrom(7, "assistant", 1)).toBe(seedFrom(7, "assistant", 1));
    const seeds = new Set<number>();
    for (let turn = 0; turn < 1000; turn++) seeds.add(seedFrom(7, "user", turn));
    expect(seeds.size).toBe(1000);
    // Key boundaries matter: ("ab", "c") is not ("a", "bc").
    expect(seedFrom("ab", "c")).not.toBe(seedFrom("a", "bc"));
  });

  it("spread first draws evenly across seeds (no clustering from similar keys)", () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(randomStream(i, "target_turns")() * 10)]!++;
    for (const count of buckets) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });

  it("weightedIndex follows the weights", () => {
    const random = randomStream(1, "pool");
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[weightedIndex(random, [0.2, 0.3, 0.5])]!++;
    expect(counts[0]! / 30_000).toBeCloseTo(0.2, 1);
    expect(counts[1]! / 30_000).toBeCloseTo(0.3, 1);
    expect(counts[2]! / 30_000).toBeCloseTo(0.5, 1);
    expect(weightedIndex(random, [0, 1, 0])).toBe(1);
  });
});
