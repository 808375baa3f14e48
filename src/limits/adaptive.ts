// The two controllers a budget uses when the provider's limits are not (fully) known.
//
// ConcurrencyWindow — while no rate is known, a bound on calls in flight for a server that
// refuses calls without letting anything through to estimate a rate from (a wave of 429s with
// nothing accepted). It bounds nothing until then (the opening is paced by opening-ramp.ts, whose
// rate grows with the clock rather than per round trip); such a wave halves the calls in flight,
// after which it grows by about one per round trip while it is the bottleneck. As soon as a rate
// is known (configured, learned from headers, or estimated after a wave of 429s) the rate governs
// and the window steps aside. `initial` sets a bound from the start (slow start: +3 per success,
// fourfold per round trip, up to the first 429).
//
// RateMeter — events over the last second, in fixed slots. Admissions minus 429s over the last
// second is what the endpoint accepted when a 429 arrives: the basis of a rate estimate when the
// server sends no headers. (Counting successes instead would lag by a whole call latency.)

export interface ConcurrencyWindowOptions {
  /** Calls in flight allowed at the start. Default: max (no bound before the first cut). */
  initial?: number;
  /** Never below this. Default 1. */
  min?: number;
  /** Never above this. Default 10 000 (the pipeline's max_workers bounds it long before). */
  max?: number;
  /** Multiplier on a 429. Default 0.5. */
  decrease?: number;
}

export class ConcurrencyWindow {
  #limit: number;
  #threshold = Number.POSITIVE_INFINITY;
  readonly #min: number;
  readonly #max: number;
  readonly #decrease: number;

  constructor(options: ConcurrencyWindowOptions = {}) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max ?? 10_000);
    this.#decrease = options.decrease ?? 0.5;
    this.#limit = Math.min(this.#max, Math.max(this.#min, options.initial ?? this.#max));
  }

  /** Calls that may be in flight now. */
  get allowed(): number {
    return Math.floor(this.#limit);
  }

  /**
   * A call succeeded. The window grows only while it was the bottleneck (`binding`): a window that
   * is never full proves nothing about the server, and growing it anyway would let a later burst
   * of demand through unchecked.
   */
  onSuccess(binding: boolean): void {
    if (!binding) return;
    // Slow start (+3 per success: ×4 per round trip), then +1 per round trip after a 429.
    this.#limit += this.#limit < this.#threshold ? 3 : 1 / this.#limit;
    if (this.#limit > this.#max) this.#limit = this.#max;
  }

  /**
   * A 429 from a new wave (the budget filters out the rest of a wave already answered), with
   * `inFlight` calls in flight: the cut is from what was in use, not from a bound never reached.
   */
  onRateLimited(inFlight = Number.POSITIVE_INFINITY): void {
    this.#limit = Math.max(this.#min, Math.min(this.#limit, Math.max(1, inFlight)) * this.#decrease);
    this.#threshold = this.#limit;
  }
}

const SLOTS = 20;
const SLOT_MS = 50;
const WINDOW_MS = SLOTS * SLOT_MS;

/** Counts events over the last second in 50 ms slots: O(1) per event, no allocation. */
export class RateMeter {
  readonly #counts = new Float64Array(SLOTS);
  readonly #stamps = new Float64Array(SLOTS).fill(-1);

  record(now: number): void {
    const slot = Math.floor(now / SLOT_MS);
    const i = slot % SLOTS;
    if (this.#stamps[i] !== slot) {
      this.#stamps[i] = slot;
      this.#counts[i] = 0;
    }
    this.#counts[i]! += 1;
  }

  /** Events over the last second. */
  count(now: number): number {
    const current = Math.floor(now / SLOT_MS);
    let total = 0;
    for (let i = 0; i < SLOTS; i++) {
      const stamp = this.#stamps[i]!;
      if (stamp > current - SLOTS && stamp <= current) total += this.#counts[i]!;
    }
    return total;
  }

  /**
   * Events per minute over the last second, or over the time since `since` (when counting
   * started) if that is shorter — meters compared with each other must be given the same `since`.
   */
  perMinute(now: number, since: number): number {
    const total = this.count(now);
    const span = Math.min(WINDOW_MS, Math.max(SLOT_MS, now - since));
    return (total / span) * 60_000;
  }
}
