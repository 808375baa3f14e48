// The dry-run estimate and the budget's per-conversation cost with the simulated user's helper
// models on: the scenario generator, the stop judge and the turn verifier. Each is checked
// against its real request, rendered here around a conversation of the sizes the estimate
// assumes, so the figures are computed, not copied from the estimator.
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { ScenarioGenerator } from "../../src/conversation/scenario-generator.js";
import { describeScenario } from "../../src/conversation/scenario-text.js";
import { StopJudge } from "../../src/conversation/stop-judge.js";
import { TurnVerifier } from "../../src/conversation/turn-verifier.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import type { ChatRequest } from "../../src/providers/types.js";
import { estimateRun, RunEstimator } from "../../src/run/estimate.js";
import {
  JUDGE_MAX_TOKENS,
  SCENARIO_MAX_TOKENS,
  VERIFIER_MAX_TOKENS,
} from "../../src/run/estimate-prompts.js";
import { ConvosimConfig, type ConvosimConfigInput } from "../../src/schema/config.js";
import type { Message, ScenarioRecord } from "../../src/schema/interaction.js";
import type { Persona } from "../../src/schema/persona.js";
import { makeTask } from "../support/pipeline-fixtures.js";

type IG = NonNullable<ConvosimConfigInput["interaction_generation"]>;

// Assistant replies of 100 tokens at most (50 expected), simulated-user replies of 40 (10).
const A = { expected: 50, max: 100 };
const U = { expected: 10, max: 40 };

function config(ig: IG = {}, pricing: ConvosimConfigInput["pricing"] = {}): ConvosimConfig {
  return ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 2,
      max_turns: 4,
      assistant_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: A.max },
      user_model: { provider: "openai", model: "gpt-4o-mini", max_completion_tokens: U.max },
      ...ig,
    },
    pricing,
  });
}

const prices = (c: ConvosimConfig) => new PriceTable(c.pricing);
const fake = new FakeChatModel();

// 40 characters: 10 tokens, as the estimate's opening.
const task = makeTask({ target_turns: 4, initial_query: "x".repeat(40) });
const T = 4; // turns
const M = 2; // min_turns

type Estimate = ReturnType<typeof estimateRun>;

const row = (e: Estimate, role: string) => {
  const found = e.rows.find((r) => r.role === role);
  if (!found) throw new Error(`no ${role} row`);
  return found;
};

const tokens = (e: Estimate) => ({
  expected: e.promptTokens.expected + e.completionTokens.expected,
  max: e.promptTokens.max + e.completionTokens.max,
});

/** What a provider would be charged for one request, as the estimate counts it: chars/4 + 4 per message. */
const sent = (request: ChatRequest) =>
  request.messages.reduce((sum, m) => sum + m.content.length, 0) / 4 + 4 * request.messages.length;

/** Equal but for chars/4 rounding: at most one token per call (`calls`). */
const within = (actual: number, wanted: number, calls: number) =>
  expect(Math.abs(actual - wanted)).toBeLessThanOrEqual(calls);

const message = (role: Message["role"], tokenCount: number): Message => ({
  role,
  content: "x".repeat(Math.round(tokenCount * 4)),
  timestamp: "",
  metadata: {},
});

/** The conversation after k turns: the opening, then k replies and k-1 follow-ups of these sizes. */
function history(k: number, opening: number, a: number, u: number): Message[] {
  const messages = [message("user", opening)];
  for (let turn = 1; turn <= k; turn++) {
    if (turn > 1) messages.push(message("user", u));
    messages.push(message("assistant", a));
  }
  return messages;
}

describe("estimate: helpers off", () => {
  it("changes nothing while a helper is off, whatever model it names", () => {
    const plain = config();
    const off = config({
      scenario_generation: { enabled: false, model: { provider: "openai", model: "gpt-4o" } },
      stop_judge: { enabled: false, model: { provider: "openai", model: "gpt-4o" } },
      turn_verifier: { enabled: false },
    });
    for (const input of [[task], { count: 25, averageQueryChars: 60 }] as const) {
      const a = estimateRun(plain, input, prices(plain));
      const b = estimateRun(off, input, prices(off));
      expect(b.rows).toEqual(a.rows);
      expect(b.costUsd).toEqual(a.costUsd);
    }
    expect(new RunEstimator(off, prices(off)).conversation(task)).toEqual(
      new RunEstimator(plain, prices(plain)).conversation(task),
    );
  });

  it("asks for what the real requests ask for", () => {
    expect(new ScenarioGenerator(fake).buildRequest({}, "q", 0).maxTokens).toBe(SCENARIO_MAX_TOKENS);
    expect(new StopJudge(fake).buildRequest("q", undefined, [], 0).maxTokens).toBe(JUDGE_MAX_TOKENS);
    expect(new TurnVerifier(fake).buildRequest({}, undefined, "a", "b", 0).maxTokens).toBe(
      VERIFIER_MAX_TOKENS,
    );
  });
});

