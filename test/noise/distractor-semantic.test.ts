// The distractor's semantic layers with the scripted fake model: an accepted rewrite is
// recorded with its verdict and target behaviour; rejected ones are retried, then dropped and
// counted; local checks reject invented numbers without a verifier call; model errors fall
// back (transient) or fail loudly (auth); the gate and layer choice are seeded.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { buildDistractor, type DistractorOptions } from "../../src/noise/distractor.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FakeChatModel, type FakeReply } from "../../src/providers/fake.js";
import type { ChatRequest } from "../../src/providers/types.js";
import { DistractorConfig } from "../../src/schema/config.js";

type DistractorConfigInput = z.input<typeof DistractorConfig>;

const TEXT = "Write a Python script that renames 40 files in my photos folder by date.";
const PERSONA = { role: "engineer", communication_style: "casual" };

const isRewrite = (r: ChatRequest) => (r.messages[0]?.content ?? "").startsWith("You rewrite one message");

/** A fake whose rewrite and verifier replies come from two scripts, in order. */
function scripted(rewrites: FakeReply[], verdicts: FakeReply[]): FakeChatModel {
  let r = 0;
  let v = 0;
  return new FakeChatModel({
    respond: (request) =>
      isRewrite(request)
        ? (rewrites[r++] ?? new Error("no rewrite scripted"))
        : (verdicts[v++] ?? new Error("no verdict scripted")),
  });
}

const rewrite = (text: string, gap = "left out the folder") => JSON.stringify({ rewrite: text, gap });
const PASS = '{"has_gap": true, "invented_facts": [], "reason": "the folder is missing"}';
const NO_GAP = '{"has_gap": false, "invented_facts": [], "reason": "nothing is missing"}';

// Semantic only: the incomplete_information layer always, missing_slots as the one strategy.
function semanticConfig(extra: DistractorConfigInput = {}) {
  return DistractorConfig.parse({
    enabled: true,
    use_semantic: true,
    activation_probability: 1,
    layer_weights: { surface_noise: 0, incomplete_information: 1, semantic_ambiguity: 0 },
    strategies: {
      missing_slots: { mandatory: true },
      vague_slot_values: { enabled: false },
      context_dependency: { enabled: false },
      unclear_priority: { enabled: false },
    },
    ...extra,
  });
}

const input = (turn = 1, seed = 7) => ({
  text: TEXT,
  persona_features: PERSONA,
  interaction_id: "i1",
  turn,
  is_initial: turn === 1,
  seed,
});

// A surface layer stand-in that marks the text, so a fallback is visible and exact.
const markSurface: DistractorOptions["surface"] = (text) => ({
  original_text: text,
  noisy_text: `${text} pls`,
  changed: true,
  layer: "surface_noise",
  layers: ["L2_register"],
  applied_strategies: ["colloquial_speech"],
  edits: [{ start: text.length, end: text.length, before: "", after: " pls", strategy: "textism" }],
});

