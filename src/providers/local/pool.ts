// A small pool of exclusive slots (one per context sequence). Callers wait in FIFO order; a
// waiting caller whose signal aborts leaves the queue with the signal's reason. With one slot
// this is a plain serialising queue.

export class SlotPool<T> {
  private readonly free: T[];
  private readonly waiters: Array<{ take: (slot: T) => void }> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private busy = 0;

  constructor(slots: readonly T[]) {
    if (slots.length === 0) throw new Error("SlotPool needs at least one slot");
    this.free = [...slots];
  }

  get size(): number {
    return this.free.length + this.busy;
  }

  get inUse(): number {
    return this.busy;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Takes a free slot, or waits for one. `score` ranks free slots (highest wins, ties keep
   * order) — used to send a conversation back to the sequence that already holds its prefix.
   */
  acquire(signal?: AbortSignal, score?: (slot: T) => number): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free.length > 0) {
      const index = score ? bestIndex(this.free, score) : 0;
      const [slot] = this.free.splice(index, 1) as [T];
      this.busy += 1;
      return Promise.resolve(slot);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        take: (slot: T) => {
          signal?.removeEventListener("abort", onAbort);
          this.busy += 1;
          resolve(slot);
        },
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns a slot; the longest waiter gets it directly. */
  release(slot: T): void {
    this.busy -= 1;
    const next = this.waiters.shift();
    if (next) {
      next.take(slot);
      return;
    }
    this.free.push(slot);
    if (this.busy === 0) for (const done of this.idleWaiters.splice(0)) done();
  }

  /** Resolves when no slot is in use and nobody waits. */
  idle(): Promise<void> {
    if (this.busy === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs `work` with a slot and always gives the slot back. */
  async use<R>(work: (slot: T) => Promise<R>, signal?: AbortSignal, score?: (slot: T) => number): Promise<R> {
    const slot = await this.acquire(signal, score);
    try {
      return await work(slot);
    } finally {
      this.release(slot);
    }
  }
}

function bestIndex<T>(items: readonly T[], score: (item: T) => number): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  items.forEach((item, index) => {
    const value = score(item);
    if (value > bestScore) {
      best = index;
      bestScore = value;
    }
  });
  return best;
}
