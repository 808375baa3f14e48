// The context-size guard in virtual time: after each assistant reply, a conversation whose next
// turn would not fit the assistant's context_window ends as context_full (saved, once min_turns
// is met); one that cannot even open, or outgrows the window before min_turns, is a failure with
// error_kind context_full — never a request the endpoint would refuse or silently truncate.
import { map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { AssistantPool } from "../../src/conversation/assistant-pool.js";
import { conversation } from "../../src/operators/converse.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

let asked = 0;
const followUp = () => `Thanks. And how would step ${++asked} cope with a very large input file?`;
const answer = "Here is a fairly long answer. ".repeat(10); // 300 characters ≈ 75 tokens

function depsWithWindow(ts: TestScheduler, contextWindow: number, minTurns: number) {
  const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => answer });
  const user = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: followUp });
  const deps = makeDeps({ assistant, user, minTurns, maxTurns: 200, scheduler: ts });
  const [member] = deps.pool.members;
  return { ...deps, pool: new AssistantPool([{ ...member!, contextWindow }]) };
}

describe("context_full (virtual time)", () => {
  it("ends a conversation as context_full on an assistant reply once the next turn would not fit", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      // Room kept for the next turn: a user message of up to 256 tokens and a reply of up to 64.
      // The history (characters / 4, with the 3-token system prompt) after four turns is 357
      // tokens (357 + 320 = 677 ≤ 700: go on); after five, 448 (768 > 700: stop).
      const deps = depsWithWindow(ts, 700, 1);
      const result = conversation(makeTask({ interaction_id: "c" }), deps).pipe(
        map((r) =>
          r.kind === "interaction"
            ? `${r.interaction.metadata.stop_reason}:${r.interaction.num_turns}:${r.interaction.messages.at(-1)?.role}`
            : `failed:${r.failure.error_kind}`,
        ),
      );
      // Nine calls of 10 ms (A U A U A U A U A): the fifth reply lands at 90 ms.
      expectObservable(result).toBe("90ms (r|)", { r: "context_full:5:assistant" });
    });
  });

  it("is a failure (error_kind context_full) when the window runs out before min_turns", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const deps = depsWithWindow(ts, 700, 6);
      const result = conversation(makeTask({ interaction_id: "c" }), deps).pipe(
        map((r) =>
          r.kind === "interaction" ? "saved" : `failed:${r.failure.error_kind}:${r.failure.completed_turns}`,
        ),
      );
      // The same five turns, but min_turns is 6: the conversation cannot be saved.
      expectObservable(result).toBe("90ms (r|)", { r: "failed:context_full:5" });
    });
  });

  it("never sends an opening that does not fit", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const deps = depsWithWindow(ts, 300, 1);
      const long = "please read this very long request carefully ".repeat(40); // ≈ 450 tokens
      const result = conversation(makeTask({ interaction_id: "c", initial_query: long }), deps).pipe(
        map((r) => (r.kind === "interaction" ? "saved" : `failed:${r.failure.error_kind}`)),
      );
      expectObservable(result).toBe("(r|)", { r: "failed:context_full" });
      flush();
      const [member] = deps.pool.members;
      expect((member!.model as FakeChatModel).callCount).toBe(0);
    });
  });
});
