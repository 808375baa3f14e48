// Private seeded random streams for the noise layers. Every (run seed, interaction, turn,
// strategy) draws from its own stream, so adding a strategy never shifts another's choices and a
// conversation can be reproduced alone. Math.random is never used. The generator is our own
// (noise/ may not import conversation/): xoshiro128** seeded through splitmix32 from
// shared/hash.ts's hash of the keys.

import { hashKeys as sharedHash } from "../shared/hash.js";

export type Random = () => number;

/** A 32-bit hash of a list of keys (shared/hash.ts; its own separator keeps noise streams apart). */
export function hashKeys(...keys: ReadonlyArray<string | number>): number {
  return sharedHash(keys, "\u0001");
}

/** splitmix32: spreads one 32-bit seed over xoshiro's four words of state. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128**: a small, fast, well-tested generator; returns floats in [0, 1). */
export function xoshiro128ss(seed: number): Random {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  // An all-zero state would stay zero forever.
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The stream for one purpose: `stream(seed, interactionId, turn, "keyboard_slip")`. */
export function stream(...keys: ReadonlyArray<string | number>): Random {
  return xoshiro128ss(hashKeys(...keys));
}

export function chance(random: Random, p: number): boolean {
  return p > 0 && random() < p;
}

/** Integer in [0, n). */
export function below(random: Random, n: number): number {
  return Math.floor(random() * n);
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick: no items");
  return items[below(random, items.length)] as T;
}

/** Index chosen with probability proportional to its weight; -1 when every weight is 0. */
export function weightedIndex(random: Random, weights: readonly number[]): number {
  const total = weights.reduce((sum, w) => sum + Math.max(0, w), 0);
  if (total <= 0) return -1;
  let point = random() * total;
  for (let i = 0; i < weights.length; i++) {
    point -= Math.max(0, weights[i] ?? 0);
    if (point < 0) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] ?? 0) > 0) return i;
  return -1;
}

/** A standard normal draw (Box–Muller; one of the pair is enough here). */
export function normal(random: Random): number {
  const u = Math.max(random(), Number.EPSILON);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A deterministic shuffle (Fisher–Yates) of a copy. */
export function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = below(random, i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** A weighted random order (Efraimidis–Spirakis): heavier items tend to come first. */
export function weightedOrder<T>(random: Random, items: readonly T[], weight: (item: T) => number): T[] {
  return items
    .map((item) => ({
      item,
      key: Math.log(Math.max(random(), Number.MIN_VALUE)) / Math.max(weight(item), 1e-9),
    }))
    .sort((a, b) => b.key - a.key)
    .map((entry) => entry.item);
}
