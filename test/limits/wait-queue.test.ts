// WaitQueue: higher priority first, first come first served within a priority, O(1) withdrawal.
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../src/conversation/random.js";
import { type Waiter, WaitQueue } from "../../src/limits/wait-queue.js";

type Named = Waiter & { name: string };

function queueOf(entries: Array<[string, number]>) {
  const queue = new WaitQueue<Named>();
  const waiters = new Map<string, Named>();
  for (const [name, priority] of entries) {
    const waiter = { name, priority, seq: queue.nextSeq(), withdrawn: false };
    waiters.set(name, waiter);
    queue.push(waiter);
  }
  return { queue, waiters };
}

const drain = (queue: WaitQueue<Named>) => {
  const order: string[] = [];
  for (let w = queue.shift(); w; w = queue.shift()) order.push(w.name);
  return order;
};

describe("WaitQueue", () => {
  it("serves higher priority first and arrival order within a priority", () => {
    const { queue } = queueOf([
      ["a0", 0],
      ["b2", 2],
      ["c1", 1],
      ["d2", 2],
      ["e0", 0],
      ["f1", 1],
    ]);
    expect(queue.size).toBe(6);
    expect(drain(queue)).toEqual(["b2", "d2", "c1", "f1", "a0", "e0"]);
    expect(queue.size).toBe(0);
  });

  it("skips withdrawn waiters and counts only live ones", () => {
    const { queue, waiters } = queueOf([
      ["a", 1],
      ["b", 3],
      ["c", 2],
      ["d", 2],
    ]);
    queue.withdraw(waiters.get("b")!);
    queue.withdraw(waiters.get("d")!);
    queue.withdraw(waiters.get("d")!); // twice: no effect
    expect(queue.size).toBe(2);
    expect(queue.peek()?.name).toBe("c");
    expect(drain(queue)).toEqual(["c", "a"]);
  });

  it("keeps order over many interleaved pushes and shifts", () => {
    const queue = new WaitQueue<Named>();
    const expected: Named[] = [];
    const random = mulberry32(1);
    for (let i = 0; i < 500; i++) {
      const waiter = {
        name: `w${i}`,
        priority: Math.floor(random() * 5),
        seq: queue.nextSeq(),
        withdrawn: false,
      };
      queue.push(waiter);
      expected.push(waiter);
    }
    expected.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    expect(drain(queue)).toEqual(expected.map((w) => w.name));
  });
});
