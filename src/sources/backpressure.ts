// Backpressure between a persona reader and the pipeline that consumes its tasks.
//
// RxJS has no pull: mergeMap(fn, concurrency) buffers every outer value it cannot start yet,
// so a million personas piped into stdin would all sit in that buffer. Instead the consumer
// counts what it holds (admitted when a task enters its buffer, released when it is done) and
// the reader waits for room before it reads the next persona. Memory then stays bounded by
// the high-water mark plus one persona's tasks, however long the input is.

export class Backpressure {
  readonly highWaterMark: number;
  #pending = 0;
  #waiters: Array<() => void> = [];

  constructor(highWaterMark: number) {
    if (!(highWaterMark >= 1)) {
      throw new RangeError(`Backpressure: highWaterMark must be at least 1 (got ${highWaterMark})`);
    }
    this.highWaterMark = highWaterMark;
  }

  /** Items the consumer holds now (admitted and not yet released). */
  get pending(): number {
    return this.#pending;
  }

  /** True when the reader may go on. */
  get hasRoom(): boolean {
    return this.#pending < this.highWaterMark;
  }

  /** The consumer took `n` items into its buffer. */
  admitted(n = 1): void {
    this.#check(n);
    this.#pending += n;
  }

  /** The consumer finished `n` items (successfully or not). */
  released(n = 1): void {
    this.#check(n);
    if (n > this.#pending) {
      // A release without its admission is a bookkeeping bug in the consumer; clamping it
      // would hide the bug and quietly let the reader run unbounded.
      throw new RangeError(`Backpressure: released ${n} but only ${this.#pending} pending`);
    }
    this.#pending -= n;
    this.#wake();
  }

  /** Resolves once pending < highWaterMark (immediately when there is room already). */
  waitForRoom(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    if (!this.hasRoom || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #check(n: number): void {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`Backpressure: count must be a whole number ≥ 0 (got ${n})`);
  }
}
