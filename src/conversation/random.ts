// Private seeded random streams. Every random choice in a conversation (model, target
// turns, feedback coin, noise) draws from its own stream keyed by what it is for, so that
// adding a draw in one place never shifts the choices made in another, and `--seed`
// reproduces a run. Math.random is never used.

import { hashKeys } from "../shared/hash.js";

export type Random = () => number;

/** A 32-bit seed from any list of keys (seed, interaction id, turn, purpose, …). */
export function seedFrom(...keys: ReadonlyArray<string | number>): number {
  return hashKeys(keys);
}

/** mulberry32: tiny, fast and good enough for sampling (not for cryptography). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random stream for one purpose: `randomStream(task.seed, "target_turns")`. */
export function randomStream(...keys: ReadonlyArray<string | number>): Random {
  return mulberry32(seedFrom(...keys));
}

/** Integer in [min, max], both inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Index chosen with probability proportional to its weight (weights ≥ 0, not all 0). */
export function weightedIndex(random: Random, weights: readonly number[]): number {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let point = random() * total;
  for (let i = 0; i < weights.length; i++) {
    point -= weights[i] ?? 0;
    if (point < 0) return i;
  }
  // Floating-point leftovers land on the last positive weight.
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] ?? 0) > 0) return i;
  throw new Error("weightedIndex: all weights are zero");
}