describe("estimate: scenario generation", () => {
  const on = config({ scenario_generation: { enabled: true } });
  const off = config();

  it("adds one call per conversation whose query brings no scenario, at the rendered template", () => {
    const e = estimateRun(on, [task], prices(on));
    const scenario = row(e, "scenario_generation");
    expect(scenario.model).toBe("gpt-4o-mini"); // the user model by default
    expect(scenario.calls).toEqual({ min: 1, expected: 1, max: 1 });
    expect(scenario.completionTokens).toEqual({
      expected: SCENARIO_MAX_TOKENS / 2,
      max: SCENARIO_MAX_TOKENS,
    });
    const request = new ScenarioGenerator(fake).buildRequest(task.persona_features, task.original_query, 0);
    within(scenario.promptTokens.expected, sent(request), 1);
    expect(scenario.promptTokens.max).toBe(scenario.promptTokens.expected);
  });

  it("shows the scenario it will write on every simulated-user call", () => {
    const before = row(estimateRun(off, [task], prices(off)), "user").promptTokens;
    const after = row(estimateRun(on, [task], prices(on)), "user").promptTokens;
    // A scenario as the user's prompt shows it: its headings around the generator's reply.
    const headings =
      describeScenario({
        goal: "-",
        expected_outcome: "-",
        known: ["-", "-", "-", "-"],
        unknown: ["-", "-"],
        constraints: ["-", "-"],
        source: "generated",
      }).length / 4;
    const calls = T - 1;
    within(after.expected - before.expected, calls * (headings + SCENARIO_MAX_TOKENS / 2), calls);
    within(after.max - before.max, calls * (headings + SCENARIO_MAX_TOKENS), calls);
  });

  it("makes no call for a query that brings its scenario, which the user's prompt shows already", () => {
    const given: ScenarioRecord = {
      goal: "get a working CSV parser for my lab's data",
      expected_outcome: "a script that reads the instrument's files",
      known: ["the files use semicolons", "Python 3.11"],
      source: "input",
    };
    const withScenario = { ...task, scenario: given };
    const e = estimateRun(on, [withScenario], prices(on));
    expect(e.rows.some((r) => r.role === "scenario_generation")).toBe(false);
    // Generation on or off, the given scenario is counted the same: on each of the t-1 user calls.
    const plain = estimateRun(off, [withScenario], prices(off));
    expect(e.rows).toEqual(plain.rows);
    const without = row(estimateRun(off, [task], prices(off)), "user").promptTokens.expected;
    const shown = describeScenario(given).length / 4;
    within(row(plain, "user").promptTokens.expected - without, (T - 1) * shown, T - 1);
  });

  it("counts supplement conversations and summaries, and prices the helper's own model", () => {
    const c = config(
      {
        scenario_generation: { enabled: true, model: { provider: "openai", model: "writer" } },
        query_generation: { enabled: true },
        queries_per_persona: 3,
      },
      { "openai/writer": { input: 1, output: 2 } },
    );
    const persona: Persona = {
      persona_id: "p1",
      persona_features: { role: "teacher" },
      queries: [{ original_query: "how do I grade faster?" }],
    };
    const e = estimateRun(c, [persona], prices(c));
    const scenario = row(e, "scenario_generation");
    expect(scenario.model).toBe("writer");
    expect(scenario.calls.expected).toBe(3); // the persona's query and the 2 generated ones
    expect(scenario.costUsd.max).toBeCloseTo(
      (scenario.promptTokens.max * 1 + scenario.completionTokens.max * 2) / 1e6,
    );
    const summary = estimateRun(on, { count: 10, averageQueryChars: 40 }, prices(on));
    expect(row(summary, "scenario_generation").calls).toEqual({ min: 10, expected: 10, max: 10 });
  });
});

