// userTurn: one simulated-user turn. The diagrams show the asks one after another — a reply the
// turn guards reject is asked again only once it has come back — and when a turn ends: with a
// message, with the user's stop, or with an error once the asks run out.
import { map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { type UserTurnInput, userTurn } from "../../src/operators/user-turn.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { UserRejection } from "../../src/schema/interaction.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";
import { message, turnCall } from "./turn-support.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function turn(ts: TestScheduler, user: FakeChatModel, mayStop: boolean) {
  const deps = makeDeps({ assistant: new FakeChatModel({}), user, scheduler: ts });
  const task = makeTask();
  const rejections: UserRejection[] = [];
  const input: UserTurnInput = {
    task,
    scenario: { goal: task.original_query, source: "derived" },
    prompt: deps.user.conversationPrompt(task),
    messages: [
      message("user", task.initial_query),
      message("assistant", "Sure: what should the code do, and which Python version do you use?"),
    ],
    completedTurns: 1,
    targetTurns: 3,
    mayStop,
    intent: "followup",
    attempt: 0,
    rejections,
    onAsk: () => {},
  };
  const outcome = userTurn(input, { user: deps.user, call: turnCall(ts) }).pipe(
    map((o) => (o.kind === "message" ? `${o.content} (${o.asks} asks)` : `${o.reason} (${o.asks} asks)`)),
  );
  return { outcome, rejections };
}

describe("userTurn (virtual time)", () => {
  it("emits a usable follow-up after one ask (5 ms)", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 5, respond: ["it parses CSV files, 3.12"] });
      expectObservable(turn(ts, user, false).outcome).toBe("5ms (m|)", {
        m: "it parses CSV files, 3.12 (1 asks)",
      });
    });
  });

  it("re-asks a rejected reply once it is back: two rejections, then the message at 15 ms", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const user = new FakeChatModel({
        scheduler: ts,
        latencyMs: 5,
        respond: ["Assistant: How can I help you today?", "", "it parses CSV files, 3.12"],
      });
      const { outcome, rejections } = turn(ts, user, false);
      expectObservable(outcome).toBe("15ms (m|)", { m: "it parses CSV files, 3.12 (3 asks)" });
      flush();
      expect(rejections.map((r) => r.guard)).toEqual(["speaker_label", "empty"]);
      expect(user.callCount).toBe(3);
    });
  });

  it("ends the turn with the user's stop when stopping is allowed (5 ms)", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const user = new FakeChatModel({
        scheduler: ts,
        latencyMs: 5,
        respond: ["Thanks, that works! ###STOP###"],
      });
      expectObservable(turn(ts, user, true).outcome).toBe("5ms (s|)", { s: "user_satisfied (1 asks)" });
    });
  });

  it("fails when the asks run out: the error comes with the last rejected reply", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 5, respond: () => "" });
      const { outcome, rejections } = turn(ts, user, false);
      const asks = 1 + makeDeps({ assistant: user, user }).user.config.max_reasks;
      expectObservable(outcome).toBe(
        `${asks * 5}ms #`,
        undefined,
        expect.objectContaining({ name: "UserSimulatorError", rejections: expect.any(Array) }),
      );
      flush();
      expect(rejections).toHaveLength(asks);
    });
  });
});
