// assistantReply: the assistant's side of a turn. The diagrams show that an unusable reply (empty,
// or the user's question asked back) is asked again, one ask after another, each taking the
// model's latency, and that the re-asks are bounded.
import { map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { assistantReply } from "../../src/operators/assistant-turn.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { makeDeps } from "../support/pipeline-fixtures.js";
import { message, turnCall } from "./turn-support.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function input(ts: TestScheduler, assistant: FakeChatModel, reasks: number) {
  const deps = makeDeps({ assistant, user: new FakeChatModel({}), scheduler: ts });
  return {
    member: deps.pool.choose(42),
    messages: [message("user", "How do I reverse a list in Python?")],
    turn: 1,
    attempt: 0,
    taskSeed: 42,
    markers: deps.user.markers,
    reasks,
    call: turnCall(ts),
  };
}

describe("assistantReply (virtual time)", () => {
  it("emits a usable reply after one call (10 ms)", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: ["Use reversed(xs)."] });
      const reply = assistantReply(input(ts, assistant, 2)).pipe(map((r) => r.text));
      expectObservable(reply).toBe("10ms (a|)", { a: "Use reversed(xs)." });
    });
  });

  it("asks again after an empty reply: the answer comes after two calls (20 ms), hotter the second time", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: ["", "Use xs[::-1]."],
      });
      const reply = assistantReply(input(ts, assistant, 2)).pipe(map((r) => r.text));
      expectObservable(reply).toBe("20ms (a|)", { a: "Use xs[::-1]." });
      flush();
      expect(assistant.calls[0]?.temperature).toBe(0.7);
      expect(assistant.calls[1]?.temperature).toBeCloseTo(0.9);
      expect(assistant.calls[0]?.seed).not.toBe(assistant.calls[1]?.seed);
    });
  });

  it("fails after 1 + reasks unusable replies, when the last one comes back (30 ms)", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "   " });
      const reply = assistantReply(input(ts, assistant, 2)).pipe(map((r) => r.text));
      expectObservable(reply).toBe(
        "30ms #",
        undefined,
        expect.objectContaining({
          kind: "malformed",
          message: expect.stringMatching(/no usable reply 3 times/),
        }),
      );
    });
  });
});
