// End-to-end through the CLI on the REAL embedded model with the distractor on, semantic layers
// included: one short conversation. The 270M model cannot write a usable rewrite, so what this
// shows is the honest path — its rewrites are paid for (usage "distractor"), rejected, counted
// in the message's fallback, and the message still gets (rule-based) noise with its clean text.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Interaction } from "../../src/schema/interaction.js";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-distractor-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("noises every user message of a local conversation and keeps the clean text", async () => {
  const config = join(dir, "local.yaml");
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 2",
      "  max_turns: 2",
      "  assistant_model: { provider: local, model: gemma-3-270m, max_completion_tokens: 32 }",
      "  user_model: { provider: local, model: gemma-3-270m, max_completion_tokens: 24 }",
      "distractor:",
      "  enabled: true",
      "  use_semantic: true",
      "  activation_probability: 1.0",
      "  layer_weights: { surface_noise: 0, incomplete_information: 1, semantic_ambiguity: 0 }",
      "  verifier_attempts: 1",
    ].join("\n"),
  );
  const personas = join(dir, "personas.jsonl");
  await writeFile(
    personas,
    `${JSON.stringify({
      persona_id: "casual_phone",
      persona_features: { communication_style: "casual", device: "mobile" },
      queries: [{ original_query: "How do I make my tomato plants grow faster on a small balcony?" }],
    })}\n`,
  );
  const out = join(dir, "out");
  const env = { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", OPENROUTER_API_KEY: "" };
  const result = await runCli(["generate", "-c", config, "-p", personas, "-o", out, "-q", "--no-cache"], {
    env,
  });
  expect(result.code, result.stderr).toBe(0);
  const [name] = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
  const interaction = JSON.parse(
    await readFile(join(out, "interactions", name as string), "utf8"),
  ) as Interaction;
  const users = interaction.messages.filter((m) => m.role === "user");
  expect(users).toHaveLength(2);
  for (const message of users) {
    expect(message.metadata.was_noised).toBe(true);
    expect(typeof message.metadata.clean_content).toBe("string");
    expect(message.metadata.clean_content).not.toBe(message.content);
  }
  expect(users[0]?.metadata.clean_content).toBe(interaction.initial_query);
  expect(interaction.metadata.distractor_applied).toBe(true);
  expect(interaction.metadata.distractor_type).toBe("semantic");
  const versions = interaction.metadata.noisy_versions as { initial_query: { clean_query: string } };
  expect(versions.initial_query.clean_query).toBe(interaction.initial_query);
  // Every message drew the semantic layer: at least one rewrite call each, on the local model,
  // recorded on the interaction whether the rewrite was kept or dropped.
  const semanticCalls = interaction.metadata.usage.filter((u) => u.operation === "distractor");
  expect(semanticCalls.length).toBeGreaterThanOrEqual(2);
  for (const message of users) {
    const noise = message.metadata.noise as { layer: string; fallback?: { reason: string } };
    expect(noise.layer === "incomplete_information" || noise.fallback?.reason === "verifier_rejected").toBe(
      true,
    );
  }
  for (const usage of semanticCalls) {
    expect(usage).toMatchObject({ provider: "local", model: "gemma-3-270m" });
    expect(usage.completion_tokens).toBeGreaterThan(0);
  }
}, 300_000);
