// Issue 3 through the real CLI against the stand-in server: a second run with the same config,
// personas and seed into a new folder makes no model call and reproduces the same texts; a
// budget stops admitting conversations (exit 4) and a rerun with a larger one completes the
// rest without redoing anything; --dry-run spends nothing.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import type { Interaction } from "../../src/schema/interaction.js";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
let server: StandInServer;
let config: string;
let personas: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-replay-"));
  server = await startStandInServer({ latency: 5 });
  config = join(dir, "config.yaml");
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 2",
      "  max_turns: 3",
      "  max_workers: 4",
      `  assistant_model: { provider: openai, model: priced, base_url: "${server.url}", max_completion_tokens: 100 }`,
      `  user_model: { provider: openai, model: priced, base_url: "${server.url}", max_completion_tokens: 50 }`,
      "pricing:",
      '  "openai/priced": { input: 1000, output: 1000 }',
    ].join("\n"),
  );
  personas = join(dir, "personas.jsonl");
  await writeFile(
    personas,
    Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        persona_id: `p${i}`,
        persona_features: { role: "pm" },
        queries: [{ original_query: `How do I run project ${i}?` }],
      }),
    ).join("\n"),
  );
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function texts(out: string): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const name of await readdir(join(out, "interactions"))) {
    const interaction = JSON.parse(await readFile(join(out, "interactions", name), "utf8")) as Interaction;
    result[interaction.interaction_id] = interaction.messages.map((m) => m.content);
  }
  return result;
}

describe("response cache and replay", () => {
  it("replays a whole run into a new folder with no model call and the same texts", async () => {
    const cacheDir = join(dir, "cache");
    const first = await runCli([
      "generate",
      "-c",
      config,
      "-p",
      personas,
      "-o",
      join(dir, "a"),
      "--cache-dir",
      cacheDir,
      "--seed",
      "3",
      "-q",
    ]);
    expect(first.code, first.stderr).toBe(0);
    const before = server.stats.completions;
    expect(before).toBeGreaterThan(0);
    const second = await runCli([
      "generate",
      "-c",
      config,
      "-p",
      personas,
      "-o",
      join(dir, "b"),
      "--cache-dir",
      cacheDir,
      "--seed",
      "3",
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(server.stats.completions).toBe(before); // no model call
    expect(second.stderr).toMatch(/0 model calls \(\+\d+ replayed from the cache\)/);
    expect(await texts(join(dir, "b"))).toEqual(await texts(join(dir, "a")));
    // --no-cache calls the model again.
    await runCli([
      "generate",
      "-c",
      config,
      "-p",
      personas,
      "-o",
      join(dir, "c"),
      "--cache-dir",
      cacheDir,
      "--seed",
      "3",
      "--no-cache",
      "-q",
    ]);
    expect(server.stats.completions).toBeGreaterThan(before);
  });
});

describe("budgets", () => {
  it("--dry-run prints the estimate and makes no call", async () => {
    const before = server.stats.requests;
    const result = await runCli(["generate", "-c", config, "-p", personas, "--dry-run", "--budget-usd", "2"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/dry run, nothing spent: 30 conversations/);
    expect(server.stats.requests).toBe(before);
  });

  it("stops admitting at the budget (exit 4); a larger budget completes the rest, nothing redone", async () => {
    const out = join(dir, "budget");
    const args = ["generate", "-c", config, "-p", personas, "-o", out, "--no-cache", "-q"];
    const first = await runCli([...args, "--budget-usd", "3"]);
    expect(first.code, first.stderr).toBe(4);
    expect(first.stderr).toMatch(/budget reached/);
    const doneFirst = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
    expect(doneFirst.length).toBeGreaterThan(0);
    expect(doneFirst.length).toBeLessThan(30);
    const spentFirst = (await readFile(join(out, "usage.ndjson"), "utf8")).trim().split("\n").length;
    const second = await runCli([...args, "--budget-usd", "1000"]);
    expect(second.code, second.stderr).toBe(0);
    const doneAll = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
    expect(doneAll).toHaveLength(30);
    const ledger = (await readFile(join(out, "usage.ndjson"), "utf8")).trim().split("\n");
    expect(ledger.length - spentFirst).toBe(30 - doneFirst.length); // only the rest was paid for
  });
});
