// The dry-run estimate: call counts for the turn range, prompts that grow as the history is
// resent, pool-weighted cost, unpriced models, resume and limit, helpers, streams, and text.
import { from } from "rxjs";
import { describe, expect, it } from "vitest";
import { AssistantPool } from "../../src/conversation/assistant-pool.js";
import { PriceTable } from "../../src/conversation/pricing.js";
import { UserSimulator } from "../../src/conversation/user-simulator.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { estimateRun, estimateRunFrom, RunEstimator } from "../../src/run/estimate.js";
import { conversationTokens } from "../../src/run/estimate-tally.js";
import { ConvosimConfig, type ConvosimConfigInput } from "../../src/schema/config.js";
import type { Persona } from "../../src/schema/persona.js";
import { personaTasks } from "../../src/sources/tasks.js";
import { makeTask } from "../support/pipeline-fixtures.js";

type IG = NonNullable<ConvosimConfigInput["interaction_generation"]>;

function config(ig: IG = {}, pricing: ConvosimConfigInput["pricing"] = {}): ConvosimConfig {
  return ConvosimConfig.parse({
    interaction_generation: {
      assistant_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: 100 },
      user_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: 40 },
      ...ig,
    },
    pricing,
  });
}

const prices = (c: ConvosimConfig) => new PriceTable(c.pricing);

function persona(id: string, queries: number): Persona {
  return {
    persona_id: id,
    persona_features: { role: "teacher", communication_style: "casual" },
    queries: Array.from({ length: queries }, (_, i) => ({ original_query: `question ${i} from ${id}` })),
  };
}

const row = (e: ReturnType<typeof estimateRun>, role: string, model?: string) => {
  const found = e.rows.find((r) => r.role === role && (model === undefined || r.model === model));
  if (!found) throw new Error(`no ${role} row`);
  return found;
};

describe("estimateRun: calls", () => {
  it("a t-turn conversation makes t assistant and t-1 user calls, over min_turns..max_turns", () => {
    const c = config({ min_turns: 2, max_turns: 4 });
    const e = estimateRun(c, { count: 10, averageQueryChars: 40 }, prices(c));
    expect(e.conversations).toBe(10);
    expect(e.calls).toEqual({ min: 30, expected: 50, max: 70 }); // 10 × (2+1), (3+2), (4+3)
    expect(row(e, "assistant").calls).toEqual({ min: 20, expected: 30, max: 40 });
    expect(row(e, "user").calls).toEqual({ min: 10, expected: 20, max: 30 });
    expect(e.exactTurns).toBe(false);
  });

  it("charges every simulated-user call for the user's system prompt", () => {
    const c = config({ min_turns: 2, max_turns: 4 });
    const at = (chars: number) =>
      row(
        estimateRun(c, { count: 10, averageQueryChars: 40, averageUserPromptChars: chars }, prices(c)),
        "user",
      );
    // 400 more characters = 100 more tokens on each of the 20 expected user calls.
    expect(at(800).promptTokens.expected - at(400).promptTokens.expected).toBeCloseTo(100 * 20);
    expect(at(800).promptTokens.max - at(400).promptTokens.max).toBeCloseTo(100 * 30);
  });

  it("uses a task's own turn target; the user may still stop at min_turns", () => {
    const c = config({ min_turns: 2, max_turns: 5 });
    const e = estimateRun(c, [makeTask({ target_turns: 3 })], prices(c));
    expect(e.exactTurns).toBe(true);
    // Early stop at turn 2: 2 assistant calls + the user's 2 (the last one says stop).
    expect(e.calls).toEqual({ min: 4, expected: 5, max: 5 });
    // Replies: expected at 50% (assistant) and 25% (user) of max_completion_tokens, ceiling at 100%.
    expect(e.completionTokens).toEqual({ expected: 3 * 50 + 2 * 10, max: 3 * 100 + 2 * 40 });
  });
});

