// noise(): the noise layers as an operator, in virtual time; and the distractor inside a
// conversation: the assistant is sent the noisy text, the simulated user sees its clean text,
// usage of semantic calls is recorded, metadata.noisy_versions is honest, and a retried turn
// gets the same noise.
import { lastValueFrom, map, of, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { buildDistractor } from "../../src/noise/distractor.js";
import { applyNoise } from "../../src/noise/index.js";
import { conversation } from "../../src/operators/converse.js";
import { noise, noiseInputOf } from "../../src/operators/noise.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ChatRequest } from "../../src/providers/types.js";
import { DistractorConfig } from "../../src/schema/config.js";
import type { ConversationResult, Interaction } from "../../src/schema/interaction.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const PERSONA = { persona_id: "p9", communication_style: "casual", device: "mobile" };
const always = DistractorConfig.parse({ enabled: true, activation_probability: 1 });

/** A promise and its resolve (Promise.withResolvers is Node 22+). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function interactionOf(result: ConversationResult): Interaction {
  if (result.kind !== "interaction") throw new Error(`expected an interaction: ${JSON.stringify(result)}`);
  return result.interaction;
}

describe("noise operator (virtual time)", () => {
  it("maps messages to NoiseResults in the same frames, as applyNoise would", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const a = {
      text: "Could you explain how recursion works in Python?",
      persona_features: PERSONA,
      seed: 1,
    };
    const b = { text: "I'd like a short example, please.", persona_features: PERSONA, seed: 2, turn: 2 };
    ts.run(({ cold, expectObservable }) => {
      const out = cold("a--b|", { a, b }).pipe(noise({ probability: 1 }));
      expectObservable(out).toBe("a--b|", {
        a: applyNoise(a.text, PERSONA, { probability: 1, seed: 1, interactionId: "", turn: 1 }),
        b: applyNoise(b.text, PERSONA, { probability: 1, seed: 2, interactionId: "", turn: 2 }),
      });
    });
  });

  it("runs a rule-based distractor synchronously and keeps clean what its gate keeps clean", () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const never = buildDistractor(DistractorConfig.parse({ enabled: true, activation_probability: 0 }));
    ts.run(({ cold, expectObservable }) => {
      const out = cold("-a-a|", { a: { text: "Hello there.", persona_features: PERSONA } }).pipe(
        noise({ distractor: never }),
        map((r) => `${r.changed}:${r.noisy_text}`),
      );
      expectObservable(out).toBe("-a-a|", { a: "false:Hello there." });
    });
    expect(never.stats()).toMatchObject({ messages: 2, activated: 0 });
  });
});

// Tasks through a conversation, and a semantic distractor's calls, are promises: outside virtual time.
describe("noise operator (promises: tasks, semantic calls)", () => {
  it("gives a task exactly the noise its conversation's opening message gets", async () => {
    const task = makeTask({
      persona_features: PERSONA,
      initial_query: "Please help me plan a trip to Lisbon in May.",
    });
    const [result] = await lastValueFrom(
      of(task).pipe(noise({ distractor: buildDistractor(always) }), toArray()),
    );
    const assistant = new FakeChatModel({ respond: () => "Sure." });
    const user = new FakeChatModel({ respond: () => "Thanks, and what about hotels?" });
    const deps = {
      ...makeDeps({ assistant, user, minTurns: 1, maxTurns: 1 }),
      noise: buildDistractor(always),
    };
    const interaction = interactionOf(await lastValueFrom(conversation(task, deps)));
    expect(result?.changed).toBe(true);
    expect(interaction.messages[0]?.content).toBe(result?.noisy_text);
    expect(noiseInputOf(task).seed).not.toBe(task.seed); // derived per turn, as converse does
  });

  it("keeps input order with concurrency > 1 when semantic calls finish out of order", async () => {
    const config = DistractorConfig.parse({
      enabled: true,
      use_semantic: true,
      activation_probability: 1,
      layer_weights: { surface_noise: 0, incomplete_information: 1, semantic_ambiguity: 0 },
      strategies: { missing_slots: { mandatory: true } },
      max_semantic_events_per_turn: 1,
    });
    // Semantic calls are promises, outside any scheduler, so no virtual time here: each message's
    // calls wait on a gate the test opens by hand, last message first — finishing out of order
    // for certain, on any machine, with no timers.
    const gates = [0, 1, 2].map(() => deferred());
    const verified = [0, 1, 2].map(() => deferred());
    const started = new Set<number>();
    const allStarted = deferred();
    const finished: number[] = [];
    const call = async (request: ChatRequest) => {
      const prompt = request.messages[0]?.content ?? "";
      // Both the rewrite and the check quote the message: "message <n> with …".
      const n = Number(/message (\d) with/.exec(prompt)?.[1]);
      started.add(n);
      if (started.size === 3) allStarted.resolve();
      await gates[n]?.promise;
      const rewriting = prompt.startsWith("You rewrite");
      if (!rewriting) {
        finished.push(n);
        verified[n]?.resolve();
      }
      const text = rewriting
        ? JSON.stringify({ rewrite: `message ${n} with details, short`, gap: "dropped the rest" })
        : '{"has_gap": true, "invented_facts": []}';
      return {
        text,
        usage: { prompt_tokens: 10, completion_tokens: 5 },
        finishReason: "stop",
        provider: "fake",
        model: "m",
      };
    };
    const calls: string[] = [];
    const items = [0, 1, 2].map((n) => ({
      text: `message ${n} with all the details`,
      persona_features: {},
      seed: n,
    }));
    const done = lastValueFrom(
      of(...items).pipe(
        noise({
          distractor: buildDistractor(config, { call }),
          concurrency: 3,
          onCall: (c) => calls.push(c.operation),
        }),
        toArray(),
      ),
    );
    await allStarted.promise; // concurrency 3: all three are in flight before any finishes
    for (const n of [2, 1, 0]) {
      gates[n]?.resolve();
      await verified[n]?.promise;
    }
    const results = await done;
    expect(finished).toEqual([2, 1, 0]);
    expect(results.map((r) => r.noisy_text)).toEqual([
      "message 0 with details, short",
      "message 1 with details, short",
      "message 2 with details, short",
    ]);
    expect(calls).toEqual(Array(6).fill("distractor"));
  });
});

describe("the distractor inside a conversation", () => {
  it("sends the noisy text to the assistant, the clean text to the simulated user, and records both", async () => {
    const assistant = new FakeChatModel({ respond: (_r, i) => `Answer number ${i + 1}.` });
    const user = new FakeChatModel({
      respond: (_r, i) => `Could you also explain part ${i + 1} in more detail?`,
    });
    const deps = {
      ...makeDeps({ assistant, user, minTurns: 3, maxTurns: 3 }),
      noise: buildDistractor(always),
    };
    const task = makeTask({
      persona_features: PERSONA,
      initial_query: "How do I set up a Python virtual environment?",
    });
    const interaction = interactionOf(await lastValueFrom(conversation(task, deps)));
    const users = interaction.messages.filter((m) => m.role === "user");
    expect(users).toHaveLength(3);
    for (const [i, message] of users.entries()) {
      expect(message.metadata.was_noised).toBe(true);
      expect(message.content).not.toBe(message.metadata.clean_content);
      // The assistant's i-th request ends with exactly the stored (noisy) user message.
      const sent = assistant.calls[i]?.messages.at(-1);
      expect(sent).toEqual({ role: "user", content: message.content });
    }
    // The simulated user's history (its own messages flipped to "assistant") is its clean text.
    const lastUserCall = user.calls.at(-1);
    const ownMessages = lastUserCall?.messages.filter((m) => m.role === "assistant").map((m) => m.content);
    expect(ownMessages).toEqual(users.slice(0, 2).map((m) => m.metadata.clean_content));
    expect(ownMessages).not.toEqual(users.slice(0, 2).map((m) => m.content));
    expect(interaction.metadata.distractor_applied).toBe(true);
    expect(interaction.metadata.distractor_type).toBe("rule_based");
    expect(interaction.metadata.noisy_versions).toEqual({
      initial_query: {
        clean_query: "How do I set up a Python virtual environment?",
        noisy_versions: [
          {
            noisy_text: users[0]?.content,
            noise_type: "surface_noise",
            applied_strategies: (users[0]?.metadata.noise as { applied_strategies?: string[] } | undefined)
              ?.applied_strategies,
          },
        ],
      },
      follow_ups: [2, 3].map((turn) => ({
        turn,
        clean_query: users[turn - 1]?.metadata.clean_content,
        noisy_versions: [
          expect.objectContaining({ noisy_text: users[turn - 1]?.content, noise_type: "surface_noise" }),
        ],
      })),
    });
  });

  it("keeps a persona's channel across its turns and conversations (persona-level draws use the run seed)", async () => {
    const channels: unknown[] = [];
    for (const id of ["c1", "c2", "c3", "c4"]) {
      const assistant = new FakeChatModel({ respond: (_r, i) => `Answer ${i}.` });
      const user = new FakeChatModel({ respond: (_r, i) => `Could you say more about step ${i + 2}?` });
      const deps = {
        ...makeDeps({ assistant, user, minTurns: 3, maxTurns: 3 }),
        noise: buildDistractor(always, { seed: 5 }),
      };
      const task = makeTask({ interaction_id: id, seed: id.charCodeAt(1), persona_features: PERSONA });
      const interaction = interactionOf(await lastValueFrom(conversation(task, deps)));
      for (const m of interaction.messages.filter((m) => m.role === "user"))
        channels.push((m.metadata.noise as { channel?: string }).channel);
    }
    expect(channels).toHaveLength(12);
    expect(new Set(channels).size).toBe(1);
    expect(["mobile_raw", "mobile_autocorrect"]).toContain(channels[0]);
  });

  it("is honest when nothing was noised: distractor_applied false and no noisy_versions", async () => {
    const assistant = new FakeChatModel({ respond: () => "Sure." });
    const user = new FakeChatModel({ respond: () => "And then?" });
    const never = buildDistractor(DistractorConfig.parse({ enabled: true, activation_probability: 0 }));
    const deps = { ...makeDeps({ assistant, user, minTurns: 2, maxTurns: 2 }), noise: never };
    const interaction = interactionOf(await lastValueFrom(conversation(makeTask(), deps)));
    expect(interaction.metadata.distractor_applied).toBe(false);
    expect(interaction.metadata.noisy_versions).toBeUndefined();
    expect(interaction.metadata.distractor_type).toBe("rule_based");
    expect(interaction.messages.every((m) => m.metadata.clean_content === undefined)).toBe(true);
  });

  it("records the semantic calls' usage on the interaction as operation distractor", async () => {
    const helper = new FakeChatModel({
      model: "helper",
      respond: (request) =>
        (request.messages[0]?.content ?? "").startsWith("You rewrite")
          ? JSON.stringify({ rewrite: "help me write python code for that thing", gap: "no antecedent" })
          : '{"has_gap": true, "invented_facts": []}',
    });
    const config = DistractorConfig.parse({
      enabled: true,
      use_semantic: true,
      activation_probability: 1,
      layer_weights: { surface_noise: 0, incomplete_information: 1, semantic_ambiguity: 0 },
    });
    const assistant = new FakeChatModel({ respond: () => "Which thing?" });
    const user = new FakeChatModel({ respond: () => "unused" });
    const deps = {
      ...makeDeps({ assistant, user, minTurns: 1, maxTurns: 1 }),
      noise: buildDistractor(config, { model: helper }),
    };
    const interaction = interactionOf(await lastValueFrom(conversation(makeTask(), deps)));
    expect(interaction.metadata.usage.map((u) => `${u.operation}:${u.model}`)).toEqual([
      "distractor:helper",
      "distractor:helper",
      "assistant_response:fake-model",
    ]);
    expect(interaction.metadata.distractor_type).toBe("semantic");
    const versions = interaction.metadata.noisy_versions as { initial_query: { noisy_versions: unknown[] } };
    expect(versions.initial_query.noisy_versions[0]).toMatchObject({
      noisy_text: "help me write python code for that thing",
      noise_type: "incomplete_information",
    });
    expect(assistant.calls[0]?.messages.at(-1)?.content).toBe("help me write python code for that thing");
  });

  it("gives a retried turn the same noise (seeded per interaction and turn, not per attempt)", async () => {
    const reply = "Can you show me a longer example of that?";
    // The simulated user's first attempt at turn 2 fails like a 503 after its call retries:
    // the step is retried from the last good state and noised again.
    const flakyUser = new FakeChatModel({
      respond: (_r, i) => (i === 0 ? new ProviderError("server", "503") : reply),
    });
    const steadyUser = new FakeChatModel({ respond: () => reply });
    const run = async (user: FakeChatModel) => {
      const assistant = new FakeChatModel({ respond: (_r, i) => `Answer ${i}.` });
      const deps = {
        ...makeDeps({
          assistant,
          user,
          minTurns: 2,
          maxTurns: 2,
          maxRetries: 2,
          retryDelayMs: 0,
          callRetryCount: 0,
        }),
        noise: buildDistractor(always),
      };
      return interactionOf(await lastValueFrom(conversation(makeTask({ persona_features: PERSONA }), deps)));
    };
    const retried = await run(flakyUser);
    const steady = await run(steadyUser);
    const texts = (i: Interaction) => i.messages.filter((m) => m.role === "user").map((m) => m.content);
    expect(flakyUser.callCount).toBe(2);
    expect(texts(retried)).toHaveLength(2);
    expect(texts(retried)).toEqual(texts(steady));
    expect(texts(retried)[1]).not.toBe(reply); // noised, identically
  });
});
