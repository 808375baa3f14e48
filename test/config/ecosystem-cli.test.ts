// The conventions a new user brings from other tools, through the built CLI: OPENAI_BASE_URL and
// OPENAI_API_KEY as the openai SDK reads them, --env-file, and a --dry-run that needs no key.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";

let dir: string;
let server: LoopbackServer | undefined;

/** Variables a developer's shell may hold that would change what these runs do. */
const CLEAN_ENV = {
  OPENAI_API_KEY: undefined,
  OPENAI_BASE_URL: undefined,
  ANTHROPIC_API_KEY: undefined,
  ANTHROPIC_BASE_URL: undefined,
  CONVOSIM_TEST_MODEL: undefined,
};

const HOSTED_CONFIG = [
  "interaction_generation:",
  "  max_turns: 2",
  "  min_turns: 1",
  "  assistant_model:",
  "    provider: openai",
  "    model: gpt-4o-mini",
  "  user_model:",
  "    provider: openai",
  "    model: gpt-4o-mini",
  "",
].join("\n");

const PERSONA = JSON.stringify({
  persona_id: "p1",
  persona_features: { role: "tester" },
  queries: [{ query_id: "q1", original_query: "how do I test?" }],
});

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-ecosystem-"));
  await writeFile(join(dir, "hosted.yaml"), HOSTED_CONFIG);
  await writeFile(join(dir, "personas.jsonl"), `${PERSONA}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function chatCompletion(content: string) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 0,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

describe("--dry-run needs no API key", () => {
  it("a hosted config with OPENAI_API_KEY unset: exit 0 and an estimate on stdout", async () => {
    const run = await runCli(
      [
        "generate",
        "--config",
        join(dir, "hosted.yaml"),
        "--personas",
        join(dir, "personas.jsonl"),
        "--dry-run",
      ],
      { env: CLEAN_ENV },
    );
    expect(run.stderr).not.toContain("OPENAI_API_KEY is not set");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/calls/i);
    expect(run.stdout).toMatch(/tokens/i);
  });

  it("the same config without --dry-run still stops before any call, naming the variable", async () => {
    const run = await runCli(
      [
        "generate",
        "--config",
        join(dir, "hosted.yaml"),
        "--personas",
        join(dir, "personas.jsonl"),
        "--no-cache",
      ],
      { env: CLEAN_ENV },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*OPENAI_API_KEY is not set/);
  });
});

describe("OPENAI_BASE_URL and OPENAI_API_KEY as the openai SDK reads them", () => {
  it("a provider openai model with no base_url goes to OPENAI_BASE_URL with OPENAI_API_KEY", async () => {
    const stand = await startLoopbackServer(() => ({
      status: 200,
      body: chatCompletion("Sure, here is how."),
    }));
    server = stand;
    const key = "sk-ecosystem-test-0123456789";
    const run = await runCli(
      [
        "generate",
        "--config",
        join(dir, "hosted.yaml"),
        "--personas",
        join(dir, "personas.jsonl"),
        "--no-cache",
        "--quiet",
      ],
      { env: { ...CLEAN_ENV, OPENAI_BASE_URL: `${stand.url}/v1`, OPENAI_API_KEY: key } },
    );
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(stand.requests.length).toBeGreaterThan(0);
    for (const request of stand.requests) {
      expect(request.path).toBe("/v1/chat/completions");
      expect(request.headers.authorization).toBe(`Bearer ${key}`);
    }
    // Said once, before the run: which blocks, which variable, which endpoint and key variable.
    const notices = run.stderr.split("\n").filter((line) => line.includes("base_url from OPENAI_BASE_URL"));
    expect(notices).toEqual([
      `assistant_model, user_model: base_url from OPENAI_BASE_URL (${stand.url}/v1), key from OPENAI_API_KEY`,
    ]);
    expect(run.stderr).not.toContain(key);
    const saved = JSON.parse(run.stdout.trim().split("\n")[0]!) as { metadata: { assistant_model: unknown } };
    expect(JSON.stringify(saved.metadata.assistant_model)).not.toContain(key);
  });

  it("an OPENAI_BASE_URL carrying a password: exit 2, one line, the password never shown", async () => {
    const run = await runCli(
      [
        "generate",
        "--config",
        join(dir, "hosted.yaml"),
        "--personas",
        join(dir, "personas.jsonl"),
        "--dry-run",
      ],
      { env: { ...CLEAN_ENV, OPENAI_BASE_URL: "http://me:hunter22@127.0.0.1:9/v1" } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: environment: OPENAI_BASE_URL: must not contain a user name or password/,
    );
    expect(
      run.stderr
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("  ")).length,
    ).toBe(1);
    expect(run.stderr).not.toContain("hunter22");
  });
});

describe("--env-file", () => {
  it("reads OPENAI_BASE_URL and OPENAI_API_KEY from the file; the shell's value wins", async () => {
    const stand = await startLoopbackServer(() => ({ status: 200, body: chatCompletion("Fine.") }));
    server = stand;
    const envFile = join(dir, "run.env");
    await writeFile(
      envFile,
      `# a comment\nOPENAI_BASE_URL=${stand.url}/v1\nOPENAI_API_KEY="sk-from-the-file-000"\nCONVOSIM_TEST_MODEL=from-file\n`,
    );
    await writeFile(
      join(dir, "substituted.yaml"),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${…}` is the config syntax, not a mistake
      HOSTED_CONFIG.replaceAll("model: gpt-4o-mini", "model: ${CONVOSIM_TEST_MODEL}"),
    );
    const run = await runCli(
      [
        "generate",
        "--env-file",
        envFile,
        "--config",
        join(dir, "substituted.yaml"),
        "--personas",
        join(dir, "personas.jsonl"),
        "--no-cache",
        "--quiet",
      ],
      { env: { ...CLEAN_ENV, CONVOSIM_TEST_MODEL: "from-shell" } },
    );
    expect(run.code).toBe(0);
    expect(stand.requests.length).toBeGreaterThan(0);
    expect(stand.requests[0]!.headers.authorization).toBe("Bearer sk-from-the-file-000");
    expect((stand.requests[0]!.body as { model: string }).model).toBe("from-shell");
  });

  it("a missing env file: exit 2, one line naming it", async () => {
    const missing = join(dir, "nope.env");
    const run = await runCli(["generate", "--env-file", missing, "--dry-run"], { env: CLEAN_ENV });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^error: ${missing.replaceAll("/", "\\/")}: env file not found`));
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("a .env in the working directory is not read without --env-file", async () => {
    await writeFile(join(dir, ".env"), "OPENAI_API_KEY=sk-implicit-should-not-load\n");
    const run = await runCli(
      [
        "generate",
        "--config",
        join(dir, "hosted.yaml"),
        "--personas",
        join(dir, "personas.jsonl"),
        "--no-cache",
      ],
      { env: CLEAN_ENV, cwd: dir },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/OPENAI_API_KEY is not set/);
  });
});
