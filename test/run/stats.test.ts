// computeStats over hand-built folders: every figure checked against what the fixtures hold,
// the JSON form round-trips, and the bounded counters cap what they keep.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeStats, formatStats } from "../../src/run/stats.js";
import { characterErrorRate, editDistance } from "../../src/run/stats-noise.js";
import { featureValues } from "../../src/run/stats-personas.js";
import { CappedCounter, LengthTally, OTHER } from "../../src/run/stats-tally.js";
import {
  assistantMessage,
  makeFailure,
  makeInteraction,
  tempDir,
  usage,
  userMessage,
  writeRun,
} from "./stats-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const x = (n: number) => "x".repeat(n);

describe("computeStats", () => {
  it("counts interactions, turns, stop reasons, models, usage and failures", async () => {
    const gpt = { provider: "openai", model: "gpt-4o-mini" };
    const claude = { provider: "anthropic", model: "claude-haiku" };
    await writeRun(
      dir,
      [
        makeInteraction({ id: "a", stop: "target_turns", assistant: gpt }),
        makeInteraction({
          id: "b",
          stop: "user_satisfied",
          assistant: claude,
          messages: [userMessage("q"), assistantMessage("a"), userMessage("q2"), assistantMessage("a2")],
          usage: [
            usage({ provider: "anthropic", model: "claude-haiku", cost_usd: 0.002, cached_tokens: 40 }),
            usage({
              operation: "user_feedback",
              prompt_tokens: 50,
              completion_tokens: 10,
              replayed: true,
              cost_usd: 0,
            }),
          ],
        }),
        makeInteraction({ id: "c", stop: "target_turns", assistant: claude }),
      ],
      [
        makeFailure("f1"),
        makeFailure("f2", { error_kind: "server", reason: "HTTP 500 from the endpoint\nstack…" }),
      ],
    );
    const stats = await computeStats(dir);
    expect(stats).toMatchObject({
      interactions: 3,
      failed: 2,
      success_rate: 3 / 5,
      turns: { "1": 2, "2": 1 },
      average_turns: 4 / 3,
      stop_reasons: { target_turns: 2, user_satisfied: 1 },
      assistant_models: { "openai/gpt-4o-mini": 1, "anthropic/claude-haiku": 2 },
      user_models: { "openai/gpt-4o-mini": 3 },
      failures_by_kind: { rate_limit: 1, server: 1 },
      failures_by_reason: { "rate limited after 4 retries": 1, "HTTP 500 from the endpoint": 1 },
      unreadable_failure_lines: 0,
    });
    // a and c: one gpt call each (100+20); b: claude (100+20, 40 cached) and a replayed user call.
    expect(stats.usage_by_model["anthropic/claude-haiku"]).toMatchObject({ calls: 1, cached_tokens: 40 });
    expect(stats.usage_by_model["openai/gpt-4o-mini"]).toMatchObject({
      calls: 2 + 1 + 2, // a, c, b's user call, two failures
      prompt_tokens: 100 + 100 + 50 + 7 + 7,
      replayed: 1,
    });
    expect(stats.usage_by_role.user_feedback).toMatchObject({
      calls: 1,
      prompt_tokens: 50,
      completion_tokens: 10,
    });
    expect(stats.usage["assistant_response anthropic/claude-haiku"]?.cost_usd).toBeCloseTo(0.002);
    expect(stats.total_tokens).toEqual({ prompt: 364, completion: 76, cached: 40 });
    expect(stats.total_cost_usd).toBeCloseTo(0.001 * 2 + 0.002 + 0.0001 * 2, 10);
  });

  it("summarises message lengths by role with exact percentiles and fixed bins", async () => {
    const users = [10, 20, 30, 40, 60, 120, 250, 600, 1500, 6000];
    await writeRun(
      dir,
      users.map((n, i) =>
        makeInteraction({ id: `i${i}`, messages: [userMessage(x(n)), assistantMessage(x(n * 2))] }),
      ),
    );
    const { message_lengths } = await computeStats(dir);
    expect(message_lengths.user).toEqual({
      count: 10,
      mean: users.reduce((a, b) => a + b) / 10,
      p50: 60,
      p90: 1500,
      max: 6000,
      histogram: { edges: [0, 50, 100, 200, 500, 1000, 2000, 5000], counts: [4, 1, 1, 1, 1, 1, 0, 1] },
    });
    expect(message_lengths.assistant).toMatchObject({ count: 10, p50: 120, max: 12_000 });
  });

  it("covers persona features once per persona, with top values and the rest as other", async () => {
    const interactions = Array.from({ length: 30 }, (_, i) =>
      makeInteraction({
        id: `i${i}`,
        persona: `p${i}`,
        features: {
          role: i < 20 ? "engineer" : "teacher",
          city: `city${i}`, // 30 distinct: top 20 listed, 10 under other
          ...(i % 3 === 0 ? { hobbies: ["chess", "go"] } : {}),
          empty: "",
        },
      }),
    );
    // The same persona again with another query: counted once.
    interactions.push(
      makeInteraction({ id: "again", persona: "p0", features: interactions[0]?.persona_features ?? {} }),
    );
    await writeRun(dir, interactions);
    const { persona_features } = await computeStats(dir);
    expect(persona_features.personas).toBe(30);
    expect(persona_features.features.role).toEqual({
      personas: 30,
      share: 1,
      distinct: 2,
      values: { engineer: 20, teacher: 10 },
    });
    expect(persona_features.features.hobbies).toMatchObject({
      personas: 10,
      share: 0.3333,
      values: { chess: 10, go: 10 },
    });
    const city = persona_features.features.city;
    expect(city?.distinct).toBe(30);
    expect(Object.keys(city?.values ?? {})).toHaveLength(21);
    expect(city?.values[OTHER]).toBe(10);
    expect(persona_features.features.empty).toBeUndefined();
  });

  it("reads noise layers, strategies, edits and the character error rate", async () => {
    const noise = (layer: string, strategies: string[], edits = 1) => ({
      layer,
      layers: [layer === "surface_noise" ? "L1_spelling" : "L5_incomplete"],
      applied_strategies: strategies,
      edits: Array.from({ length: edits }, () => ({
        start: 0,
        end: 1,
        before: "h",
        after: "",
        strategy: "x",
      })),
      channel: "mobile_raw",
    });
    await writeRun(dir, [
      makeInteraction({
        id: "n1",
        messages: [
          userMessage("helo world", {
            clean: "hello world",
            noise: noise("surface_noise", ["typo_deletion"]),
          }),
          assistantMessage("hi"),
          userMessage("plain follow-up"),
          assistantMessage("ok"),
        ],
      }),
      makeInteraction({
        id: "n2",
        metadata: { distractor_type: "semantic" },
        messages: [
          userMessage("fix my code", {
            clean: "fix my python code",
            noise: {
              ...noise("incomplete_information", [], 0),
              semantic: { strategy: "drop_slot", rewrite: "fix my code", verdict: { passed: true } },
            },
          }),
          assistantMessage("which language?"),
        ],
      }),
      makeInteraction({ id: "clean" }),
    ]);
    const { noise: stats } = await computeStats(dir);
    expect(stats).toMatchObject({
      user_messages: 4,
      noised_messages: 2,
      noised_share: 0.5,
      interactions_with_noise: 2,
      layers: { surface_noise: 1, incomplete_information: 1 },
      layer_names: { L1_spelling: 1, L5_incomplete: 1 },
      strategies: { typo_deletion: 1, drop_slot: 1 },
      channels: { mobile_raw: 2 },
      edits: 1,
      semantic_rewrites: 1,
      semantic_verified: 1,
      distractor_types: { semantic: 1 },
    });
    // 1 deletion over 11 chars; 7 deleted over 18 chars.
    expect(stats.character_error_rate.count).toBe(2);
    expect(stats.character_error_rate.mean).toBeCloseTo((1 / 11 + 7 / 18) / 2, 4);
    expect(stats.character_error_rate.max).toBeCloseTo(7 / 18, 4);
  });

  it("gives zeros (never NaN) for an empty folder and a JSON document that round-trips", async () => {
    await writeRun(dir, []);
    const stats = await computeStats(dir);
    expect(stats).toMatchObject({ interactions: 0, failed: 0, success_rate: 0, average_turns: 0 });
    expect(stats.message_lengths.user).toMatchObject({ count: 0, mean: 0, p50: 0 });
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
    expect(formatStats(stats)).toMatch(/interactions: 0 {3}failed: 0/);
  });

  it("counts unreadable failure lines instead of failing", async () => {
    await writeRun(dir, [makeInteraction({ id: "a" })], [makeFailure("f")]);
    const { appendFile } = await import("node:fs/promises");
    await appendFile(`${dir}/failures.ndjson`, "{not json\n");
    const stats = await computeStats(dir);
    expect(stats).toMatchObject({ failed: 1, unreadable_failure_lines: 1 });
  });

  it("formats a readable text form with every section", async () => {
    await writeRun(
      dir,
      [
        makeInteraction({
          id: "n1",
          messages: [
            userMessage("helo", {
              clean: "hello",
              noise: { layer: "surface_noise", applied_strategies: ["typo"] },
            }),
            assistantMessage("hi"),
          ],
        }),
      ],
      [makeFailure("f")],
    );
    const text = formatStats(await computeStats(dir));
    expect(text).toContain("interactions: 1   failed: 1   success rate: 50.0%");
    expect(text).toContain("stop reasons: target_turns 1");
    expect(text).toMatch(/user {7}count 1 {2}mean 4 {2}p50 4 {2}p90 4 {2}max 4/);
    expect(text).toContain("role: 100.0% of personas, 1 distinct: engineer 1");
    expect(text).toContain("noise: 1 of 1 user messages noised (100.0%)");
    expect(text).toContain("strategies: typo 1");
    expect(text).toContain("character error rate: count 1  mean 20.0%");
    expect(text).toContain("failures: rate_limit 1");
    expect(text).toMatch(/total cost: \$0\.0011/);
  });
});

