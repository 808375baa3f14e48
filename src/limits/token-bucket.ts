// A token bucket with the clock passed in: refills continuously at `perMinute / 60 000` per ms up
// to `capacity`. Providers enforce a per-minute limit over seconds (OpenAI documents 60 000 rpm
// being enforced as 1 000 per second), so the capacity — the burst allowed after a quiet spell —
// is kept to a fraction of a second's worth, never a minute's.
//
// A cost larger than the capacity (a 4 000-token call against a 1 000-token burst) waits for a
// full bucket and then leaves it in debt: the level goes negative and the next callers wait for
// it to refill, so the average pace stays at the limit whatever the size of one call.

/** Below this, levels count as equal: floating-point refills must not schedule 0.001 ms timers. */
const EPSILON = 1e-9;

export class TokenBucket {
  #perMs: number;
  #capacity: number;
  #level: number;
  #last: number;

  /** Starts full. */
  constructor(perMinute: number, capacity: number, now: number) {
    this.#perMs = perMinute / 60_000;
    this.#capacity = Math.max(1, capacity);
    this.#level = this.#capacity;
    this.#last = now;
    if (!(this.#perMs > 0))
      throw new RangeError(`a token bucket needs a positive rate, got ${perMinute}/min`);
  }

  get perMinute(): number {
    return this.#perMs * 60_000;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The level at `now` (negative while in debt). */
  level(now: number): number {
    this.#refill(now);
    return this.#level;
  }

  /** Changes rate and capacity from `now` on; what was earned at the old rate is kept. */
  setRate(perMinute: number, capacity: number, now: number): void {
    if (!(perMinute > 0)) throw new RangeError(`a token bucket needs a positive rate, got ${perMinute}/min`);
    this.#refill(now);
    this.#perMs = perMinute / 60_000;
    this.#capacity = Math.max(1, capacity);
    if (this.#level > this.#capacity) this.#level = this.#capacity;
  }

  /** Milliseconds until `cost` may be taken (0: now). */
  waitMs(cost: number, now: number): number {
    this.#refill(now);
    const need = Math.min(cost, this.#capacity);
    const missing = need - this.#level;
    return missing <= EPSILON ? 0 : missing / this.#perMs;
  }

  /** Takes `cost` (after waitMs said 0; the level may go negative for a cost above the capacity). */
  take(cost: number, now: number): void {
    this.#refill(now);
    this.#level -= cost;
  }

  /** Returns tokens (a refund) or, with a negative amount, charges more; never above capacity. */
  adjust(amount: number): void {
    this.#level = Math.min(this.#capacity, this.#level + amount);
  }

  /** Lowers the level to `max` when the server reports fewer remaining than the bucket holds. */
  clamp(max: number, now: number): void {
    this.#refill(now);
    if (this.#level > max) this.#level = max;
  }

  #refill(now: number): void {
    const elapsed = now - this.#last;
    if (elapsed <= 0) return;
    this.#last = now;
    if (this.#level < this.#capacity)
      this.#level = Math.min(this.#capacity, this.#level + elapsed * this.#perMs);
  }
}
