// Bad input through the real CLI: one short line naming the file and field, exit code 2, no
// stack trace, and not a single model call (the stand-in server counts requests).
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
let server: StandInServer;
const goodPersona = JSON.stringify({
  persona_id: "p1",
  persona_features: { role: "pm" },
  queries: [{ original_query: "Plan my week" }],
});

function goodConfig(): string {
  return `interaction_generation:
  min_turns: 1
  max_turns: 1
  assistant_model: { provider: openai, model: m, base_url: "${server.url}" }
  user_model: { provider: openai, model: m, base_url: "${server.url}" }
`;
}

const serverUrl = () => server.url;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-bad-"));
  server = await startStandInServer({});
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function expectBadInput(args: string[], pattern: RegExp, input?: string): Promise<string> {
  const before = server.stats.requests;
  const result = await runCli(["generate", ...args], {
    ...(input !== undefined ? { input } : {}),
    env: { OPENAI_API_KEY: "" },
  });
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr.split("\n").length).toBeLessThanOrEqual(6);
  expect(server.stats.requests).toBe(before);
  return result.stderr;
}

describe("bad input: exit 2, a clear message, no model call", () => {
  it("broken YAML names the file and line", async () => {
    const config = await file("broken.yaml", "interaction_generation:\n  min_turns: [1, 2\n");
    await expectBadInput(["--config", config], /broken\.yaml.*line \d/);
  });

  it("an unknown provider lists the valid ones", async () => {
    const config = await file(
      "provider.yaml",
      "interaction_generation:\n  assistant_model: { provider: openia, model: x }\n",
    );
    await expectBadInput(["--config", config], /provider.*openai/);
  });

  it("an unset key variable is named, with the config file and the model block", async () => {
    const config = await file(
      "key.yaml",
      "interaction_generation:\n  assistant_model: { provider: openai, model: gpt-4o-mini }\n",
    );
    await expectBadInput(["--config", config, "--personas", "-"], /key\.yaml.*OPENAI_API_KEY/, goodPersona);
    const named = await file(
      "named.yaml",
      "interaction_generation:\n  user_model: { provider: openai, model: m, api_key_env: MY_UNSET_KEY }\n",
    );
    await expectBadInput(
      ["--config", named, "--personas", "-"],
      /named\.yaml.*MY_UNSET_KEY.*interaction_generation\.user_model\.api_key_env/,
      goodPersona,
    );
  });

  it("an unknown distractor strategy names the file and suggests the right name", async () => {
    const config = await file(
      "strategy.yaml",
      "distractor:\n  enabled: true\n  strategies:\n    mising_slots: { probability: 0.5 }\n",
    );
    await expectBadInput(["--config", config], /strategy\.yaml.*mising_slots[\s\S]*missing_slots/);
  });

  it("min_turns > max_turns", async () => {
    const config = await file("turns.yaml", "interaction_generation:\n  min_turns: 4\n  max_turns: 2\n");
    await expectBadInput(["--config", config], /min_turns/);
  });

  it("negative max_workers, in the file and on the command line", async () => {
    const config = await file("workers.yaml", "interaction_generation:\n  max_workers: -3\n");
    await expectBadInput(["--config", config], /max_workers/);
    await expectBadInput(["--max-workers", "-3"], /max-workers/);
  });

  it("a misspelt key is named with a suggestion", async () => {
    const config = await file("typo.yaml", "interaction_generation:\n  max_turn: 3\n");
    await expectBadInput(["--config", config], /max_turn.*max_turns/);
  });

  it("a wrong type says what was expected", async () => {
    const config = await file("type.yaml", 'interaction_generation:\n  max_turns: "many"\n');
    await expectBadInput(["--config", config], /max_turns/);
  });

  it("negative pool weights", async () => {
    const config = await file(
      "weights.yaml",
      "interaction_generation:\n  assistant_model:\n    model_pool:\n      - { provider: fake, model: a, weight: -1 }\n",
    );
    await expectBadInput(["--config", config], /weight/);
  });

  it("a missing personas file is named", async () => {
    await expectBadInput(
      ["--config", await file("ok1.yaml", goodConfig()), "--personas", join(dir, "nope.jsonl")],
      /nope\.jsonl/,
    );
  });

  it("a binary personas file", async () => {
    const binary = await file("binary.jsonl", Buffer.from([0, 1, 2, 255, 254, 0, 10]));
    await expectBadInput(
      ["--config", await file("ok2.yaml", goodConfig()), "--personas", binary],
      /binary\.jsonl/,
    );
  });

  it("a malformed personas line is named by its number", async () => {
    const personas = await file("bad.jsonl", `${goodPersona}\n{"persona_id": "p2", "queries": [}\n`);
    await expectBadInput(
      ["--config", await file("ok3.yaml", goodConfig()), "--personas", personas],
      /bad\.jsonl.*line 2/,
    );
  });

  it("a persona with no queries while query generation is off", async () => {
    const personas = await file(
      "noq.jsonl",
      `${goodPersona}\n${JSON.stringify({ persona_id: "empty", persona_features: {} })}\n`,
    );
    await expectBadInput(
      ["--config", await file("ok4.yaml", goodConfig()), "--personas", personas],
      /no queries/,
    );
  });
});

