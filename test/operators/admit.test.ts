// admit: counts each task into the backpressure window the moment it passes, and changes nothing
// else — same values, same frames, same subscription. The diagrams are its whole contract.
import { map, tap } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { admit } from "../../src/operators/admit.js";
import { Backpressure } from "../../src/sources/backpressure.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe("admit (virtual time)", () => {
  it("passes every value through in its own frame and counts it as it passes", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const window = new Backpressure(10);
      // Three tasks at 0, 3 and 7 ms: each is counted in the frame it passes (the count read in
      // that frame, after admit, already includes it); the stream completes with the source.
      const tasks = cold("a--b---c|");
      const counted = tasks.pipe(
        admit(window),
        map((id) => `${id}${window.pending}`),
      );
      expectObservable(counted).toBe("a--b---c|", { a: "a1", b: "b2", c: "c3" });
      expectSubscriptions(tasks.subscriptions).toBe("^-------!");
    });
  });

  it("fills the window to its high-water mark, so the reader waits until a release", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      const window = new Backpressure(2);
      const room: boolean[] = [];
      // The reader's view after each admission: room after the first, none after the second.
      const tasks = cold("ab|").pipe(
        admit(window),
        tap(() => room.push(window.hasRoom)),
      );
      expectObservable(tasks).toBe("ab|");
      flush();
      expect(room).toEqual([true, false]);
      window.released();
      expect(window.hasRoom).toBe(true);
    });
  });

  it("unsubscribing stops counting: nothing is admitted after the unsubscribe frame", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const window = new Backpressure(10);
      const tasks = cold("a-b-c-d|");
      // Unsubscribed at 3 ms: a and b passed and were counted; c and d never arrive.
      expectObservable(tasks.pipe(admit(window)), "^--!").toBe("a-b");
      expectSubscriptions(tasks.subscriptions).toBe("^--!");
      flush();
      expect(window.pending).toBe(2);
    });
  });
});
