// converse: one conversation, turn by turn, in virtual time. These marble tests document the
// turn order, the stop rules, the model lock and how failures resume from the last good turn.
import { lastValueFrom, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { conversation, converse } from "../../src/operators/converse.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ConversationResult, Interaction } from "../../src/schema/interaction.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function interactionOf(result: ConversationResult | undefined): Interaction {
  if (result?.kind !== "interaction")
    throw new Error(`expected an interaction, got ${JSON.stringify(result)}`);
  return result.interaction;
}

describe("converse (virtual time)", () => {
  it("runs min_turns = max_turns = 3 as exactly 5 calls in turn order: A, U, A, U, A", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: (_r, i) => `answer ${i + 1}`,
      });
      const user = new FakeChatModel({
        scheduler: ts,
        latencyMs: 5,
        respond: (_r, i) => `follow-up ${i + 1}`,
      });
      const deps = makeDeps({ assistant, user, scheduler: ts });
      // 3 assistant calls × 10 ms + 2 user calls × 5 ms = 40 ms of virtual time.
      expectObservable(conversation(makeTask(), deps)).toBe("40ms (r|)", {
        r: expect.objectContaining({ kind: "interaction" }),
      });
      flush();
      expect(assistant.callCount).toBe(3);
      expect(user.callCount).toBe(2);
    });
  });

  it("records the reference's fields, the stop reason and usage per call", async () => {
    const assistant = new FakeChatModel({ respond: (_r, i) => `answer ${i + 1}` });
    const user = new FakeChatModel({ respond: (_r, i) => `follow-up ${i + 1}` });
    const result = await lastValueFrom(conversation(makeTask(), makeDeps({ assistant, user })));
    const interaction = interactionOf(result);
    expect(interaction.messages.map((m) => `${m.role}:${m.content}`)).toEqual([
      "user:help me write python code",
      "assistant:answer 1",
      "user:follow-up 1",
      "assistant:answer 2",
      "user:follow-up 2",
      "assistant:answer 3",
    ]);
    expect(interaction.num_turns).toBe(3);
    expect(interaction.messages[0]?.metadata).toMatchObject({ is_initial: true, was_noised: false });
    expect(interaction.messages[2]?.metadata).toMatchObject({ is_followup: true });
    expect(interaction.messages[1]?.metadata).toMatchObject({ model: "fake-model", provider: "fake" });
    expect(interaction.metadata).toMatchObject({
      stop_reason: "max_turns",
      target_turns: 3,
      distractor_applied: false,
      assistant_model: { provider: "fake", model: "fake-model" },
    });
    expect(interaction.metadata.usage.map((u) => u.operation)).toEqual([
      "assistant_response",
      "user_feedback",
      "assistant_response",
      "user_feedback",
      "assistant_response",
    ]);
  });

  it("gives the assistant a real chat with roles, system prompt first", async () => {
    const assistant = new FakeChatModel({ respond: () => "answer" });
    const user = new FakeChatModel({ respond: () => "more please" });
    await lastValueFrom(conversation(makeTask(), makeDeps({ assistant, user, minTurns: 2, maxTurns: 2 })));
    expect(assistant.calls[1]?.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
  });

  it("records the assistant's system prompt in the metadata (exports put it first)", async () => {
    const assistant = new FakeChatModel({ respond: () => "answer" });
    const user = new FakeChatModel({ respond: () => "more please" });
    const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 1 });
    const interaction = interactionOf(await lastValueFrom(conversation(makeTask(), deps)));
    expect(interaction.metadata.assistant_system_prompt).toBe("Be helpful.");
    expect(assistant.calls[0]?.messages[0]).toEqual({ role: "system", content: "Be helpful." });
  });

  it("lets the user stop once min_turns are done (user_satisfied), never before", async () => {
    const assistant = new FakeChatModel({ respond: () => "answer" });
    // Says STOP every time: before min_turns it is re-asked, and a bare marker there is unusable.
    const user = new FakeChatModel({
      respond: (_r, i) => (i === 0 ? "###STOP###" : i === 1 ? "ok, next question" : "###STOP###"),
    });
    const deps = makeDeps({ assistant, user, minTurns: 2, maxTurns: 5 });
    const interaction = interactionOf(await lastValueFrom(conversation(makeTask({ target_turns: 5 }), deps)));
    expect(interaction.num_turns).toBe(2);
    expect(interaction.metadata.stop_reason).toBe("user_satisfied");
    expect(user.callCount).toBe(3); // one re-ask at turn 1, then the stop at turn 2
  });

  it("ends at the drawn target below max_turns with stop_reason target_turns", async () => {
    const assistant = new FakeChatModel({ respond: () => "answer" });
    const user = new FakeChatModel({ respond: () => "and then?" });
    const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 4 });
    const interaction = interactionOf(await lastValueFrom(conversation(makeTask({ target_turns: 2 }), deps)));
    expect(interaction.num_turns).toBe(2);
    expect(interaction.metadata.stop_reason).toBe("target_turns");
  });

  it("re-asks a user reply that speaks as the assistant, within max_reasks", async () => {
    const assistant = new FakeChatModel({ respond: () => "answer" });
    const user = new FakeChatModel({
      respond: ["Assistant: How can I help you today?", "", "what about tests?"],
    });
    const deps = makeDeps({ assistant, user, minTurns: 2, maxTurns: 2 });
    const interaction = interactionOf(await lastValueFrom(conversation(makeTask(), deps)));
    expect(interaction.messages[2]?.content).toBe("what about tests?");
    expect(interaction.metadata.usage.filter((u) => u.operation === "user_feedback")).toHaveLength(3);
  });

  it("locks one pool model for the whole conversation, chosen by the task's seed", async () => {
    const a = new FakeChatModel({ model: "model-a", respond: () => "from a" });
    const b = new FakeChatModel({ model: "model-b", respond: () => "from b" });
    const user = new FakeChatModel({ respond: (_r, i) => `go on ${i}` });
    const deps = makeDeps({ assistant: [a, b], user, minTurns: 3, maxTurns: 3 });
    const tasks = Array.from({ length: 20 }, (_, i) => makeTask({ interaction_id: `i${i}`, seed: i }));
    const results = await lastValueFrom(converse(deps)(fromTasks(tasks)).pipe(toArray()));
    const models = results.map((r) =>
      interactionOf(r)
        .messages.filter((m) => m.role === "assistant")
        .map((m) => m.metadata.model),
    );
    for (const perConversation of models) expect(new Set(perConversation).size).toBe(1);
    expect(new Set(models.map((m) => m[0])).size).toBe(2); // both models are used across conversations
    const again = await lastValueFrom(converse(deps)(fromTasks(tasks)).pipe(toArray()));
    expect(again.map((r) => interactionOf(r).metadata.assistant_model.model)).toEqual(
      models.map((m) => m[0]),
    );
  });

  it("resumes from the last good turn after a failed step: finished turns are not repaid", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      // Assistant call #2 (turn 2) fails past its call retries once; the conversation waits
      // retry_delay and redoes only that step.
      const down = new ProviderError("server", "503 down");
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: ["answer 1", down, down, "answer 2", "answer 3"],
      });
      const user = new FakeChatModel({
        scheduler: ts,
        latencyMs: 5,
        respond: (_r, i) => `follow-up ${i + 1}`,
      });
      const deps = makeDeps({
        assistant,
        user,
        scheduler: ts,
        callRetryCount: 1,
        maxRetries: 1,
        retryDelayMs: 2000,
      });
      // 10 (A1) + 5 (U1) + 10 (A2 fails) + backoff 50..100 + 10 (A2 fails again) + 2000 (retry_delay)
      // + 10 (A2) + 5 (U2) + 10 (A3): the exact backoff is seeded, so assert on counts and order.
      const results: ConversationResult[] = [];
      conversation(makeTask(), deps).subscribe((r) => results.push(r));
      flush();
      const interaction = interactionOf(results[0]);
      expect(interaction.messages.filter((m) => m.role === "assistant").map((m) => m.content)).toEqual([
        "answer 1",
        "answer 2",
        "answer 3",
      ]);
      expect(assistant.callCount).toBe(5);
      expect(user.callCount).toBe(2); // the user turn before the failure was not asked again
      expect(ts.now()).toBeGreaterThanOrEqual(2000 + 60);
      void expectObservable;
    });
  });

  it("emits a failure record with its reason when retries run out — never a success", async () => {
    const down = new ProviderError("server", "503 down");
    const assistant = new FakeChatModel({ respond: (_r, i) => (i === 0 ? "answer 1" : down) });
    const user = new FakeChatModel({ respond: () => "go on" });
    const deps = makeDeps({ assistant, user, callRetryCount: 0, maxRetries: 2, retryDelayMs: 1 });
    const result = await lastValueFrom(conversation(makeTask(), deps));
    expect(result.kind).toBe("failure");
    if (result.kind !== "failure") return;
    expect(result.failure).toMatchObject({
      status: "failed",
      interaction_id: "interaction_p1_abc",
      error_kind: "server",
      reason: "503 down",
      attempts: 3,
      completed_turns: 1,
    });
    expect(result.failure.usage.length).toBe(2); // the calls that were paid for are kept
  });

  it("does not retry an auth error", async () => {
    const assistant = new FakeChatModel({ respond: [new ProviderError("auth", "401 invalid key")] });
    const user = new FakeChatModel({ respond: () => "go on" });
    const result = await lastValueFrom(
      conversation(makeTask(), makeDeps({ assistant, user, maxRetries: 5 })),
    );
    expect(result.kind === "failure" && result.failure.error_kind).toBe("auth");
    expect(assistant.callCount).toBe(1);
  });
});

import { from } from "rxjs";

function fromTasks<T>(items: T[]) {
  return from(items);
}
