// End-to-end through the CLI on the REAL embedded models: no API key, no network, short
// outputs. Checks real conversations come out in the reference's format, with real usage —
// two on the small pretrained Gemma (fast), and one on the default instruction-tuned model
// (Qwen2.5-Coder 0.5B, chat template), whose reply must also be on topic.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Interaction } from "../../src/schema/interaction.js";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-local-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("generates real two-turn conversations on the embedded Gemma", async () => {
  const config = join(dir, "local.yaml");
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 2",
      "  max_turns: 2",
      "  max_workers: 2",
      "  assistant_model: { provider: local, model: gemma-3-270m, max_completion_tokens: 32 }",
      // Room to end a line: a reply cut by the token limit is rejected by the turn guards.
      "  user_model: { provider: local, model: gemma-3-270m, max_completion_tokens: 64 }",
    ].join("\n"),
  );
  const out = join(dir, "out");
  const env = { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", OPENROUTER_API_KEY: "" };
  const result = await runCli(["generate", "--config", config, "--limit", "2", "--out", out, "-q"], { env });
  expect(result.code, result.stderr).toBe(0);
  const names = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
  expect(names).toHaveLength(2);
  for (const name of names) {
    const interaction = JSON.parse(await readFile(join(out, "interactions", name), "utf8")) as Interaction;
    expect(interaction.num_turns).toBe(2);
    expect(interaction.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    for (const message of interaction.messages) expect(message.content.trim().length).toBeGreaterThan(0);
    expect(interaction.metadata.assistant_model).toEqual({ provider: "local", model: "gemma-3-270m" });
    // Two assistant replies and at least one simulated-user call (the turn guards may re-ask).
    const operations = interaction.metadata.usage.map((u) => u.operation);
    expect(operations.filter((op) => op === "assistant_response")).toHaveLength(2);
    expect(operations.filter((op) => op === "user_feedback").length).toBeGreaterThanOrEqual(1);
    for (const usage of interaction.metadata.usage) {
      expect(usage.prompt_tokens).toBeGreaterThan(0);
      expect(usage.completion_tokens).toBeGreaterThan(0);
    }
    // The simulated user's follow-up is new text, not an echo of the opening.
    expect(interaction.messages[2]?.content.toLowerCase()).not.toBe(
      interaction.messages[0]?.content.toLowerCase(),
    );
  }
}, 180_000);

it("runs a one-turn conversation on the default model, answering on topic", async () => {
  // No model name: the assistant is the config's default.
  const config = join(dir, "default.yaml");
  await writeFile(
    config,
    [
      // One turn: the opening message and the assistant's reply, through the whole pipeline.
      // (The simulated user's prompting is tested on its own; on this model each follow-up
      // costs a ≈500-token prompt and can take several asks.)
      "interaction_generation:",
      "  min_turns: 1",
      "  max_turns: 1",
      "  assistant_model: { max_completion_tokens: 48 }",
    ].join("\n"),
  );
  const personas = join(dir, "coder.jsonl");
  await writeFile(
    personas,
    `${JSON.stringify({
      persona_id: "data_analyst",
      persona_features: { role: "data analyst", tech_proficiency: "beginner" },
      queries: [
        {
          query_id: "q1",
          original_query: "I need to load a CSV file into pandas. What function should I use?",
        },
      ],
    })}\n`,
  );
  const out = join(dir, "out-default");
  const env = { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", OPENROUTER_API_KEY: "" };
  const result = await runCli(["generate", "-c", config, "-p", personas, "-o", out, "-q", "--no-cache"], {
    env,
  });
  expect(result.code, result.stderr).toBe(0);
  const [name] = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
  const interaction = JSON.parse(
    await readFile(join(out, "interactions", name as string), "utf8"),
  ) as Interaction;
  expect(interaction.metadata.assistant_model).toEqual({
    provider: "local",
    model: "qwen2.5-coder-0.5b-instruct",
  });
  expect(interaction.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
  const replies = interaction.messages.filter((m) => m.role === "assistant");
  for (const message of interaction.messages) {
    expect(message.content.trim().length).toBeGreaterThan(0);
    // Neither transcript speaker labels nor the chat template's control tokens leak into text.
    expect(message.content).not.toMatch(/^(User|Assistant):|\n(User|Assistant):|<\|im_(start|end)\|>/m);
  }
  // The reply answers the opening question — about pandas and CSV files — rather than asking it
  // back (this model often paraphrases a bare "How do I …?" question, see
  // docs/providers-local.md, so the query gives it some context).
  const first = replies[0]?.content ?? "";
  expect(first).toMatch(/csv/i);
  expect(first).toMatch(/pandas|read_csv|pd\./i);
  expect(first).not.toMatch(/^[^\n]*\?$/);
  expect(interaction.metadata.usage).toHaveLength(1);
  for (const usage of interaction.metadata.usage) {
    expect(usage).toMatchObject({ provider: "local", model: "qwen2.5-coder-0.5b-instruct" });
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeGreaterThan(0);
  }
}, 180_000);
