// Private seeded random streams. Every random choice in a conversation (model, target
// turns, feedback coin, noise) draws from its own stream keyed by what it is for, so that
// adding a draw in one place never shifts the choices made in another, and `--seed`
// reproduces a run. Math.random is never used.

export type Random = () => number;

/**
 * A 32-bit seed from any list of keys (seed, interaction id, turn, purpose, …): FNV-1a over
 * the keys, finished with murmur3's avalanche so that keys differing in one character give
 * unrelated seeds. Not cryptographic, and it needs not be: it is called several times per model
 * call, where sha256 was a visible cost.
 */
export function seedFrom(...keys: ReadonlyArray<string | number>): number {
  let hash = 0x811c9dc5;
  for (let k = 0; k < keys.length; k++) {
    const text = k === 0 ? String(keys[k]) : `\u0000${keys[k]}`;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
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
