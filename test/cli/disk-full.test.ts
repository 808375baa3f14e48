// A disk that fills up during `generate --out`: a real one, a tmpfs of a few pages (mounting
// needs root; skipped elsewhere — test/sinks/disk-full.test.ts injects the fault instead).
// The run stops with one "disk full" line and exit 5, every file it saved is whole, no temp
// file is left, and the same command after freeing space does the rest.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, runCli } from "../support/cli.js";

const CONVERSATIONS = 20;
let dir: string;
let mountPoint: string;
let mounted = false;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-disk-full-"));
  mountPoint = join(dir, "small-disk");
  await mkdir(mountPoint);
  // 48 KiB: room for a few interaction files (4 KiB pages each), not for twenty.
  mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=48k", "tmpfs", mountPoint]).status === 0;
  await writeFile(
    join(dir, "fake.yaml"),
    "interaction_generation:\n  min_turns: 1\n  max_turns: 2\n  assistant_model: { provider: fake, model: a }\n  user_model: { provider: fake, model: u }\n",
  );
});
afterAll(async () => {
  if (mounted) spawnSync("umount", [mountPoint]);
  await rm(dir, { recursive: true, force: true });
});

const generate = (out: string, ...more: string[]) =>
  runCli([
    "generate",
    "--config",
    join(dir, "fake.yaml"),
    "--out",
    out,
    "--limit",
    String(CONVERSATIONS),
    "--no-cache",
    ...more,
  ]);

describe("generate on a disk that fills up", () => {
  it("stops with one 'disk full' line (exit 5), keeps what it saved, and a rerun does the rest", async (context) => {
    if (!mounted) return context.skip();
    const out = join(mountPoint, "run");
    const full = await generate(out, "-q");
    expect(full.code, full.stderr).toBe(5);
    const lines = full.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: disk full while writing .*small-disk\/run\/.*: free space and rerun the same command to continue$/,
    );
    const names = await readdir(join(out, "interactions"));
    expect(names.filter((name) => name.endsWith(".tmp"))).toEqual([]);
    const saved = names.filter((name) => name.endsWith(".json"));
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.length).toBeLessThan(CONVERSATIONS);
    for (const name of saved) {
      const record = JSON.parse(await readFile(join(out, "interactions", name), "utf8")) as {
        messages: unknown[];
      };
      expect(record.messages.length).toBeGreaterThan(0);
    }

    // Space freed: the same command resumes and completes.
    expect(spawnSync("mount", ["-o", "remount,size=4m", mountPoint]).status).toBe(0);
    const rerun = await generate(out);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(
      new RegExp(`${CONVERSATIONS - saved.length} done, 0 failed, ${saved.length} already done`),
    );
    expect((await readdir(join(out, "interactions"))).filter((name) => name.endsWith(".json"))).toHaveLength(
      CONVERSATIONS,
    );
  });
});
