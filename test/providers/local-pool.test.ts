import { describe, expect, it } from "vitest";
import { SlotPool } from "../../src/providers/local/pool.js";

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("SlotPool", () => {
  it("hands out free slots, then queues callers in FIFO order", async () => {
    const pool = new SlotPool(["a", "b"]);
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect([first, second]).toEqual(["a", "b"]);
    const order: string[] = [];
    const third = pool.acquire().then((slot) => order.push(`third:${slot}`));
    const fourth = pool.acquire().then((slot) => order.push(`fourth:${slot}`));
    expect(pool.waiting).toBe(2);
    pool.release(second);
    pool.release(first);
    await Promise.all([third, fourth]);
    expect(order).toEqual(["third:b", "fourth:a"]);
    expect(pool.inUse).toBe(2);
  });

  it("with one slot, runs work strictly one at a time", async () => {
    const pool = new SlotPool([0]);
    let running = 0;
    let maxRunning = 0;
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate) =>
      pool.use(async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await gate.promise;
        running -= 1;
      }),
    );
    for (const gate of gates) {
      await new Promise((r) => setImmediate(r));
      gate.resolve();
    }
    await Promise.all(runs);
    expect(maxRunning).toBe(1);
  });

  it("releases the slot when the work throws", async () => {
    const pool = new SlotPool(["only"]);
    await expect(pool.use(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(pool.inUse).toBe(0);
    await expect(pool.use(async (slot) => slot)).resolves.toBe("only");
  });

  it("rejects with the signal's reason when aborted while waiting, and forgets the waiter", async () => {
    const pool = new SlotPool(["only"]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const reason = new Error("timed out");
    const waiting = pool.acquire(controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(pool.waiting).toBe(0);
    pool.release(held);
    expect(pool.inUse).toBe(0);
    await expect(pool.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it("prefers the free slot with the highest score", async () => {
    const pool = new SlotPool([
      { id: 1, score: 0 },
      { id: 2, score: 5 },
      { id: 3, score: 5 },
    ]);
    const slot = await pool.acquire(undefined, (s) => s.score);
    expect(slot.id).toBe(2);
  });

  it("idle() waits for every slot to come back", async () => {
    const pool = new SlotPool(["a", "b"]);
    await expect(pool.idle()).resolves.toBeUndefined();
    const a = await pool.acquire();
    let idle = false;
    const waiting = pool.idle().then(() => {
      idle = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    pool.release(a);
    await waiting;
    expect(idle).toBe(true);
  });

  it("refuses to be empty", () => {
    expect(() => new SlotPool([])).toThrow("at least one slot");
  });
});
