// The callers waiting for admission: higher priority first (conversations further along get their
// next turn before new conversations start), first come first served within a priority. A binary
// heap, so thousands of waiters cost log n per call; a withdrawn waiter is only marked and is
// dropped when it reaches the top, which keeps withdrawal O(1) on the hot path.

export interface Waiter {
  readonly priority: number;
  /** Arrival order: ties in priority are served in it. */
  readonly seq: number;
  /** Set by withdraw(); the heap skips it. */
  withdrawn: boolean;
}

/** a before b? */
const before = (a: Waiter, b: Waiter): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;

export class WaitQueue<W extends Waiter> {
  #heap: W[] = [];
  #live = 0;
  #seq = 0;

  /** Waiters not withdrawn. */
  get size(): number {
    return this.#live;
  }

  /** The next arrival number, for building a waiter. */
  nextSeq(): number {
    return this.#seq++;
  }

  push(waiter: W): void {
    const heap = this.#heap;
    heap.push(waiter);
    this.#live++;
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(waiter, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = waiter;
  }

  /** The first live waiter, without removing it. */
  peek(): W | undefined {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.withdrawn) this.#removeTop();
    return heap[0];
  }

  /** Removes and returns the first live waiter. */
  shift(): W | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    this.#removeTop();
    this.#live--;
    return top;
  }

  /** Marks a waiter withdrawn (it must be in the queue). */
  withdraw(waiter: W): void {
    if (waiter.withdrawn) return;
    waiter.withdrawn = true;
    this.#live--;
    // Nobody left: drop the marked entries at once rather than holding them until the next peek.
    if (this.#live === 0) this.#heap = [];
  }

  #removeTop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
