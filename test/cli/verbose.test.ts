// --verbose / --log-level debug: one line per model request (endpoint, status, time,
// Retry-After), retries included, never the key — against a loopback OpenAI-compatible stand-in.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";
import {
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from "../support/loopback-server.js";

const SECRET = "sk-verbose-test-DO-NOT-PRINT";
let dir: string;
let personas: string;
let config: string;
let server: LoopbackServer;

const reply = (content: string) => ({
  status: 200,
  body: {
    id: "c",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 5, completion_tokens: 5 },
  },
});

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-verbose-"));
  personas = join(dir, "personas.jsonl");
  await writeFile(
    personas,
    `${JSON.stringify({ persona_id: "p1", persona_features: {}, queries: [{ original_query: "How do I reset it?" }] })}\n`,
  );
  // The first request is a 503 with Retry-After: the retry must be a line of its own.
  server = await startLoopbackServer((request: RecordedRequest, index) => {
    if (index === 0)
      return { status: 503, headers: { "retry-after": "0" }, body: { error: { message: "busy" } } };
    const model = (request.body as { model?: string }).model;
    return reply(
      model === "sim-user" ? "Thanks, that fixed it. ###STOP###" : "Hold the button for ten seconds.",
    );
  });
  config = join(dir, "config.yaml");
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 1",
      "  max_turns: 2",
      "  call_retries: {count: 3, base_delay: 0, max_delay: 0}",
      "  assistant_model:",
      `    {provider: openai, model: asst, base_url: "${server.url}/v1", api_key_env: VERBOSE_TEST_KEY}`,
      "  user_model:",
      `    {provider: openai, model: sim-user, base_url: "${server.url}/v1", api_key_env: VERBOSE_TEST_KEY}`,
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("generate --verbose", () => {
  it.each([["--verbose"], ["--log-level", "debug"]])(
    "%s logs every request with its status, never the key",
    async (...flag) => {
      const before = server.requests.length;
      const out = join(dir, `out-${flag.length}`);
      const run = await runCli(["generate", "-c", config, "-p", personas, "-o", out, "--no-cache", ...flag], {
        env: { VERBOSE_TEST_KEY: SECRET },
      });
      expect(run.code, run.stderr).toBe(0);
      const lines = run.stderr.split("\n").filter((line) => line.startsWith("call POST"));
      // One line per request the server saw, the 503 (with its Retry-After) and the 200s alike.
      expect(lines).toHaveLength(server.requests.length - before);
      expect(lines.filter((line) => / → 200 in \d+ ms$/.test(line)).length).toBe(
        lines.length - (before === 0 ? 1 : 0),
      );
      if (before === 0) expect(lines[0]).toMatch(/→ 503 in \d+ ms \(Retry-After 0\)$/);
      for (const line of lines) expect(line).toContain(`${server.url}/v1/chat/completions`);
      expect(run.stderr).not.toContain(SECRET);
    },
  );

  it("says nothing per request without it", async () => {
    const run = await runCli(
      ["generate", "-c", config, "-p", personas, "-o", join(dir, "quiet"), "--no-cache"],
      {
        env: { VERBOSE_TEST_KEY: SECRET },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/^call POST/m);
  });

  it("refuses an unknown --log-level (exit 2, one line)", async () => {
    const run = await runCli(["generate", "-c", config, "-p", personas, "--log-level", "loud"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--log-level/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
