// converse: one conversation, turn by turn, in virtual time. These marble tests document the
// turn order, the stop rules, the model lock and how failures resume from the last good turn.
import { from, lastValueFrom, map, tap } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { randomStream, seedFrom } from "../../src/conversation/random.js";
import { backoffDelayMs } from "../../src/operators/call-model.js";
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

/** "<turns> turns, <stop reason>": what a stop rule decided. */
function turnsAndStop(result: ConversationResult): string {
  const interaction = interactionOf(result);
  return `${interaction.num_turns} turns, ${interaction.metadata.stop_reason}`;
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

  it("lets the user stop once min_turns are done (user_satisfied), never before", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "answer" });
      // Says STOP every time: before min_turns it is re-asked, and a bare marker there is unusable.
      const user = new FakeChatModel({
        scheduler: ts,
        latencyMs: 5,
        respond: (_r, i) => (i === 0 ? "###STOP###" : i === 1 ? "ok, next question" : "###STOP###"),
      });
      const deps = makeDeps({ assistant, user, minTurns: 2, maxTurns: 5, scheduler: ts });
      // A (10) · U "###STOP###" before min_turns (5), re-asked · U (5) · A (10) · U "###STOP###" (5):
      // the conversation ends on the user's stop at 35 ms, with no further assistant call.
      expectObservable(conversation(makeTask({ target_turns: 5 }), deps).pipe(map(turnsAndStop))).toBe(
        "35ms (r|)",
        { r: "2 turns, user_satisfied" },
      );
      flush();
      expect(user.callCount).toBe(3); // one re-ask at turn 1, then the stop at turn 2
      expect(assistant.callCount).toBe(2);
    });
  });

  it("ends at the drawn target below max_turns with stop_reason target_turns", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "answer" });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 5, respond: () => "and then?" });
      const deps = makeDeps({ assistant, user, minTurns: 1, maxTurns: 4, scheduler: ts });
      // Target 2 of at most 4: A (10) · U (5) · A (10) = 25 ms, and no user call after the last reply.
      expectObservable(conversation(makeTask({ target_turns: 2 }), deps).pipe(map(turnsAndStop))).toBe(
        "25ms (r|)",
        { r: "2 turns, target_turns" },
      );
    });
  });

  it("re-asks a user reply that speaks as the assistant, within max_reasks", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const assistant = new FakeChatModel({ scheduler: ts, latencyMs: 10, respond: () => "answer" });
      const user = new FakeChatModel({
        scheduler: ts,
        latencyMs: 5,
        respond: ["Assistant: How can I help you today?", "", "what about tests?"],
      });
      const deps = makeDeps({ assistant, user, minTurns: 2, maxTurns: 2, scheduler: ts });
      // A (10) · three user asks one after another (3 × 5: two rejected, re-asked) · A (10) = 35 ms.
      const result = conversation(makeTask(), deps).pipe(map((r) => interactionOf(r).messages[2]?.content));
      expectObservable(result).toBe("35ms (r|)", { r: "what about tests?" });
      flush();
      expect(user.callCount).toBe(3);
    });
  });

  it("locks one pool model for the whole conversation, chosen by the task's seed", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const a = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        model: "model-a",
        respond: () => "from a",
      });
      const b = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        model: "model-b",
        respond: () => "from b",
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 5, respond: (_r, i) => `go on ${i}` });
      const deps = makeDeps({ assistant: [a, b], user, minTurns: 3, maxTurns: 3, scheduler: ts });
      const tasks = Array.from({ length: 20 }, (_, i) => makeTask({ interaction_id: `i${i}`, seed: i }));
      // Each result names the models its three assistant turns used: one name per conversation.
      const modelsOf = (r: ConversationResult) =>
        [
          ...new Set(
            interactionOf(r).messages.flatMap((m) => (m.role === "assistant" ? [m.metadata.model] : [])),
          ),
        ].join();
      const models: string[] = [];
      // converse runs them one after another (concatMap): one every 40 ms (3 × A 10 + 2 × U 5).
      const results = from(tasks).pipe(
        converse(deps),
        map(modelsOf),
        tap((m) => models.push(m)),
      );
      const frames = tasks.map((_, i) => `${i === 0 ? 40 : 39}ms r`).join(" ");
      expectObservable(results.pipe(map(() => "r"))).toBe(`${frames.slice(0, -1)}(r|)`);
      flush();
      for (const m of models) expect(m).toMatch(/^model-(a|b)$/);
      expect(new Set(models).size).toBe(2); // both models are used across conversations
      // The same seeds choose the same models on a second run.
      const again: string[] = [];
      from(tasks)
        .pipe(converse(deps), map(modelsOf))
        .subscribe((m) => again.push(m));
      flush();
      expect(again).toEqual(models);
    });
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
      // The call retry's backoff is seeded: equal jitter over the first step (100 ms) with the
      // conversation's jitter seed for assistant turn 2 (first ask, first attempt) — 94.9 ms.
      const backoff = backoffDelayMs(
        down,
        1,
        deps.callRetry,
        randomStream(seedFrom(42, "assistant:2:0:0"), "call_retry_jitter"),
      );
      expect(backoff).toBeGreaterThanOrEqual(50);
      expect(backoff).toBeLessThanOrEqual(100);
      // 10 (A1) + 5 (U1) + 10 (A2 fails) + backoff + 10 (A2 fails again, call retries spent)
      // + 2000 (retry_delay) + 10 (A2) + 5 (U2) + 10 (A3) = 2060 ms + backoff.
      const answers = conversation(makeTask(), deps).pipe(
        map((r) =>
          interactionOf(r)
            .messages.filter((m) => m.role === "assistant")
            .map((m) => m.content)
            .join(", "),
        ),
      );
      expectObservable(answers).toBe(`${2060 + backoff}ms (r|)`, { r: "answer 1, answer 2, answer 3" });
      flush();
      expect(assistant.callCount).toBe(5);
      expect(user.callCount).toBe(2); // the user turn before the failure was not asked again
    });
  });

  it("emits a failure record with its reason when retries run out — never a success", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const down = new ProviderError("server", "503 down");
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: (_r, i) => (i === 0 ? "answer 1" : down),
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 5, respond: () => "go on" });
      const deps = makeDeps({
        assistant,
        user,
        scheduler: ts,
        callRetryCount: 0,
        maxRetries: 2,
        retryDelayMs: 1000,
      });
      // A1 (10) · U (5) · A2 fails (10) · retry_delay (1000) · fails (10) · 1000 · fails (10) = 2045 ms:
      // a failure record, emitted where a success would have been, and the stream completes.
      const results: ConversationResult[] = [];
      const kinds = conversation(makeTask(), deps).pipe(
        tap((r) => results.push(r)),
        map((r) => r.kind),
      );
      expectObservable(kinds).toBe("2045ms (f|)", { f: "failure" });
      flush();
      const result = results[0];
      if (result?.kind !== "failure") throw new Error("expected a failure record");
      expect(result.failure).toMatchObject({
        status: "failed",
        interaction_id: "interaction_p1_abc",
        error_kind: "server",
        reason: "503 down",
        attempts: 3,
        completed_turns: 1,
      });
      // The calls that were paid for are kept, and the three failed attempts, made all the same.
      expect(result.failure.usage.filter((u) => u.failed === undefined)).toHaveLength(2);
      expect(result.failure.usage.filter((u) => u.failed === "server")).toHaveLength(3);
    });
  });

  it("does not retry an auth error: the failure comes with the first call", () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, flush }) => {
      const assistant = new FakeChatModel({
        scheduler: ts,
        latencyMs: 10,
        respond: [new ProviderError("auth", "401 invalid key")],
      });
      const user = new FakeChatModel({ scheduler: ts, latencyMs: 5, respond: () => "go on" });
      const deps = makeDeps({ assistant, user, maxRetries: 5, scheduler: ts });
      const kinds = conversation(makeTask(), deps).pipe(
        map((r) => (r.kind === "failure" ? r.failure.error_kind : r.kind)),
      );
      expectObservable(kinds).toBe("10ms (a|)", { a: "auth" });
      flush();
      expect(assistant.callCount).toBe(1);
    });
  });
});
