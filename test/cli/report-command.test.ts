// `convosim stats` and `convosim report` through the built CLI: what a user runs after
// `generate`, with the exit codes and messages of good and bad input.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
let out: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-report-cli-"));
  const config = join(dir, "fake.yaml");
  await writeFile(
    config,
    "interaction_generation:\n  min_turns: 1\n  max_turns: 3\n  assistant_model: { provider: fake, model: fake-assistant }\n  user_model: { provider: fake, model: fake-user }\n",
  );
  out = join(dir, "run");
  const gen = await runCli([
    "generate",
    "--config",
    config,
    "--out",
    out,
    "--limit",
    "8",
    "-q",
    "--no-cache",
  ]);
  expect(gen.code, gen.stderr).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("convosim stats and report", () => {
  it("stats --json prints one JSON document with every section", async () => {
    const run = await runCli(["stats", out, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const stats = JSON.parse(run.stdout);
    expect(stats).toMatchObject({ interactions: 8, failed: 0, success_rate: 1 });
    for (const key of [
      "turns",
      "stop_reasons",
      "assistant_models",
      "user_models",
      "message_lengths",
      "persona_features",
      "noise",
      "usage_by_model",
      "usage_by_role",
      "failures_by_reason",
    ])
      expect(stats).toHaveProperty(key);
    expect(stats.message_lengths.user.count).toBeGreaterThanOrEqual(8);
    expect(stats.user_models).toEqual({ "fake/fake-user": 8 });
  });

  it("report -o writes one HTML file with the plots and says so on stderr", async () => {
    const file = join(dir, "r.html");
    const run = await runCli(["report", out, "-o", file, "--sample", "5", "--seed", "3"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^wrote .*r\.html: \d+ plots, 5 of 8 conversations in the sample\n$/);
    const html = await readFile(file, "utf8");
    expect((html.match(/<svg\b/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect((html.match(/<details class="conv"/g) ?? []).length).toBe(5);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("report without -o writes DIR/report.html", async () => {
    const run = await runCli(["report", out]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(out, "report.html"))).toBe(true);
    // The report next to the interactions does not disturb the folder's readers.
    const stats = await runCli(["stats", out, "--json"]);
    expect(JSON.parse(stats.stdout).interactions).toBe(8);
  });

  it("bad input is one line and exit 2", async () => {
    const missing = await runCli(["report", join(dir, "nope"), "-o", join(dir, "x.html")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/is not a convosim output folder/);
    expect(existsSync(join(dir, "x.html"))).toBe(false);
    const badSample = await runCli(["report", out, "--sample", "-1"]);
    expect(badSample.code).toBe(2);
    expect(badSample.stderr).toMatch(/--sample must be an integer ≥ 0/);
    const stats = await runCli(["stats", join(dir, "nope"), "--json"]);
    expect(stats.code).toBe(2);
    expect(stats.stdout).toBe("");
  });
});
