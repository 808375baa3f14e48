// Bounded-memory counters for `convosim stats`: a capped count table (top values plus
// "other") and a length distribution that answers mean/p50/p90/max and a fixed-bin histogram
// without keeping every value. Memory depends on the caps and on the number of distinct
// lengths, never on the number of interactions.

/** A count per key; JSON-ready. */
export type Counts = Record<string, number>;

export const bump = (table: Counts, key: string, by = 1): void => {
  table[key] = (table[key] ?? 0) + by;
};

/** Entries sorted by count (descending), then key, so output is stable across runs. */
export function sortedCounts(table: Counts): Array<[string, number]> {
  return Object.entries(table).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The label under which values beyond a table's cap are counted. */
export const OTHER = "(other)";

/**
 * Counts values but tracks at most `cap` distinct ones: a value first seen once the table is
 * full is counted under OTHER. For the skewed distributions of persona features and failure
 * reasons this keeps the frequent values exact; `distinct` says how many were seen in all
 * (exact up to the cap, then a lower bound).
 */
export class CappedCounter {
  readonly #counts = new Map<string, number>();
  #other = 0;
  #overflowed = false;

  constructor(readonly cap: number) {}

  add(value: string, by = 1): void {
    const seen = this.#counts.get(value);
    if (seen !== undefined) this.#counts.set(value, seen + by);
    else if (this.#counts.size < this.cap) this.#counts.set(value, by);
    else {
      this.#other += by;
      this.#overflowed = true;
    }
  }

  /** The `top` most frequent values; the rest (and values past the cap) summed under OTHER. */
  top(top: number): { values: Counts; distinct: number; distinct_is_lower_bound: boolean } {
    const entries = [...this.#counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const values: Counts = {};
    let other = this.#other;
    entries.forEach(([key, count], i) => {
      if (i < top) values[key] = count;
      else other += count;
    });
    if (other > 0) values[OTHER] = other;
    return {
      values,
      distinct: this.#counts.size + (this.#overflowed ? 1 : 0),
      distinct_is_lower_bound: this.#overflowed,
    };
  }
}

/** Summary of a distribution of non-negative numbers. */
export interface Distribution {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  max: number;
  /** Counts per fixed bin: `edges[i] <= value < edges[i + 1]`; the last bin is open-ended. */
  histogram: { edges: number[]; counts: number[] };
}

/** Character-length bins used by every length histogram, so roles can be compared bin by bin. */
export const LENGTH_EDGES: readonly number[] = [0, 50, 100, 200, 500, 1000, 2000, 5000];

/**
 * Exact below 16,384; above, values are rounded down to 7 significant bits (≤ 1/64 relative
 * error), so the number of distinct keys stays bounded (~16k + 64 per power of two).
 */
function quantize(value: number): number {
  const v = Math.max(0, Math.floor(value));
  if (v < 16_384) return v;
  const shift = Math.floor(Math.log2(v)) - 6;
  return Math.floor(v / 2 ** shift) * 2 ** shift;
}

/** Integer-valued distribution (message lengths in characters). */
export class LengthTally {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #sum = 0;
  #max = 0;

  constructor(readonly edges: readonly number[] = LENGTH_EDGES) {}

  add(value: number): void {
    this.#count++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
    const key = quantize(value);
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** The smallest recorded value v such that at least q of all values are ≤ v. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (const key of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(key) ?? 0;
      if (seen >= rank) return key;
    }
    return this.#max;
  }

  summary(): Distribution {
    const counts = this.edges.map(() => 0);
    for (const [value, count] of this.#counts) {
      let bin = 0;
      while (bin + 1 < this.edges.length && value >= (this.edges[bin + 1] ?? Number.POSITIVE_INFINITY)) bin++;
      counts[bin] = (counts[bin] ?? 0) + count;
    }
    return {
      count: this.#count,
      mean: this.#count > 0 ? round(this.#sum / this.#count, 2) : 0,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      max: this.#max,
      histogram: { edges: [...this.edges], counts },
    };
  }
}

/** Rates in [0, 1] (character error rates), kept in 0.5 % bins: percentiles are the lower
 *  edge of their bin (within 0.005 below the exact value). */
export class RateTally {
  readonly #bins = new Array<number>(201).fill(0);
  #count = 0;
  #sum = 0;
  #max = 0;

  add(rate: number): void {
    const r = Math.min(1, Math.max(0, rate));
    this.#count++;
    this.#sum += r;
    if (r > this.#max) this.#max = r;
    const bin = Math.floor(r * 200);
    this.#bins[bin] = (this.#bins[bin] ?? 0) + 1;
  }

  #quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let bin = 0; bin < this.#bins.length; bin++) {
      seen += this.#bins[bin] ?? 0;
      if (seen >= rank) return bin / 200;
    }
    return this.#max;
  }

  /** Histogram over 0–1 %, 1–2 %, 2–5 %, 5–10 %, 10–20 %, ≥ 20 % (edges as fractions). */
  summary(): Distribution {
    const edges = [0, 0.01, 0.02, 0.05, 0.1, 0.2];
    const counts = edges.map(() => 0);
    this.#bins.forEach((count, bin) => {
      const value = bin / 200;
      let i = 0;
      while (i + 1 < edges.length && value >= (edges[i + 1] ?? 1)) i++;
      counts[i] = (counts[i] ?? 0) + count;
    });
    return {
      count: this.#count,
      mean: this.#count > 0 ? round(this.#sum / this.#count, 4) : 0,
      p50: this.#quantile(0.5),
      p90: this.#quantile(0.9),
      max: round(this.#max, 4),
      histogram: { edges, counts },
    };
  }
}

export const round = (value: number, digits: number): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};