describe("estimate: stop judge", () => {
  const on = config({ stop_judge: { enabled: true } });
  const off = config();

  it("adds one call after each reply from min_turns on but the last, each at the transcript so far", () => {
    const e = estimateRun(on, [task], prices(on));
    const judge = row(e, "stop_judge");
    // Turns 2 and 3 of 4 are judged; stopped at min_turns, turn 2 still was.
    expect(judge.calls).toEqual({ min: 1, expected: T - M, max: T - M });
    expect(judge.completionTokens).toEqual({
      expected: (T - M) * JUDGE_MAX_TOKENS * 0.25,
      max: (T - M) * JUDGE_MAX_TOKENS,
    });
    // The real requests, rendered around histories of the estimated sizes.
    const real = new StopJudge(fake);
    for (const pick of ["expected", "max"] as const) {
      let prompt = 0;
      for (let k = M; k < T; k++)
        prompt += sent(
          real.buildRequest(task.original_query, undefined, history(k, 10, A[pick], U[pick]), 0),
        );
      within(judge.promptTokens[pick], prompt, T - M);
    }
    // Nothing else changes.
    const plain = estimateRun(off, [task], prices(off));
    expect(e.rows.filter((r) => r.role !== "stop_judge")).toEqual(plain.rows);
    expect(tokens(e).max - tokens(plain).max).toBeCloseTo(
      judge.promptTokens.max + judge.completionTokens.max,
    );
  });

  it("sees long messages shortened, as the transcript shows them", () => {
    const at = (assistantMax: number) =>
      row(
        estimateRun(
          config({
            stop_judge: { enabled: true },
            assistant_model: {
              provider: "openai",
              model: "gpt-4o-mini",
              max_completion_tokens: assistantMax,
            },
          }),
          [task],
          prices(on),
        ),
        "stop_judge",
      ).promptTokens.max;
    // Replies of 4,000 and 8,000 tokens are both cut to about 1,500 characters.
    expect(at(8000)).toBe(at(4000));
    const real = new StopJudge(fake);
    let prompt = 0;
    for (let k = M; k < T; k++)
      prompt += sent(real.buildRequest(task.original_query, undefined, history(k, 10, 4000, U.max), 0));
    within(at(4000), prompt, T - M);
  });

  it("is never called when conversations cannot go past min_turns", () => {
    const c = config({ stop_judge: { enabled: true }, min_turns: 3, max_turns: 3 });
    const e = estimateRun(c, [makeTask({ target_turns: 3 })], prices(c));
    expect(e.rows.some((r) => r.role === "stop_judge")).toBe(false);
  });

  it("spreads a summary's calls over the turn targets, the ceiling at max_turns", () => {
    const e = estimateRun(on, { count: 30, averageQueryChars: 40 }, prices(on));
    // Targets 2, 3, 4 in equal parts: 0, 1, 2 looks (10 of 30 never judged); the ceiling 2 each.
    expect(row(e, "stop_judge").calls).toEqual({ min: 20, expected: 30, max: 60 });
  });
});

describe("estimate: turn verifier", () => {
  const on = config(
    { turn_verifier: { enabled: true, model: { provider: "openai", model: "checker" } } },
    {
      "openai/checker": { input: 3, output: 4 },
    },
  );
  const off = config();

  it("adds one call per simulated-user message, shown the last reply and the message", () => {
    const e = estimateRun(on, [task], prices(on));
    const verifier = row(e, "turn_verifier");
    expect(verifier.model).toBe("checker");
    expect(verifier.calls).toEqual({ min: M - 1, expected: T - 1, max: T - 1 });
    expect(verifier.completionTokens).toEqual({
      expected: (T - 1) * VERIFIER_MAX_TOKENS * 0.25,
      max: (T - 1) * VERIFIER_MAX_TOKENS,
    });
    const real = new TurnVerifier(fake);
    for (const pick of ["expected", "max"] as const) {
      const one = real.buildRequest(
        task.persona_features,
        undefined,
        "x".repeat(A[pick] * 4),
        "x".repeat(U[pick] * 4),
        0,
      );
      within(verifier.promptTokens[pick], (T - 1) * sent(one), T - 1);
      expect(verifier.costUsd[pick]).toBeCloseTo(
        (verifier.promptTokens[pick] * 3 + verifier.completionTokens[pick] * 4) / 1e6,
      );
    }
    const plain = estimateRun(off, [task], prices(off));
    expect(e.rows.filter((r) => r.role !== "turn_verifier")).toEqual(plain.rows);
  });

  it("with a generated scenario, is shown it too", () => {
    const both = config({ turn_verifier: { enabled: true }, scenario_generation: { enabled: true } });
    const alone = config({ turn_verifier: { enabled: true } });
    const v = (c: ConvosimConfig) => row(estimateRun(c, [task], prices(c)), "turn_verifier").promptTokens;
    expect(v(both).max - v(alone).max).toBeGreaterThan((T - 1) * SCENARIO_MAX_TOKENS);
    expect(v(both).max - v(alone).max).toBeLessThan((T - 1) * (SCENARIO_MAX_TOKENS + 100));
  });
});

describe("the budget's cost of one conversation", () => {
  it("holds all three helpers' calls", () => {
    const off = config();
    const on = config({
      scenario_generation: { enabled: true },
      stop_judge: { enabled: true },
      turn_verifier: { enabled: true },
    });
    const plain = new RunEstimator(off, prices(off)).conversation(task);
    const helped = new RunEstimator(on, prices(on)).conversation(task);
    const run = estimateRun(on, [task], prices(on));
    expect(helped.max.tokens).toBeCloseTo(tokens(run).max);
    expect(helped.expected.usd).toBeCloseTo(run.costUsd.expected);
    // At least the helpers' own rows more; the user's prompts grow by the scenario as well.
    const helpers = run.rows
      .filter((r) => ["scenario_generation", "stop_judge", "turn_verifier"].includes(r.role))
      .reduce((sum, r) => sum + r.promptTokens.max + r.completionTokens.max, 0);
    expect(helpers).toBeGreaterThan(0);
    expect(helped.max.tokens - plain.max.tokens).toBeGreaterThan(helpers);
    expect(helped.max.usd).toBeGreaterThan(plain.max.usd);
    expect(run.format()).toMatch(/scenario generation\s+openai\/gpt-4o-mini/);
    expect(run.format()).toMatch(/stop judge\s+openai\/gpt-4o-mini/);
    expect(run.format()).toMatch(/turn verifier\s+openai\/gpt-4o-mini/);
  });
});