describe("bounded counters", () => {
  it("editDistance agrees with the textbook dynamic programme", () => {
    const naive = (a: string, b: string): number => {
      const d = Array.from({ length: a.length + 1 }, (_, i) =>
        Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
      );
      for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
          d[i]![j] = Math.min(
            d[i - 1]![j]! + 1,
            d[i]![j - 1]! + 1,
            d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
          );
      return d[a.length]![b.length]!;
    };
    const text = fc.string({ unit: fc.constantFrom("a", "b", "c", " "), maxLength: 12 });
    fc.assert(fc.property(text, text, (a, b) => editDistance(a, b) === naive(a, b)));
    expect(characterErrorRate("abc", "abc")).toBe(0);
    expect(characterErrorRate("", "abc")).toBe(1);
  });

  it("LengthTally's percentiles match a sort (exactly below 16k, within 1/64 above)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 200 }),
        (values) => {
          const tally = new LengthTally();
          for (const v of values) tally.add(v);
          const sorted = [...values].sort((a, b) => a - b);
          for (const q of [0.5, 0.9]) {
            const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
            const got = tally.quantile(q);
            if (exact < 16_384) expect(got).toBe(exact);
            else expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(1 / 64);
          }
          expect(tally.summary().max).toBe(sorted.at(-1));
        },
      ),
    );
  });

  it("CappedCounter keeps at most `cap` values and counts the rest as other", () => {
    const counter = new CappedCounter(3);
    for (const v of ["a", "a", "b", "c", "d", "e", "a"]) counter.add(v);
    expect(counter.top(2)).toEqual({
      values: { a: 3, b: 1, [OTHER]: 3 },
      distinct: 4,
      distinct_is_lower_bound: true,
    });
  });

  it("featureValues flattens lists and drops empty values", () => {
    expect(featureValues(["x", "y", "x"])).toEqual(["x", "y"]);
    expect(featureValues(null)).toEqual([]);
    expect(featureValues("  ")).toEqual([]);
    expect(featureValues(3)).toEqual(["3"]);
    expect(featureValues({ a: 1 })).toEqual(['{"a":1}']);
    expect(featureValues("y".repeat(200))[0]).toHaveLength(80);
  });
});
