// Before the first model call, `generate` checks that it can save what it pays for: an --out
// that is a file, under a file, where no folder can be made (/proc, unwritable even to root),
// read-only or immutable, and a --cache-dir that cannot be used, all end in one line, exit 2
// and not one request to the stand-in server. An unusable default cache folder is one warning
// and a run without the cache. The read-side commands refuse a file given as the folder.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { InputError } from "../../src/config/errors.js";
import { generate as generate_ } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import { type CliRun, requireBuild, runCli, startCli } from "../support/cli.js";

let dir: string;
let server: StandInServer;
let config: string;
let personas: string;
const immutable: string[] = [];

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-preflight-"));
  server = await startStandInServer({});
  config = join(dir, "config.yaml");
  await writeFile(
    config,
    `interaction_generation:
  min_turns: 1
  max_turns: 1
  assistant_model: { provider: openai, model: m, base_url: "${server.url}" }
  user_model: { provider: openai, model: m, base_url: "${server.url}" }
`,
  );
  personas = join(dir, "personas.jsonl");
  await writeFile(
    personas,
    `${JSON.stringify({ persona_id: "p1", persona_features: { role: "pm" }, queries: [{ original_query: "Plan my week" }] })}\n`,
  );
});
afterAll(async () => {
  for (const path of immutable) spawnSync("chattr", ["-i", path]);
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** Bounded: a CLI that hangs (Node's mkdir -p spins on /proc) is killed, and the test fails. */
function generate(out: string, ...more: string[]): Promise<CliRun> {
  const { child, done } = startCli(
    ["generate", "--config", config, "--personas", personas, "--out", out, "-q", ...more],
    { env: { OPENAI_API_KEY: "sk-test", CONVOSIM_RESPONSE_CACHE_DIR: join(dir, "cache") } },
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return done.finally(() => clearTimeout(timer));
}

/** Exit 2, `error: …` naming the flag, at most a hint line more, no stack, no request made. */
async function expectRefused(run: Promise<CliRun>, pattern: RegExp): Promise<CliRun> {
  const before = server.stats.requests;
  const result = await run;
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(/^error: /);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at |unexpected error/);
  expect(result.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
  expect(server.stats.requests).toBe(before);
  return result;
}

describe("generate --out that cannot be written: exit 2 before any call", () => {
  it("an existing regular file (left as it was)", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "keep me\n");
    await expectRefused(generate(file), /--out: .*a-file cannot be used as the output folder: it is a file/);
    expect(await readFile(file, "utf8")).toBe("keep me\n");
    // The dry run reads the folder too: the same line, not an ENOTDIR trace.
    await expectRefused(generate(file, "--dry-run"), /--out: .*it is a file/);
  });

  it("a path under a regular file", async () => {
    const file = join(dir, "another-file");
    await writeFile(file, "x");
    await expectRefused(generate(join(file, "out")), /--out: .* a folder above it is a file/);
  });

  it("a path where no folder can be created, even by root (/proc)", async (context) => {
    if (!existsSync("/proc/self")) return context.skip();
    await expectRefused(generate("/proc/convosim-out"), /--out: \/proc\/convosim-out cannot be used/);
  });

  it("a read-only folder (skipped as root, whom permission bits do not stop)", async (context) => {
    if (process.getuid?.() === 0) return context.skip();
    const folder = join(dir, "read-only");
    await mkdir(folder);
    await chmod(folder, 0o555);
    await expectRefused(generate(join(folder, "out")), /--out: .* permission denied/);
    await chmod(folder, 0o755);
  });

  it("an immutable folder (chattr +i; skipped where that cannot be set)", async (context) => {
    const folder = join(dir, "immutable");
    await mkdir(folder);
    if (spawnSync("chattr", ["+i", folder]).status !== 0) return context.skip();
    immutable.push(folder);
    await expectRefused(generate(folder), /--out: .* operation not permitted/);
    expect(await readdir(folder)).toEqual([]);
  });
});

describe("generate() for library callers makes the same check", () => {
  it("an --out that is a file: an InputError naming --out, and no request", async () => {
    const file = join(dir, "library-file");
    await writeFile(file, "keep me\n");
    const before = server.stats.requests;
    const run = generate_({
      config: ConvosimConfig.parse({
        interaction_generation: {
          min_turns: 1,
          max_turns: 1,
          assistant_model: { provider: "openai", model: "m", base_url: server.url, api_key_env: "PATH" },
          user_model: { provider: "openai", model: "m", base_url: server.url, api_key_env: "PATH" },
        },
      }),
      personas,
      out: join(file, "out"),
      cache: false,
      onNotice: () => {},
    });
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toMatchObject({ field: "--out" });
    expect(server.stats.requests).toBe(before);
    expect(await readFile(file, "utf8")).toBe("keep me\n");
  });
});

describe("the response cache folder", () => {
  it("an explicit --cache-dir that cannot be used: exit 2 naming --cache-dir, no call", async () => {
    const file = join(dir, "cache-file");
    await writeFile(file, "");
    await expectRefused(
      generate(join(dir, "out-cache-1"), "--cache-dir", join(file, "x")),
      /--cache-dir: .*cache-file\/x cannot be used as the response cache/,
    );
  });

  it("the default folder unusable: one warning, the run goes on without a cache", async () => {
    const file = join(dir, "default-cache-file");
    await writeFile(file, "");
    const out = join(dir, "out-cache-2");
    const before = server.stats.requests;
    const result = await runCli(
      ["generate", "--config", config, "--personas", personas, "--out", out, "-q"],
      { env: { OPENAI_API_KEY: "sk-test", CONVOSIM_RESPONSE_CACHE_DIR: join(file, "responses") } },
    );
    expect(result.code, result.stderr).toBe(0);
    const warnings = result.stderr.split("\n").filter((line) => line.startsWith("warning: "));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /response cache .*default-cache-file\/responses cannot be used.*without a cache/,
    );
    expect(server.stats.requests).toBeGreaterThan(before);
    expect(await readdir(join(out, "interactions"))).toHaveLength(1);
  });
});

describe("show, stats and report given a file instead of an output folder", () => {
  it.each([["stats"], ["show"], ["report"]])("%s FILE: one line, exit 2", async (command) => {
    const before = server.stats.requests;
    const result = await runCli([command, config]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^error: .*config\.yaml: is a file, not a convosim output folder/);
    expect(result.stderr).not.toMatch(/\n\s+at |unexpected error/);
    expect(server.stats.requests).toBe(before);
  });
});
