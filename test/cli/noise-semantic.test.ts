// `convosim noise --semantic --config F`: the config's distractor, semantic layers on, played by
// a loopback server speaking the OpenAI API: one JSON line per input line, semantic rewrites
// with their verdict and target behaviour, the rest surface noise; --report refuses the mix.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNoise } from "../../src/cli/noise-run.js";
import { InputError } from "../../src/config/errors.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

let server: LoopbackServer;
const dir = mkdtempSync(join(tmpdir(), "convosim-noise-semantic-"));

beforeAll(async () => {
  server = await startLoopbackServer((request) => {
    const body = request.body as { model: string; messages: Array<{ content: string }> };
    const prompt = body.messages.at(-1)?.content ?? "";
    const content = prompt.startsWith("You rewrite one message")
      ? JSON.stringify({
          rewrite: "Please fix the login bug in that module before Friday.",
          gap: "no antecedent",
        })
      : JSON.stringify({ has_gap: true, invented_facts: [], reason: "ok" });
    return {
      status: 200,
      body: {
        id: "x",
        object: "chat.completion",
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 50, completion_tokens: 10 },
      },
    };
  });
  process.env.CONVOSIM_NOISE_TEST_KEY = "sk-test";
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.CONVOSIM_NOISE_TEST_KEY;
});

function configFile(): string {
  const path = join(dir, "config.yaml");
  writeFileSync(
    path,
    [
      "distractor:",
      "  enabled: true",
      "  layer_weights: {surface_noise: 1, incomplete_information: 1, semantic_ambiguity: 0}",
      "  model:",
      "    provider: openai",
      "    model: helper",
      `    base_url: ${server.url}/v1`,
      "    api_key_env: CONVOSIM_NOISE_TEST_KEY",
    ].join("\n"),
  );
  return path;
}

async function run(lines: string[], options: Parameters<typeof runNoise>[0]) {
  const stdout = new PassThrough();
  const chunks: string[] = [];
  stdout.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  const code = await runNoise(options, { stdin: Readable.from(lines.map((l) => `${l}\n`)), stdout });
  return {
    code,
    results: chunks
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
  };
}

describe("convosim noise --semantic --config", () => {
  it("previews the config's distractor with semantic rewrites, one JSON line per message", async () => {
    const lines = Array.from(
      { length: 12 },
      (_, i) => `Please fix the login bug in module ${i} before Friday.`,
    );
    const { code, results } = await run(lines, {
      config: configFile(),
      semantic: true,
      probability: 1,
      seed: 3,
    });
    expect(code).toBe(0);
    expect(results).toHaveLength(12);
    const semantic = results.filter((r) => r.layer === "incomplete_information");
    const surface = results.filter((r) => r.layer === "surface_noise");
    expect(semantic.length).toBeGreaterThan(0);
    expect(surface.length).toBeGreaterThan(0);
    expect(semantic.length + surface.length).toBe(12);
    for (const r of semantic) {
      expect(r.noisy_text).toBe("Please fix the login bug in that module before Friday.");
      expect(r.semantic.verdict).toEqual({ passed: true, reasons: [], attempts: 1 });
      expect(r.semantic.target_behaviour).toMatch(/^(ask_for|clarify)/);
      expect(r.edits).toEqual([]);
    }
    for (const r of surface) expect(r.edits.length).toBeGreaterThan(0);
    expect(server.requests.length).toBe(semantic.length * 2);
    // Same flags, same output.
    const again = await run(lines, { config: configFile(), semantic: true, probability: 1, seed: 3 });
    expect(again.results).toEqual(results);
  });

  it("refuses --report with --semantic (the report measures the rule-based layers)", async () => {
    await expect(run(["hi"], { config: configFile(), semantic: true, report: true })).rejects.toBeInstanceOf(
      InputError,
    );
  });
});
