// End-to-end through the CLI on the REAL embedded model: no API key, no network, short
// outputs. Checks real conversations come out in the reference's format, with real usage.
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

it("generates real two-turn conversations on the embedded model", async () => {
  const config = join(dir, "local.yaml");
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 2",
      "  max_turns: 2",
      "  max_workers: 2",
      "  assistant_model: { provider: local, model: gemma-3-270m, max_completion_tokens: 32 }",
      "  user_model: { provider: local, model: gemma-3-270m, max_completion_tokens: 24 }",
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
    expect(interaction.metadata.usage).toHaveLength(3);
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
