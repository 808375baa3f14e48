// converseAll: mergeMap with a concurrency limit. The marble diagram shows conversations
// starting only as slots free up.
import { from, map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { admit } from "../../src/operators/admit.js";
import { converseAll } from "../../src/operators/converse-all.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe("converseAll (virtual time)", () => {
  it("keeps at most `concurrency` conversations in flight", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, flush }) => {
      let inFlight = 0;
      let peak = 0;
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "answer" });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "more" });
      const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 1, scheduler: ts });
      // Five tasks arrive at once; each one-turn conversation takes 10 ms; two run at a time.
      const tasks = cold("(abcde|)").pipe(
        map((id) => makeTask({ interaction_id: id, seed: id.charCodeAt(0) })),
      );
      const results = tasks.pipe(
        converseAll({
          ...deps,
          concurrency: 2,
          events: {
            onStart: () => {
              inFlight++;
              peak = Math.max(peak, inFlight);
            },
            onFinish: () => {
              inFlight--;
            },
          },
        }),
        map((r) => (r.kind === "interaction" ? r.interaction.interaction_id : "failed")),
      );
      expectObservable(results).toBe("10ms (ab) 6ms (cd) 6ms (e|)");
      flush();
      expect(peak).toBe(2);
    });
  });

  it("releases one backpressure slot per finished conversation, success or failure", () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: (r) => (r.messages.some((m) => m.content.includes("fail me")) ? new Error("bug") : "answer"),
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "more" });
      const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 1, scheduler: ts });
      const window = { admittedCount: 0, releasedCount: 0 };
      const gate = {
        admitted: () => void window.admittedCount++,
        released: () => void window.releasedCount++,
      };
      const tasks = [
        makeTask({ interaction_id: "ok" }),
        makeTask({ interaction_id: "bad", initial_query: "fail me" }),
      ];
      const kinds: string[] = [];
      from(tasks)
        .pipe(admit(gate), converseAll({ ...deps, concurrency: 1, backpressure: gate }))
        .subscribe((r) => kinds.push(r.kind));
      flush();
      expect(kinds).toEqual(["interaction", "failure"]);
      expect(window).toEqual({ admittedCount: 2, releasedCount: 2 });
    });
  });

  it("rejects a concurrency below 1", () => {
    const assistant = new FakeChatModel({});
    const deps = makeDeps({ assistant, user: assistant });
    expect(() => converseAll({ ...deps, concurrency: 0 })).toThrow(/concurrency/);
  });
});

describe("converseAll: when each conversation starts (virtual time)", () => {
  it("starts a waiting conversation in the frame a slot frees, in arrival order", () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "answer" });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "more" });
      const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 1, scheduler: ts });
      const starts: string[] = [];
      const source = cold("(abcde|)");
      const results = source.pipe(
        map((id) => makeTask({ interaction_id: id, seed: id.charCodeAt(0) })),
        converseAll({
          ...deps,
          concurrency: 2,
          events: { onStart: (task) => void starts.push(`${task.interaction_id}@${ts.now()}`) },
        }),
      );
      // Two slots, one-turn conversations of 10 ms: a and b at 0, c and d at 10, e at 20. The
      // source is subscribed once, at 0, and buffered by mergeMap, not re-read.
      expectObservable(results.pipe(map(() => "r"))).toBe("10ms (rr) 6ms (rr) 6ms (r|)");
      expectSubscriptions(source.subscriptions).toBe("(^!)");
      flush();
      expect(starts).toEqual(["a@0", "b@0", "c@10", "d@10", "e@20"]);
    });
  });
});