describe("estimateRun: prompt tokens", () => {
  it("resends the whole history: the hand-worked sums", () => {
    // t=3, opening 10, user fixed 100, replies a=50 u=20, 4 tokens per message, no system prompt.
    const shape = { assistantSystem: 0, overhead: 4 };
    const one = conversationTokens(3, 1, 10, 100, 50, 20, shape);
    // Assistant calls: 14, 14+54+24, 14+2×78.  User calls: 100+14+54, 100+14+2×54+24.
    expect(one).toEqual({ assistantPrompt: 14 + 92 + 170, userPrompt: 168 + 246 });
    // Linear in the sums: two conversations are twice one.
    expect(conversationTokens(3, 2, 20, 200, 50, 20, shape)).toEqual({
      assistantPrompt: 2 * one.assistantPrompt,
      userPrompt: 2 * one.userPrompt,
    });
  });

  it("measures the assistant's prompts from the system prompt and the opening query", () => {
    const c = config({
      min_turns: 1,
      max_turns: 5,
      assistant_model: {
        provider: "openai",
        model: "gpt-4o-mini",
        max_completion_tokens: 100,
        system_prompt: "Be brief.", // 9 chars: 3 tokens + 4 per message
      },
    });
    const task = makeTask({ target_turns: 3, initial_query: "x".repeat(40) }); // 10 tokens
    const e = estimateRun(c, [task], prices(c));
    // 3 × (7 + 10 + 4) + (a + u + 8) × 3 pairs resent.
    expect(row(e, "assistant").promptTokens).toEqual({ expected: 63 + 68 * 3, max: 63 + 148 * 3 });
  });

  it("grows the simulated user's prompt by one reply and one follow-up per turn", () => {
    const c = config({ min_turns: 1, max_turns: 5 });
    const at = (t: number) =>
      row(estimateRun(c, [makeTask({ target_turns: t })], prices(c)), "user").promptTokens.expected;
    // user(3) − 2·user(2) = (a + 4) + (u + 4): the history of turn 2 is sent once more.
    expect(at(3) - 2 * at(2)).toBe(54 + 14);
    // The fixed part holds the real rendered system prompt.
    const task = makeTask();
    const system = new UserSimulator(new FakeChatModel(), c.interaction_generation.user_model).systemPrompt(
      task,
    );
    expect(at(2)).toBeGreaterThan(Math.ceil(system.length / 4) + 54);
  });
});

describe("estimateRun: cost", () => {
  const pooled = (pool: Array<{ model: string; weight: number }>) =>
    config(
      {
        assistant_model: {
          provider: "openai",
          model: "a",
          max_completion_tokens: 100,
          model_pool: pool.map((p) => ({ provider: "openai" as const, ...p })),
        },
        user_model: { provider: "openai", model: "a", max_completion_tokens: 40 },
      },
      { "openai/a": { input: 1, output: 2 }, "openai/b": { input: 10, output: 20 } },
    );

  it("weights each pool model's cost by its share", () => {
    const c = pooled([
      { model: "a", weight: 3 },
      { model: "b", weight: 1 },
    ]);
    const e = estimateRun(c, { count: 1000, averageQueryChars: 60 }, prices(c));
    const a = row(e, "assistant", "a");
    const b = row(e, "assistant", "b");
    expect(a.share).toBeCloseTo(0.75);
    expect(b.share).toBeCloseTo(0.25);
    expect(b.promptTokens.expected / a.promptTokens.expected).toBeCloseTo(1 / 3);
    // b is ten times dearer and gets a third of a's tokens.
    expect(b.costUsd.expected / a.costUsd.expected).toBeCloseTo(10 / 3);
    const sum = e.rows.reduce((s, r) => s + r.costUsd.max, 0);
    expect(e.costUsd.max).toBeCloseTo(sum);
    expect(a.costUsd.expected).toBeCloseTo(
      (a.promptTokens.expected * 1 + a.completionTokens.expected * 2) / 1e6,
    );
  });

  it("with real tasks, gives each the model its seed chooses", () => {
    const c = pooled([
      { model: "a", weight: 1 },
      { model: "b", weight: 1 },
      { model: "c", weight: 0 },
    ]);
    const personas = Array.from({ length: 100 }, (_, i) => persona(`p${i}`, 4));
    const e = estimateRun(c, personas, prices(c));
    expect(e.conversations).toBe(400);
    expect(e.rows.some((r) => r.model === "c")).toBe(false); // weight 0: never chosen
    const a = row(e, "assistant", "a").share ?? 0;
    expect(a + (row(e, "assistant", "b").share ?? 0)).toBeCloseTo(1);
    expect(a).toBeGreaterThan(0.4);
    expect(a).toBeLessThan(0.6);
    // Task by task, the estimate's model is the one the run's pool will lock for that seed.
    const pool = new AssistantPool(
      ["a", "b", "c"].map((model, i) => ({
        model: new FakeChatModel({ provider: "openai", model }),
        weight: i < 2 ? 1 : 0,
        temperature: 0,
        maxTokens: 100,
      })),
    );
    for (const task of personaTasks(personas[0]!, { seed: 0 }).concat(
      personaTasks(personas[1]!, { seed: 0 }),
    )) {
      const one = estimateRun(c, [task], prices(c));
      expect(one.rows.filter((r) => r.role === "assistant").map((r) => r.model)).toEqual([
        pool.choose(task.seed).model.model,
      ]);
    }
  });

  it("counts unknown prices as 0 and reports them as unpriced; local models are free, not unpriced", () => {
    const c = config({
      user_model: { provider: "openai", model: "mystery", max_completion_tokens: 40 },
      style_transfer: { enabled: true, model: { provider: "local", model: "gemma-3-270m" } },
    });
    const e = estimateRun(c, { count: 5, averageQueryChars: 30 }, prices(c));
    expect(e.unpriced).toEqual(["openai/mystery"]);
    const user = row(e, "user");
    expect(user.priced).toBe(false);
    expect(user.costUsd).toEqual({ expected: 0, max: 0 });
    expect(user.promptTokens.expected).toBeGreaterThan(0);
    expect(row(e, "style_transfer").priced).toBe(true);
    expect(row(e, "assistant").costUsd.expected).toBeGreaterThan(0);
  });
});

