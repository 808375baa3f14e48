// Terminal escapes in persona ids, queries, features and model output are shown as visible
// escapes by every command that prints them to a terminal, never written raw; the saved files
// keep the exact text.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputPaths } from "../../src/sinks/layout.js";
import { interactionFileName } from "../../src/sinks/safe-file-name.js";
import {
  assistantMessage,
  makeFailure,
  makeInteraction,
  tempDir,
  userMessage,
  writeRun,
} from "../run/stats-fixtures.js";
import { requireBuild, runCli } from "../support/cli.js";
import { startLoopbackServer } from "../support/loopback-server.js";

const CLEAR = "\x1b[2J\x1b[H";
const TITLE = "\x1b]0;pwned\x07";
const C1_CSI = "\x9b31m";
const RLO = "\u202e";
/** Anything a terminal acts on, \n and \t aside. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const ID = `interaction_evil${CLEAR}`;
const hostile = makeInteraction({
  id: ID,
  persona: `persona${TITLE}`,
  features: { role: `engineer${C1_CSI}`, nickname: `abc${RLO}gnp.exe` },
  assistant: { provider: "openai", model: `gpt${CLEAR}` },
  messages: [
    userMessage(`how do I ${CLEAR}clear the screen?`, { clean: `clean${TITLE}`, noise: {} }),
    assistantMessage(`Like this: ${TITLE}${C1_CSI}done\u0007\r overwritten`),
  ],
});
hostile.original_query = `query${TITLE}`;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  requireBuild();
  ({ dir, cleanup } = await tempDir("convosim-escapes-"));
  await writeRun(
    dir,
    [hostile],
    [makeFailure(`interaction_failed${CLEAR}`, { reason: `model said ${TITLE}` })],
  );
  // An unreadable file whose name and content hold escapes: each command reports it on stderr.
  await writeFile(join(outputPaths(dir).interactions, `broken${CLEAR}.json`), `{"persona_id": "${TITLE}`);
});
afterAll(async () => cleanup());

describe("terminal escapes are printed harmless", () => {
  it("show DIR: the first conversation and the id list carry no raw control character", async () => {
    const run = await runCli(["show", dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW);
    expect(run.stderr).toContain("skipped unreadable");
    expect(run.stderr).not.toMatch(RAW);
    // Visible, not dropped: a person can still see that the text held an escape.
    expect(run.stdout).toContain("\\x1b[2J");
    expect(run.stdout).toContain("\\x1b]0;pwned\\x07");
    expect(run.stdout).toContain("\\x9b31m");
    expect(run.stdout).toContain("\\u{202e}");
  });

  it("show DIR ID: one conversation, no raw control character", async () => {
    const run = await runCli(["show", dir, ID]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("ASSISTANT:");
    expect(run.stdout).not.toMatch(RAW);
  });

  it("show DIR ID for a missing id with an escape: the error line carries none", async () => {
    const run = await runCli(["show", dir, `nope${TITLE}`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*no interaction/);
    expect(run.stderr).not.toMatch(RAW);
  });

  it("stats DIR: models, persona features and failure reasons printed harmless", async () => {
    const run = await runCli(["stats", dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("gpt\\x1b[2J");
    expect(run.stdout).not.toMatch(RAW);
    expect(run.stderr).toContain("skipped unreadable");
    expect(run.stderr).not.toMatch(RAW);
  });

  it("stats DIR --json: valid JSON, no raw control character, the same values once parsed", async () => {
    const run = await runCli(["stats", dir, "--json"]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW);
    const stats = JSON.parse(run.stdout) as { assistant_models: Record<string, number> };
    expect(Object.keys(stats.assistant_models).some((name) => name.includes(CLEAR))).toBe(true);
  });

  it("the saved files keep the exact text", async () => {
    const saved = JSON.parse(
      await readFile(join(outputPaths(dir).interactions, interactionFileName(ID)), "utf8"),
    ) as { persona_id: string };
    expect(saved.persona_id).toBe(`persona${TITLE}`);
  });

  it("an InputError naming a persona id with an escape: one line on stderr, exit 2, no raw escape", async () => {
    const personas = join(dir, "personas.jsonl");
    await writeFile(
      personas,
      `${JSON.stringify({ persona_id: `p${CLEAR}${TITLE}`, persona_features: {}, queries: [] })}\n`,
    );
    const run = await runCli(["generate", "--personas", personas, "--quiet"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toContain("\\x1b[2J");
    expect(run.stderr).not.toMatch(RAW);
  });

  it("a missing personas file whose name holds an escape: the error line carries none", async () => {
    const run = await runCli(["generate", "--personas", join(dir, `missing${TITLE}.jsonl`), "--quiet"]);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toMatch(RAW);
  });

  it("noise: C1 controls and bidi overrides leave as JSON escapes, the data unchanged", async () => {
    const line = `hello ${C1_CSI}${RLO} world`;
    const run = await runCli(["noise", "--probability", "0"], { input: `${line}\n` });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW);
    const result = JSON.parse(run.stdout.trim().split("\n")[0] ?? "{}") as { original_text: string };
    expect(result.original_text).toBe(line);
  });

  it("generate: a failure whose reason quotes a server's escapes is printed harmless in the summary", async () => {
    const server = await startLoopbackServer(() => ({
      status: 400,
      body: { error: { message: `bad request ${TITLE}${CLEAR}${C1_CSI}` } },
    }));
    try {
      const config = join(dir, "escapes-config.yaml");
      const model = `{ provider: openai, model: m, base_url: "${server.url}/v1", api_key_env: CONVOSIM_ESCAPES_KEY }`;
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 1\n  max_turns: 1\n  max_retries: 0\n  assistant_model: ${model}\n  user_model: ${model}\n`,
      );
      const personas = join(dir, "one-persona.jsonl");
      await writeFile(
        personas,
        `${JSON.stringify({ persona_id: `p${CLEAR}`, persona_features: {}, queries: [{ original_query: "hello there friend" }] })}\n`,
      );
      const run = await runCli(
        ["generate", "--config", config, "--personas", personas, "--out", join(dir, "gen-out"), "--no-cache"],
        { env: { CONVOSIM_ESCAPES_KEY: "sk-escapes-test-key" } },
      );
      expect(server.requests.length).toBeGreaterThan(0);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/failed interaction_p.*bad request \\x1b\]0;pwned\\x07/);
      expect(run.stderr).not.toMatch(RAW);
    } finally {
      await server.close();
    }
  });

  it("generate without --out: NDJSON on stdout carries model output's escapes as JSON escapes only", async () => {
    const reply = `Sure ${TITLE}${CLEAR}${C1_CSI}${RLO} done`;
    const server = await startLoopbackServer(() => ({
      status: 200,
      body: {
        id: "c1",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 5 },
      },
    }));
    try {
      const config = join(dir, "ndjson-config.yaml");
      const model = `{ provider: openai, model: m, base_url: "${server.url}/v1", api_key_env: CONVOSIM_ESCAPES_KEY }`;
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 1\n  max_turns: 1\n  assistant_model: ${model}\n  user_model: ${model}\n`,
      );
      const personas = join(dir, "ndjson-persona.jsonl");
      await writeFile(
        personas,
        `${JSON.stringify({ persona_id: `p${CLEAR}`, persona_features: {}, queries: [{ original_query: "hello there friend" }] })}\n`,
      );
      const run = await runCli(
        ["generate", "--config", config, "--personas", personas, "--no-cache", "--quiet"],
        {
          env: { CONVOSIM_ESCAPES_KEY: "sk-escapes-test-key" },
        },
      );
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).not.toMatch(RAW);
      const record = JSON.parse(run.stdout.trim()) as { persona_id: string; messages: { content: string }[] };
      expect(record.persona_id).toBe(`p${CLEAR}`);
      expect(record.messages.map((m) => m.content)).toContain(reply);
    } finally {
      await server.close();
    }
  });

  it("export to stdout: JSON lines carry C1 controls and bidi overrides as \\u escapes, the same text once parsed", async () => {
    const run = await runCli(["export", dir, "--format", "jsonl"]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW);
    expect(run.stdout).toContain("\\u009b31m");
    const rows = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.stringify(JSON.parse(line)));
    expect(rows.join("\n")).toContain(JSON.stringify(`Like this: ${TITLE}${C1_CSI}done`).slice(1, -1));
  });
});