describe("hostile config and persona input (issue 12): exit 2, one line, no model call", () => {
  const server = () => serverUrl();

  it("a password in base_url: the field is named, the secret never printed", async () => {
    const config = await file(
      "cred.yaml",
      `interaction_generation:\n  assistant_model: { provider: openai, model: m, base_url: "${server().replace("http://", "http://alice:hunter2secret@")}" }\n`,
    );
    const stderr = await expectBadInput(
      ["--config", config, "--personas", "-"],
      /cred\.yaml line 2: interaction_generation\.assistant_model\.base_url: .*api_key_env/,
      goodPersona,
    );
    expect(stderr).not.toMatch(/hunter2secret|alice/);
    const query = await file(
      "query.yaml",
      `interaction_generation:\n  user_model: { provider: openai, model: m, base_url: "${server()}/v1?api_key=QUERYSECRET9" }\n`,
    );
    const queryErr = await expectBadInput(
      ["--config", query],
      /interaction_generation\.user_model\.base_url/,
    );
    expect(queryErr).not.toContain("QUERYSECRET9");
  });

  it("a model block naming a hosted model without provider is refused, not run on the embedded model", async () => {
    const config = await file(
      "noprovider.yaml",
      "interaction_generation:\n  assistant_model: {model: gpt-4o-mini, api_key_env: OPENAI_API_KEY}\n",
    );
    await expectBadInput(
      ["--config", config, "--personas", "-"],
      /noprovider\.yaml line 2: interaction_generation\.assistant_model\.provider: is missing: add provider: openai \(or anthropic, local\)/,
      goodPersona,
    );
    const url = await file(
      "nourl.yaml",
      `interaction_generation:\n  user_model: { model: m, base_url: "${server()}" }\n`,
    );
    await expectBadInput(
      ["--config", url, "--personas", "-"],
      /user_model\.provider: is missing/,
      goodPersona,
    );
  });

  it("an empty model_pool is refused", async () => {
    const config = await file(
      "emptypool.yaml",
      `interaction_generation:\n  assistant_model:\n    provider: openai\n    base_url: "${server()}"\n    model: m\n    model_pool: []\n`,
    );
    await expectBadInput(
      ["--config", config],
      /emptypool\.yaml line 6: interaction_generation\.assistant_model\.model_pool: must list at least one model/,
    );
  });

  it("an alias bomb, a 5,000-level config and -c /dev/zero are bad input, not a crash", async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const [prev, name] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      levels.push(
        `${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
      );
    }
    await expectBadInput(
      ["--config", await file("bomb.yaml", `${levels.join("\n")}\n`)],
      /bomb\.yaml.*alias/,
    );
    await expectBadInput(
      ["--config", await file("deep.yaml", `pricing: ${"[".repeat(5000)}${"]".repeat(5000)}\n`)],
      /deep\.yaml.*nested more than 64 levels/,
    );
    await expectBadInput(
      ["--config", "/dev/zero"],
      /\/dev\/zero: (is larger than 1 MiB|does not look like a text file)/,
    );
  });

  it("a personas line nested 5,000 levels deep names its line", async () => {
    const deep = `{"persona_id": "d", "persona_features": {"x": ${"[".repeat(5000)}${"]".repeat(5000)}}, "queries": []}`;
    const personas = await file("deep.jsonl", `${goodPersona}\n${deep}\n`);
    await expectBadInput(
      ["--config", await file("ok6.yaml", goodConfig()), "--personas", personas],
      /deep\.jsonl line 2: nested more than 64 levels/,
    );
  });

  it("invalid UTF-8 past the first kilobyte names its real line", async () => {
    const lines = Array.from({ length: 30 }, (_, i) => goodPersona.replace('"p1"', `"p${i}"`)).join("\n");
    const personas = await file(
      "utf8.jsonl",
      Buffer.concat([
        Buffer.from(`${lines}\n{"persona_id": "`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}\n'),
      ]),
    );
    await expectBadInput(
      ["--config", await file("ok7.yaml", goodConfig()), "--personas", personas],
      /utf8\.jsonl line 31: invalid UTF-8/,
    );
  });

  it.each([
    ["empty.jsonl", ""],
    ["emptylist.json", "[]\n"],
    ["comments.yaml", "# nothing here yet\n"],
  ])("%s: 'no personas', exit 2, in a run and in a dry run alike", async (name, content) => {
    const personas = await file(name, content);
    const out = join(dir, `out-${name}`);
    const config = await file(`ok-${name}.yaml`, goodConfig());
    const stderr = await expectBadInput(
      ["--config", config, "--personas", personas, "--out", out],
      /no personas in .*/,
    );
    expect(stderr).not.toMatch(/saved to/);
    await expectBadInput(["--config", config, "--personas", personas, "--dry-run"], /no personas in/);
  });

  it("stdin with no personas says so", async () => {
    const config = await file("ok8.yaml", goodConfig());
    await expectBadInput(
      ["--config", config, "--personas", "-"],
      /no personas in stdin/,
      "# just a comment\n",
    );
    await expectBadInput(["--config", config, "--personas", "-", "--dry-run"], /no personas in stdin/, "");
  });
});

describe("hostile persona ids are made safe", () => {
  it("never writes outside the output folder", async () => {
    const out = join(dir, "safe-out");
    const personas = await file(
      "hostile.jsonl",
      `${["../../escape", "/etc/passwd", "a/../../b", "..", "CON"]
        .map((id) =>
          JSON.stringify({
            persona_id: id,
            persona_features: {},
            queries: [{ original_query: "hello there" }],
          }),
        )
        .join("\n")}\n`,
    );
    const result = await runCli([
      "generate",
      "--config",
      await file("ok5.yaml", goodConfig()),
      "--personas",
      personas,
      "--out",
      out,
      "-q",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const files = await readdir(join(out, "interactions"));
    expect(files).toHaveLength(5);
    for (const name of files) expect(name).toMatch(/^[A-Za-z0-9._-]+\.json$/);
    expect(await readdir(dir)).not.toContain("escape");
  });
});