describe("estimateRun: what runs", () => {
  it("skips finished tasks and applies the limit before skipping, as generate() does", () => {
    const c = config();
    const p = persona("p1", 3);
    const [first] = personaTasks(p, { seed: 0 });
    const skip = { has: (id: string) => id === first!.interaction_id };
    expect(estimateRun(c, [p], prices(c), { skip })).toMatchObject({ conversations: 2, skipped: 1 });
    expect(estimateRun(c, [p], prices(c), { skip, limit: 2 })).toMatchObject({
      conversations: 1,
      skipped: 1,
    });
  });

  it("adds style transfer calls, and a rewrite's ceiling to the opening message", () => {
    const c = config({ style_transfer: { enabled: true } });
    const e = estimateRun(c, [persona("p1", 2), persona("p2", 1)], prices(c));
    const style = row(e, "style_transfer");
    expect(style.calls).toEqual({ min: 3, expected: 3, max: 3 });
    expect(style.completionTokens).toEqual({ expected: 3 * 64, max: 3 * 256 });
    expect(style.promptTokens.expected).toBeGreaterThan(3 * 50); // the rendered template
  });

  it("adds supplement rounds for personas short of queries_per_persona", () => {
    const c = config({
      query_generation: { enabled: true },
      queries_per_persona: 3,
      max_supplement_rounds: 2,
    });
    const e = estimateRun(c, [persona("p1", 1), persona("p2", 3)], prices(c));
    expect(e.supplementConversations).toBe(2);
    expect(e.conversations).toBe(1 + 3 + 2);
    expect(row(e, "query_generation").calls).toEqual({ min: 1, expected: 1, max: 2 });
  });

  it("reads a stream in one pass, with the same result as in memory, and stops at the limit", async () => {
    const c = config();
    const personas = Array.from({ length: 300 }, (_, i) => persona(`p${i}`, 2));
    const inMemory = estimateRun(c, personas, prices(c));
    const fromObservable = await estimateRunFrom(c, from(personas), prices(c));
    let pulled = 0;
    async function* lazily() {
      for (const p of personas) {
        pulled++;
        yield p;
      }
    }
    const fromIterable = await estimateRunFrom(c, lazily(), prices(c));
    const figures = (e: typeof inMemory) => [e.conversations, e.calls, e.promptTokens, e.costUsd];
    expect(figures(fromObservable)).toEqual(figures(inMemory));
    expect(figures(fromIterable)).toEqual(figures(inMemory));
    pulled = 0;
    const limited = await estimateRunFrom(c, lazily(), prices(c), { limit: 10 });
    expect(limited.conversations).toBe(10);
    expect(pulled).toBe(6); // 5 personas fill the limit; the 6th is read and not used
  });
});

