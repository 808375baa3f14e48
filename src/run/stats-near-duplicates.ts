// Near-duplicate conversations: pairs whose user turns, concatenated, are near-identical.
// Each conversation is reduced as it streams by to a MinHash signature of 64 32-bit values
// over its word 3-gram shingles (256 bytes, plus its id); at most MAX_SIGNATURES are kept.
// At the end, locality-sensitive hashing (16 bands of 4 values) finds candidate pairs and
// the share of equal signature values, an estimate of the Jaccard similarity of the two
// shingle sets, decides. Identical signatures are grouped first, so a run with a thousand
// copies of one conversation costs one group, not half a million comparisons.
import { combine32, hash32, mix32 } from "./stats-text.js";

export const MINHASH_SIZE = 64;
const BANDS = 16;
const ROWS = MINHASH_SIZE / BANDS;
/** Word n-gram size of the shingles. */
export const SHINGLE_WORDS = 3;
/** Estimated Jaccard similarity from which two conversations count as near-duplicates. */
export const NEAR_DUPLICATE_THRESHOLD = 0.8;
/** Conversations whose signatures are kept (256 bytes each, about 51 MB at the cap). */
export const MAX_SIGNATURES = 200_000;
/** Candidate pairs examined at most; past it the pair count is a lower bound. */
export const MAX_PAIR_CHECKS = 5_000_000;
const EXAMPLES = 5;
const MATCHES_NEEDED = Math.ceil(NEAR_DUPLICATE_THRESHOLD * MINHASH_SIZE);
const CHUNK = 4_096; // signatures per storage chunk (1 MB)

/** One seed per MinHash function: value_k(shingle) = mix32(shingle ^ SEEDS[k]), a permutation. */
const SEEDS = Uint32Array.from({ length: MINHASH_SIZE }, (_, k) => hash32(`minhash:${k}`));

/** The word 3-gram shingles of a token list as 32-bit hashes (built from the words' hashes);
 *  a text of one or two words is one shingle; no words, no shingles. */
export function shingles(tokens: readonly string[]): Set<number> {
  const out = new Set<number>();
  if (tokens.length === 0) return out;
  const hashes = tokens.map((token) => hash32(token));
  const [a = 0, b = 0] = hashes;
  if (hashes.length < SHINGLE_WORDS) {
    out.add(hashes.length === 1 ? a : combine32(a, b));
    return out;
  }
  for (let i = 0; i + SHINGLE_WORDS <= hashes.length; i++)
    out.add(combine32(combine32(hashes[i] ?? 0, hashes[i + 1] ?? 0), hashes[i + 2] ?? 0, SHINGLE_WORDS));
  return out;
}

/** The MinHash signature of a non-empty shingle set. */
export function minhash(set: Iterable<number>): Uint32Array {
  const signature = new Uint32Array(MINHASH_SIZE).fill(0xffffffff);
  for (const shingle of set) {
    for (let k = 0; k < MINHASH_SIZE; k++) {
      // mix32 inlined: this loop runs 64 times per shingle of every conversation.
      let h = (shingle ^ (SEEDS[k] as number)) >>> 0;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      h >>>= 0;
      if (h < (signature[k] as number)) signature[k] = h;
    }
  }
  return signature;
}

/** Share of equal values: an unbiased estimate of the Jaccard similarity (± 0.05 at 0.8). */
export function signatureSimilarity(a: Uint32Array, b: Uint32Array): number {
  let equal = 0;
  for (let k = 0; k < MINHASH_SIZE; k++) if (a[k] === b[k]) equal++;
  return equal / MINHASH_SIZE;
}

export interface NearDuplicatePair {
  a: string;
  b: string;
  /** Estimated Jaccard similarity of their user turns' 3-gram shingles. */
  similarity: number;
}

export interface NearDuplicateStats {
  threshold: number;
  /** Conversations with at least one word of user text whose signature was kept. */
  conversations_compared: number;
  /** Conversations past MAX_SIGNATURES, not compared. */
  conversations_not_compared: number;
  /** Pairs of conversations with an estimated similarity ≥ threshold. */
  pairs: number;
  /** Conversations in at least one such pair. */
  conversations_in_pairs: number;
  /** True when MAX_PAIR_CHECKS was reached: more pairs may exist. */
  pairs_is_lower_bound: boolean;
  /** Up to five pairs, the most similar first (then by id). */
  examples: NearDuplicatePair[];
}

/** A group of conversations with identical signatures, represented by its first member. */
interface Group {
  rep: number;
  size: number;
  /** The two smallest ids (by code unit order) of the group. */
  first: string;
  second?: string;
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface NearDuplicateLimits {
  /** Signatures kept (default MAX_SIGNATURES); later conversations are not compared. */
  maxSignatures?: number;
  /** Candidate pairs examined (default MAX_PAIR_CHECKS). */
  maxPairChecks?: number;
}

export class NearDuplicateFinder {
  readonly #ids: string[] = [];
  readonly #chunks: Uint32Array[] = [];
  #notCompared = 0;
  readonly #maxSignatures: number;
  readonly #maxPairChecks: number;

  constructor(limits: NearDuplicateLimits = {}) {
    // Indices are packed with 32-bit keys into one float for sorting: at most 2^18 of them.
    this.#maxSignatures = Math.min(limits.maxSignatures ?? MAX_SIGNATURES, 262_144);
    this.#maxPairChecks = limits.maxPairChecks ?? MAX_PAIR_CHECKS;
  }

