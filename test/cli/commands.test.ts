// generate → stats / show / export through the real CLI (Ctrl-C and SIGTERM: signals.test.ts).
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";

let dir: string;
let fakeConfig: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-cli-"));
  fakeConfig = join(dir, "fake.yaml");
  await writeFile(
    fakeConfig,
    "interaction_generation:\n  min_turns: 2\n  max_turns: 3\n  assistant_model: { provider: fake, model: fake-assistant }\n  user_model: { provider: fake, model: fake-user }\n",
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("convosim CLI commands", () => {
  it("prints the package's version with --version and exits 0", async () => {
    const manifest = JSON.parse(await readFile(join(import.meta.dirname, "../../package.json"), "utf8"));
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(manifest.version);
  });

  it("generates the built-in sample, then stats, show and export read it back", async () => {
    const out = join(dir, "sample");
    const gen = await runCli(["generate", "--config", fakeConfig, "--out", out, "--limit", "6", "-q"]);
    expect(gen.code, gen.stderr).toBe(0);
    expect((await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"))).toHaveLength(6);

    const stats = await runCli(["stats", out, "--json"]);
    expect(stats.code).toBe(0);
    const parsed = JSON.parse(stats.stdout);
    expect(parsed).toMatchObject({ interactions: 6, failed: 0, success_rate: 1 });
    expect(Object.keys(parsed.usage)).toEqual(
      expect.arrayContaining(["assistant_response fake/fake-assistant", "user_feedback fake/fake-user"]),
    );
    const text = await runCli(["stats", out]);
    expect(text.stdout).toMatch(/interactions: 6/);

    const show = await runCli(["show", out]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/USER:\n/);
    expect(show.stdout).toMatch(/ASSISTANT:\n/);
    const id = show.stdout.split("all interactions:\n")[1]?.trim().split(/\s+/)[0] ?? "";
    const one = await runCli(["show", out, id]);
    expect(one.stdout.startsWith(id)).toBe(true);

    const exported = join(dir, "export.jsonl");
    const exp = await runCli(["export", out, "--format", "jsonl", "-o", exported]);
    expect(exp.code).toBe(0);
    const lines = (await readFile(exported, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(lines.every((l) => Array.isArray(l.messages))).toBe(true);
  });

  it("is reproducible with --seed and resumes without redoing finished work", async () => {
    const a = await runCli(["generate", "--config", fakeConfig, "--limit", "4", "--seed", "5", "-q"]);
    const b = await runCli(["generate", "--config", fakeConfig, "--limit", "4", "--seed", "5", "-q"]);
    const strip = (s: string) =>
      s
        .trim()
        .split("\n")
        .map((l) => {
          const i = JSON.parse(l);
          return [
            i.interaction_id,
            i.num_turns,
            i.metadata.target_turns,
            i.messages.map((m: { content: string }) => m.content),
          ];
        })
        // Completion order is not part of the contract (cache hits finish sooner).
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(strip(a.stdout)).toEqual(strip(b.stdout));

    const out = join(dir, "resume");
    await runCli(["generate", "--config", fakeConfig, "--out", out, "--limit", "3", "-q"]);
    const again = await runCli(["generate", "--config", fakeConfig, "--out", out, "--limit", "5"]);
    expect(again.stderr).toMatch(/2 done, 0 failed, 3 already done/);
  });
});