describe("RunEstimator.conversation", () => {
  it("prices one task as a one-task run, ceiling above expectation", () => {
    const c = config({ style_transfer: { enabled: true } });
    const task = makeTask();
    const estimator = new RunEstimator(c, prices(c));
    const one = estimator.conversation(task);
    const run = estimateRun(c, [task], prices(c));
    expect(one.max.usd).toBeCloseTo(run.costUsd.max);
    expect(one.expected.tokens).toBeCloseTo(run.promptTokens.expected + run.completionTokens.expected);
    expect(one.max.tokens).toBeGreaterThan(one.expected.tokens);
    expect(one.max.usd).toBeGreaterThan(one.expected.usd);
  });
});

describe("RunEstimate.format", () => {
  it("prints the table, what was spent, the budget verdict and the assumptions", () => {
    const c = config({ user_model: { provider: "openai", model: "mystery", max_completion_tokens: 40 } });
    const e = estimateRun(c, { count: 100, averageQueryChars: 80 }, prices(c));
    const text = e.format({
      spent: { usd: 0.5, tokens: 1000, conversations: 7 },
      budget: { usd: 0.5 },
      out: "out",
    });
    expect(text).toMatch(/^dry run, nothing spent: 100 conversations, 2–5 turns each/);
    expect(text).toMatch(/assistant\s+openai\/gpt-4o-mini\s+100%/);
    expect(text).toMatch(/user\s+openai\/mystery \(no price\)/);
    expect(text).toContain("already spent in out: $0.50 · 1,000 tokens over 7 conversations");
    expect(text).toContain("budget $0.50 (for this output folder, across runs): $0.00 left");
    expect(text).toContain("exit code 4");
    expect(text).toContain("no price for openai/mystery");
    const roomy = e.format({ budget: { usd: 1000 } });
    expect(roomy).toContain("(for this run): $1000.00 left; even the ceiling fits.");
  });
});

describe("estimateRun: the distractor's semantic layers", () => {
  const withNoise = (distractor: ConvosimConfigInput["distractor"]) =>
    ConvosimConfig.parse({
      interaction_generation: {
        min_turns: 3,
        max_turns: 3,
        assistant_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: 100 },
        user_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: 40 },
      },
      distractor,
    });

  it("adds a rewrite and a verdict per user message drawn for a semantic layer, up to verifier_attempts", () => {
    const c = withNoise({
      enabled: true,
      use_semantic: true,
      activation_probability: 0.5,
      layer_weights: { surface_noise: 1, incomplete_information: 1, semantic_ambiguity: 2 },
      verifier_attempts: 2,
    });
    const e = estimateRun(c, { count: 10, averageQueryChars: 40 }, prices(c));
    // 30 user messages × 0.5 activation × 3/4 semantic weight = 11.25 rewrites expected, 2 calls each;
    // at most every message, 2 attempts of 2 calls.
    expect(row(e, "distractor").calls).toEqual({ min: 0, expected: 22.5, max: 120 });
    expect(row(e, "distractor").promptTokens.expected).toBeGreaterThan(0);
    expect(e.calls.max).toBe(10 * 5 + 120);
  });

  it("adds nothing for rule-based noise alone", () => {
    const c = withNoise({ enabled: true, activation_probability: 1 });
    const e = estimateRun(c, { count: 10, averageQueryChars: 40 }, prices(c));
    expect(e.rows.some((r) => r.role === "distractor")).toBe(false);
    expect(e.calls.max).toBe(50);
  });

  it("counts them in one conversation's cost, which budget reservations hold", () => {
    const plain = new RunEstimator(withNoise({ enabled: true }), prices(withNoise({})));
    const semantic = new RunEstimator(
      withNoise({ enabled: true, use_semantic: true, activation_probability: 1 }),
      prices(withNoise({})),
    );
    const task = makeTask({ target_turns: 3 });
    expect(semantic.conversation(task).max.tokens).toBeGreaterThan(plain.conversation(task).max.tokens);
  });
});
