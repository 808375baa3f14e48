// One generate per output folder, through the real CLI: a second run on a folder in use exits 2
// with one line naming the first and makes no request; a lock left by a dead run (a stale pid,
// kill -9) is taken over; unreadable interaction files are quarantined and regenerated, and
// stats goes on past them.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { requireBuild, runCli, startCli } from "../support/cli.js";
import { waitUntil } from "../support/wait.js";

let dir: string;
let fakeConfig: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-lock-"));
  fakeConfig = join(dir, "fake.yaml");
  await writeFile(
    fakeConfig,
    "interaction_generation:\n  min_turns: 2\n  max_turns: 2\n  assistant_model: { provider: fake, model: fake-assistant }\n  user_model: { provider: fake, model: fake-user }\n",
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function standInConfig(name: string, server: StandInServer): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    `interaction_generation:\n  min_turns: 2\n  max_turns: 2\n  max_workers: 2\n  assistant_model: { provider: openai, model: m, base_url: "${server.url}" }\n  user_model: { provider: openai, model: m, base_url: "${server.url}" }\n`,
  );
  return path;
}

const jsonFiles = async (out: string) =>
  (await readdir(join(out, "interactions"))).filter((name) => name.endsWith(".json"));

describe("the output folder lock, through the CLI", () => {
  it("a second generate on a folder in use exits 2 with one line and makes no request", async () => {
    const first = await startStandInServer({ latency: 200 });
    const second = await startStandInServer();
    try {
      const out = join(dir, "busy");
      const args = (config: string) => [
        "generate",
        "--config",
        config,
        "--out",
        out,
        "--limit",
        "40",
        "--no-cache",
        "-q",
      ];
      const running = startCli(args(await standInConfig("first", first)));
      // Ready: the first run holds the lock and is talking to its endpoint (40 conversations at
      // 200 ms a call, 2 at a time: it is still running when the second one starts).
      await waitUntil(
        () => first.stats.requests > 0 && existsSync(join(out, ".convosim.lock")),
        "the first run's calls",
      );
      const refused = await runCli(args(await standInConfig("second", second)));
      expect(running.child.exitCode, "the first run ended too soon to test anything").toBeNull();
      expect(refused.code, refused.stderr).toBe(2);
      const lines = refused.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^error: ${out}/ is in use by convosim pid ${running.child.pid} on host ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[^;]+; wait for it or stop it$`,
        ),
      );
      expect(second.stats.requests).toBe(0);

      // Stopped by a signal, the first run still releases the folder.
      running.child.kill("SIGINT");
      const stopped = await running.done;
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(existsSync(join(out, ".convosim.lock"))).toBe(false);
    } finally {
      await first.close();
      await second.close();
    }
  }, 60_000);

  it("takes over a lock whose process is gone, says so, and releases it at the end", async () => {
    const out = join(dir, "stale");
    await mkdir(out, { recursive: true });
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const pid = Number(dead.stdout.toString());
    const stale = { pid, host: hostname(), started_at: "2026-01-01T00:00:00.000Z", token: "t" };
    await writeFile(join(out, ".convosim.lock"), JSON.stringify(stale));
    const run = await runCli([
      "generate",
      "--config",
      fakeConfig,
      "--out",
      out,
      "--limit",
      "3",
      "--no-cache",
      "-q",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      `took over ${join(out, ".convosim.lock")}: convosim pid ${pid} on this host`,
    );
    expect(await jsonFiles(out)).toHaveLength(3);
    expect(existsSync(join(out, ".convosim.lock"))).toBe(false);
  });

  it("after kill -9 the lock stays behind, and the next run takes it over and finishes the job", async () => {
    const server = await startStandInServer({ latency: 100 });
    try {
      const out = join(dir, "killed");
      const args = [
        "generate",
        "--config",
        await standInConfig("killed", server),
        "--out",
        out,
        "--limit",
        "8",
        "--no-cache",
        "-q",
      ];
      const running = startCli(args);
      await waitUntil(
        () => server.stats.requests > 0 && existsSync(join(out, ".convosim.lock")),
        "the run's calls",
      );
      running.child.kill("SIGKILL");
      const killed = await running.done;
      expect(killed.signal).toBe("SIGKILL");
      const left = JSON.parse(await readFile(join(out, ".convosim.lock"), "utf8"));
      expect(left.pid).toBe(running.child.pid);

      const rerun = await runCli(args);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(
        /took over .*\.convosim\.lock: convosim pid \d+ on this host .* is no longer running/,
      );
      expect(await jsonFiles(out)).toHaveLength(8);
      expect(existsSync(join(out, ".convosim.lock"))).toBe(false);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("quarantines unreadable interaction files with one line and regenerates them; stats goes on", async () => {
    const out = join(dir, "damaged");
    const args = ["generate", "--config", fakeConfig, "--out", out, "--limit", "3", "--no-cache", "-q"];
    expect((await runCli(args)).code).toBe(0);
    const [first, second] = (await jsonFiles(out)).sort();
    const folder = join(out, "interactions");
    await writeFile(join(folder, first as string), '{"hello": "world"}\n');
    await rm(join(folder, second as string));
    await mkdir(join(folder, second as string));

    const stats = await runCli(["stats", out, "--json"]);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ interactions: 1, unreadable_files: 2 });
    const skipped = stats.stderr.trim().split("\n");
    expect(skipped).toHaveLength(2);
    for (const line of skipped) expect(line).toMatch(/^skipped unreadable .*\.json: /);
    for (const command of [
      ["show", out],
      ["report", out, "-o", join(dir, "damaged.html")],
      ["export", out, "-o", join(dir, "damaged.jsonl")],
    ]) {
      const result = await runCli(command);
      expect(result.code, `${command[0]}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toMatch(/skipped unreadable .*is a directory/);
    }

    const rerun = await runCli(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const notice = rerun.stderr.trim().split("\n");
    expect(notice).toHaveLength(1);
    expect(notice[0]).toMatch(
      new RegExp(
        `^moved 2 unreadable interaction files to ${out}/quarantine/ \\(they will be regenerated\\): first (${first}: not an interaction|${second}: is a directory)`,
      ),
    );
    const files = await jsonFiles(out);
    expect(files).toHaveLength(3);
    expect(files).toEqual(expect.arrayContaining([first, second]));
    expect((await readdir(join(out, "quarantine"))).sort()).toEqual([first, second].sort());
    const again = await runCli(["stats", out, "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ interactions: 3, unreadable_files: 0 });
  }, 60_000);
});