  /** Adds a conversation by its user turns' word tokens (no words: not compared). */
  add(id: string, tokens: readonly string[]): void {
    if (tokens.length === 0) return;
    if (this.#ids.length >= this.#maxSignatures) {
      this.#notCompared++;
      return;
    }
    const index = this.#ids.length;
    if (index % CHUNK === 0) this.#chunks.push(new Uint32Array(CHUNK * MINHASH_SIZE));
    const chunk = this.#chunks[this.#chunks.length - 1] as Uint32Array;
    chunk.set(minhash(shingles(tokens)), (index % CHUNK) * MINHASH_SIZE);
    this.#ids.push(id);
  }

  #signature(index: number): Uint32Array {
    const chunk = this.#chunks[Math.floor(index / CHUNK)] as Uint32Array;
    const start = (index % CHUNK) * MINHASH_SIZE;
    return chunk.subarray(start, start + MINHASH_SIZE);
  }

  /** Indices sorted by a 32-bit key (key and index packed in one float: n < 2^18). */
  #sortedBy(count: number, key: (i: number) => number): Uint32Array {
    const packed = new Float64Array(count);
    for (let i = 0; i < count; i++) packed[i] = key(i) * 262_144 + i;
    packed.sort();
    return Uint32Array.from(packed, (p) => p % 262_144);
  }

  /** Groups identical signatures (equal hashes are checked value by value). */
  #groups(): Group[] {
    const n = this.#ids.length;
    const full = (i: number) => {
      const s = this.#signature(i);
      let h = 0;
      for (let k = 0; k < MINHASH_SIZE; k++) h = mix32(h ^ (s[k] ?? 0));
      return h;
    };
    const keys = Uint32Array.from({ length: n }, (_, i) => full(i));
    const order = this.#sortedBy(n, (i) => keys[i] ?? 0);
    const groups: Group[] = [];
    let run: Group[] = [];
    let runKey = -1;
    for (const i of order) {
      if (keys[i] !== runKey) {
        run = [];
        runKey = keys[i] ?? 0;
      }
      const id = this.#ids[i] ?? "";
      const same = run.find((g) => equalRange(this.#signature(g.rep), this.#signature(i), 0, MINHASH_SIZE));
      if (!same) {
        const group: Group = { rep: i, size: 1, first: id };
        run.push(group);
        groups.push(group);
        continue;
      }
      same.size++;
      if (byId(id, same.first) < 0) [same.first, same.second] = [id, same.first];
      else if (same.second === undefined || byId(id, same.second) < 0) same.second = id;
    }
    return groups;
  }

  summary(): NearDuplicateStats {
    const groups = this.#groups();
    let pairs = 0;
    let checks = 0;
    let lowerBound = false;
    const inPairs = new Uint8Array(groups.length);
    const examples: NearDuplicatePair[] = [];
    const example = (a: string, b: string, similarity: number) => {
      const [x, y] = byId(a, b) <= 0 ? [a, b] : [b, a];
      examples.push({ a: x, b: y, similarity });
      examples.sort((p, q) => q.similarity - p.similarity || byId(p.a, q.a) || byId(p.b, q.b));
      if (examples.length > EXAMPLES) examples.length = EXAMPLES;
    };
    groups.forEach((group, g) => {
      if (group.size < 2) return;
      pairs += (group.size * (group.size - 1)) / 2;
      inPairs[g] = 1;
      example(group.first, group.second ?? group.first, 1);
    });
    const sig = groups.map((group) => this.#signature(group.rep));
    bands: for (let band = 0; band < BANDS; band++) {
      const from = band * ROWS;
      const bandKey = (g: number) => {
        const s = sig[g] as Uint32Array;
        let h = band;
        for (let k = from; k < from + ROWS; k++) h = mix32(h ^ (s[k] ?? 0));
        return h;
      };
      const keys = Uint32Array.from({ length: groups.length }, (_, g) => bandKey(g));
      const order = this.#sortedBy(groups.length, (g) => keys[g] ?? 0);
      for (let start = 0; start < order.length; ) {
        let end = start + 1;
        while (end < order.length && keys[order[end] ?? 0] === keys[order[start] ?? 0]) end++;
        for (let x = start; x < end; x++) {
          for (let y = x + 1; y < end; y++) {
            if (++checks > this.#maxPairChecks) {
              lowerBound = true;
              break bands;
            }
            const g = order[x] ?? 0;
            const h = order[y] ?? 0;
            const a = sig[g] as Uint32Array;
            const b = sig[h] as Uint32Array;
            // Counted in the first band where the two agree (and only if they truly agree here).
            if (!equalRange(a, b, from, from + ROWS)) continue;
            let earlier = false;
            for (let e = 0; e < band && !earlier; e++) earlier = equalRange(a, b, e * ROWS, (e + 1) * ROWS);
            if (earlier) continue;
            let equal = 0;
            for (let k = 0; k < MINHASH_SIZE; k++) if (a[k] === b[k]) equal++;
            if (equal < MATCHES_NEEDED) continue;
            const gg = groups[g] as Group;
            const hh = groups[h] as Group;
            pairs += gg.size * hh.size;
            inPairs[g] = 1;
            inPairs[h] = 1;
            example(gg.first, hh.first, equal / MINHASH_SIZE);
          }
        }
        start = end;
      }
    }
    let conversationsInPairs = 0;
    groups.forEach((group, g) => {
      if (inPairs[g]) conversationsInPairs += group.size;
    });
    return {
      threshold: NEAR_DUPLICATE_THRESHOLD,
      conversations_compared: this.#ids.length,
      conversations_not_compared: this.#notCompared,
      pairs,
      conversations_in_pairs: conversationsInPairs,
      pairs_is_lower_bound: lowerBound,
      examples: examples.map((p) => ({ ...p, similarity: Math.round(p.similarity * 100) / 100 })),
    };
  }
}

function equalRange(a: Uint32Array, b: Uint32Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (a[k] !== b[k]) return false;
  return true;
}