describe("distractor: semantic layers", () => {
  it("records an accepted rewrite with its verdict, target behaviour and both calls", async () => {
    const model = scripted([rewrite("Write a Python script that renames 40 files by date.")], [PASS]);
    const distractor = buildDistractor(semanticConfig(), { model });
    const outcome = await distractor(input());
    expect(outcome.applied).toBe(true);
    expect(outcome.text).toBe("Write a Python script that renames 40 files by date.");
    expect(outcome.details).toMatchObject({
      original_text: TEXT,
      layer: "incomplete_information",
      layers: ["L4_information"],
      applied_strategies: ["missing_slots"],
      edits: [],
      distractor_type: "semantic",
      semantic: {
        strategy: "missing_slots",
        target_behaviour: "ask_for_missing_slot",
        verdict: { passed: true, reasons: [], attempts: 1 },
        gap: "left out the folder",
      },
    });
    expect(outcome.calls?.map((c) => c.operation)).toEqual(["distractor", "distractor"]);
    expect(outcome.calls?.[0]?.usage.prompt_tokens).toBeGreaterThan(0);
    // The verifier saw the original and the rewrite; the rewrite prompt carried the instruction.
    expect(model.calls[0]?.messages[0]?.content).toContain("Leave out one concrete detail");
    expect(model.calls[1]?.messages[0]?.content).toContain(TEXT);
    expect(model.calls[1]?.temperature).toBe(0);
    expect(distractor.stats().semantic).toMatchObject({ attempted: 1, accepted: 1, verifier_passed: 1 });
  });

  it("uses an explicit distractor model's temperature and token cap for its calls", async () => {
    const model = scripted([rewrite("Write a Python script that renames 40 files by date.")], [PASS]);
    await buildDistractor(semanticConfig(), { model, temperature: 0.3, maxTokens: 77 })(input());
    expect(model.calls.map((c) => [c.temperature, c.maxTokens])).toEqual([
      [0.3, 77],
      [0, 77],
    ]);
  });

  it("retries a rejected rewrite (telling the writer why) and passes on the second attempt", async () => {
    const model = scripted(
      [
        rewrite("Write a Python script that renames 40 files in my photos folder, by date."),
        rewrite("Write a Python script to rename 40 files by date."),
      ],
      [NO_GAP, PASS],
    );
    const distractor = buildDistractor(semanticConfig(), { model });
    const outcome = await distractor(input());
    expect(outcome.text).toBe("Write a Python script to rename 40 files by date.");
    expect(outcome.details?.semantic).toMatchObject({
      verdict: { passed: true, reasons: ["no_gap"], attempts: 2 },
    });
    expect(model.calls[2]?.messages[0]?.content).toContain("rejected by a checker (no_gap)");
    expect(distractor.stats().semantic).toMatchObject({
      rewrite_calls: 2,
      verifier_calls: 2,
      verifier_passed: 1,
      verifier_failed: 1,
      dropped: 0,
    });
  });

  it("drops a message whose every rewrite is rejected, counts it, and falls back to surface noise", async () => {
    const model = scripted(
      [
        rewrite("Write a Python script that renames files by date."),
        rewrite("Write a Python script that renames my files."),
      ],
      [NO_GAP, '{"has_gap": true, "invented_facts": ["uses Windows"], "reason": "new fact"}'],
    );
    const distractor = buildDistractor(semanticConfig({ verifier_attempts: 2 }), {
      model,
      surface: markSurface,
    });
    const outcome = await distractor(input());
    expect(outcome.text).toBe(`${TEXT} pls`);
    expect(outcome.details).toMatchObject({
      layer: "surface_noise",
      fallback: {
        from: "incomplete_information",
        reason: "verifier_rejected",
        strategies: ["missing_slots"],
        verdict: { passed: false, reasons: ["no_gap", "invented_fact: uses Windows"], attempts: 2 },
      },
    });
    // Rejected calls are still paid for.
    expect(outcome.calls).toHaveLength(4);
    const stats = distractor.stats();
    expect(stats.semantic).toMatchObject({ attempted: 1, accepted: 0, dropped: 1, verifier_failed: 2 });
    expect(stats.fallbacks).toEqual({ verifier_rejected: 1 });
    expect(stats.applied_layers).toEqual({ surface_noise: 1 });
  });

  it("rejects an invented number or an unparseable reply locally, without asking the verifier", async () => {
    const model = scripted(
      [
        '{"gap": "forgot the rewrite"}',
        rewrite("Write a Python script that renames 41 files in my photos folder by date."),
      ],
      [],
    );
    const distractor = buildDistractor(semanticConfig(), { model, surface: markSurface });
    const outcome = await distractor(input());
    expect(model.calls.every(isRewrite)).toBe(true);
    expect(outcome.details?.fallback).toMatchObject({
      reason: "verifier_rejected",
      verdict: { passed: false, reasons: ["unparseable_rewrite", "invented_number"], attempts: 2 },
    });
    expect(distractor.stats().semantic).toMatchObject({ local_rejections: 2, verifier_calls: 0, dropped: 1 });
  });

  it("rejects a reply that lost the request or talks about the task, whatever a small verifier says", async () => {
    // What the embedded 270M model really wrote for a missing_slots rewrite (and its verifier passed).
    const model = scripted(
      [
        rewrite("I will write you the new message with the required information."),
        rewrite("Here is the rewritten message: rename files."),
      ],
      [PASS, PASS],
    );
    const distractor = buildDistractor(semanticConfig(), { model, surface: markSurface });
    const outcome = await distractor(input());
    expect(outcome.details?.fallback).toMatchObject({
      verdict: { reasons: ["lost_request", "meta_text", "lost_request", "meta_text"] },
    });
    expect(model.calls.every(isRewrite)).toBe(true);
  });

  it("falls back on a transient model error but fails loudly on a wrong key", async () => {
    const flaky = new FakeChatModel({ respond: () => new ProviderError("server", "503") });
    const distractor = buildDistractor(semanticConfig(), { model: flaky, surface: markSurface });
    const outcome = await distractor(input());
    expect(outcome.details?.fallback).toMatchObject({ reason: "model_error" });
    expect(distractor.stats().semantic.errors).toBe(1);

    const denied = new FakeChatModel({ respond: () => new ProviderError("auth", "401 bad key") });
    const strict = buildDistractor(semanticConfig(), { model: denied, surface: markSurface });
    await expect(Promise.resolve(strict(input()))).rejects.toThrow("401 bad key");
  });

  it("falls back to surface noise, and says so, when use_semantic is off", () => {
    const distractor = buildDistractor(semanticConfig({ use_semantic: false }), { surface: markSurface });
    const outcome = distractor(input());
    expect(outcome).not.toBeInstanceOf(Promise); // no model involved: synchronous
    expect(outcome).toMatchObject({
      applied: true,
      text: `${TEXT} pls`,
      details: {
        distractor_type: "rule_based",
        fallback: { from: "incomplete_information", reason: "use_semantic_off" },
      },
    });
    expect(distractor.distractorType).toBe("rule_based");
  });

  it("keeps a message clean when the gate says so, and draws the gate per (seed, interaction, turn)", () => {
    const never = buildDistractor(semanticConfig({ activation_probability: 0, use_semantic: false }), {
      surface: markSurface,
    });
    expect(never(input())).toEqual({ text: TEXT, applied: false });
    expect(never.stats()).toMatchObject({ messages: 1, activated: 0, changed: 0 });

    const half = buildDistractor(DistractorConfig.parse({ enabled: true, activation_probability: 0.5 }), {
      surface: markSurface,
    });
    const gate = (seed: number) => (half(input(1, seed)) as { applied: boolean }).applied;
    const first = Array.from({ length: 200 }, (_, seed) => gate(seed));
    const again = Array.from({ length: 200 }, (_, seed) => gate(seed));
    expect(again).toEqual(first);
    const share = first.filter(Boolean).length / first.length;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
  });

  it("chooses layers by weight: surface 0 and semantic 0 on one side, all semantic on the other", async () => {
    const model = scripted(
      Array.from({ length: 40 }, () =>
        rewrite("Write a Python script that renames 40 files, you know the folder."),
      ),
      Array.from({ length: 40 }, () => PASS),
    );
    const config = DistractorConfig.parse({
      enabled: true,
      use_semantic: true,
      activation_probability: 1,
      layer_weights: { surface_noise: 0, incomplete_information: 1, semantic_ambiguity: 1 },
    });
    const distractor = buildDistractor(config, { model, surface: markSurface });
    for (let seed = 0; seed < 40; seed++) await distractor(input(1, seed));
    const chosen = distractor.stats().chosen_layers;
    expect(chosen.surface_noise).toBeUndefined();
    expect(chosen.incomplete_information).toBeGreaterThan(8);
    expect(chosen.semantic_ambiguity).toBeGreaterThan(8);
  });
});
