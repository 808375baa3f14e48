// Model choice on the command line (--model/--assistant/--user PROVIDER:MODEL, --base-url) and
// the turn overrides (--min-turns/--max-turns), against a loopback OpenAI-compatible stand-in.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyModelFlags, parseModelChoice } from "../../src/cli/model-flags.js";
import { loadConfig } from "../../src/config/load.js";
import { requireBuild, runCli } from "../support/cli.js";
import {
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from "../support/loopback-server.js";

const PERSONAS = `${[1, 2, 3]
  .map((i) =>
    JSON.stringify({
      persona_id: `p${i}`,
      persona_features: {},
      queries: [{ original_query: `question number ${i}` }],
    }),
  )
  .join("\n")}\n`;

let dir: string;
let personas: string;
let server: LoopbackServer;
const modelOf = (request: RecordedRequest) => (request.body as { model?: string }).model;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-model-flags-"));
  personas = join(dir, "personas.jsonl");
  await writeFile(personas, PERSONAS);
  // The simulated user (model "sim-user") asks a follow-up; the assistant answers.
  server = await startLoopbackServer((request) => {
    const content =
      modelOf(request) === "sim-user"
        ? "ok and where do I find those logs on ubuntu?"
        : "Check the logs first.";
    return {
      status: 200,
      body: {
        id: "c1",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 5 },
      },
    };
  });
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Saved {
  messages: unknown[];
  metadata: { assistant_model: { provider: string; model: string } };
}

async function saved(out: string): Promise<Saved[]> {
  const folder = join(out, "interactions");
  const files = (await readdir(folder)).filter((name) => name.endsWith(".json"));
  return Promise.all(
    files.map(async (name) => JSON.parse(await readFile(join(folder, name), "utf8")) as Saved),
  );
}

describe("--assistant / --user / --base-url / --min-turns / --max-turns", () => {
  it("without a config, run both roles on the models named, at the stand-in, with no key variable", async () => {
    const before = server.requests.length;
    const out = join(dir, "out-flags");
    const run = await runCli(
      [
        "generate",
        "--personas",
        personas,
        "--out",
        out,
        "--no-cache",
        "--limit",
        "2",
        "--assistant",
        "openai:asst-m",
        "--user",
        "openai:sim-user",
        "--base-url",
        `${server.url}/v1`,
        "--min-turns",
        "2",
        "--max-turns",
        "2",
      ],
      { env: { OPENAI_API_KEY: "" } },
    );
    expect(run.stderr).toContain("2 done, 0 failed");
    expect(run.code).toBe(0);
    const models = new Set(server.requests.slice(before).map(modelOf));
    expect(models).toEqual(new Set(["asst-m", "sim-user"]));
    const interactions = await saved(out);
    expect(interactions).toHaveLength(2);
    for (const interaction of interactions) {
      expect(interaction.metadata.assistant_model).toMatchObject({ provider: "openai", model: "asst-m" });
      // Exactly 2 turns (--min-turns 2 --max-turns 2): opening, reply, follow-up, reply.
      expect(interaction.messages).toHaveLength(4);
    }
  });

  it("--model replaces the file's models and endpoint: the file's dead base_url and unset key variable are not used", async () => {
    const config = join(dir, "file-models.yaml");
    const fileModel =
      "{ provider: openai, model: file-m, base_url: 'http://127.0.0.1:9/v1', api_key_env: CONVOSIM_FLAGS_UNSET_KEY }";
    await writeFile(
      config,
      `interaction_generation:\n  min_turns: 1\n  max_turns: 1\n  assistant_model:\n    model_pool:\n      - ${fileModel}\n  user_model: ${fileModel}\n`,
    );
    const before = server.requests.length;
    const run = await runCli([
      "generate",
      "--config",
      config,
      "--personas",
      personas,
      "--no-cache",
      "--quiet",
      "--limit",
      "1",
      "--model",
      "openai:flag-m",
      "--base-url",
      `${server.url}/v1`,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(server.requests.slice(before).map(modelOf)).toEqual(["flag-m"]);
    expect(JSON.parse(run.stdout.trim()).metadata.assistant_model.model).toBe("flag-m");
  });

  it("a hosted provider chosen on the command line needs its default key variable, named before any call", async () => {
    const before = server.requests.length;
    const run = await runCli(["generate", "--personas", personas, "--model", "anthropic:claude-x"], {
      env: { ANTHROPIC_API_KEY: "" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*ANTHROPIC_API_KEY is not set/);
    expect(server.requests.length).toBe(before);
  });

  it.each([
    [["--assistant", "gpt-4o-mini"], /--assistant: must be PROVIDER:MODEL \(got "gpt-4o-mini"\)/],
    [["--user", "groq:llama"], /--user: must be PROVIDER:MODEL/],
    [["--model", "local:not-an-embedded-model"], /not-an-embedded-model/],
    [["--base-url", "http://127.0.0.1:1/v1"], /--base-url: applies to a model chosen on the command line/],
    [
      ["--model", "openai:m", "--base-url", "http://u:secret@127.0.0.1/v1"],
      /must not contain a user name or password/,
    ],
    [["--min-turns", "4", "--max-turns", "3"], /min_turns must not be greater than max_turns/],
    [["--max-turns", "0"], /--max-turns must be an integer ≥ 1/],
  ])("bad %j: one line, exit 2, no call", async (flags, message) => {
    const before = server.requests.length;
    const run = await runCli(["generate", "--personas", personas, "--no-cache", ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain("    at ");
    expect(run.stderr).not.toContain("secret");
    expect(server.requests.length).toBe(before);
  });
});

describe("model flags, in code", () => {
  it("keeps colons after the first in the model (ollama tags)", () => {
    expect(parseModelChoice("--model", "openai:qwen2.5:7b-instruct")).toEqual({
      provider: "openai",
      model: "qwen2.5:7b-instruct",
    });
  });

  it("a local choice drops the file's endpoint and key variable and keeps its other settings", async () => {
    const config = join(dir, "hosted.yaml");
    await writeFile(
      config,
      "interaction_generation:\n  user_model: { provider: openai, model: x, base_url: 'http://127.0.0.1:9/v1', api_key_env: SOME_KEY, temperature: 0.3 }\n",
    );
    const flags = { user: "local:gemma-3-270m" };
    const loaded = await loadConfig(config, { user_model: { provider: "local", model: "gemma-3-270m" } });
    const user = applyModelFlags(loaded, flags).interaction_generation.user_model;
    expect(user).toMatchObject({ provider: "local", model: "gemma-3-270m", temperature: 0.3 });
    expect(user.base_url).toBeUndefined();
    expect(user.api_key_env).toBeUndefined();
  });
});
