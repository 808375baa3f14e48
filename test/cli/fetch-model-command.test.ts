// `convosim fetch-model [NAME]` runs scripts/fetch-model.mjs, the logic behind `npm run
// fetch-model`, from the CLI (so an installed package has it). Nothing here downloads: a cached
// model is found by its stamp, and an empty cache with no Python stops at the script's check.
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedModel, embeddedModelPath } from "../../src/providers/local/model-cache.js";
import { requireBuild, runCli } from "../support/cli.js";

const GEMMA = embeddedModel("gemma-3-270m");
const cached = GEMMA !== undefined ? embeddedModelPath(GEMMA) : "";
const haveCachedModel = existsSync(cached) && existsSync(`${cached}.sha256.json`);

let dir: string;
beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-fetch-model-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("convosim fetch-model", () => {
  it("--list prints the catalogue, default marked, and fetches nothing", async () => {
    const run = await runCli(["fetch-model", "--list"], { env: { CONVOSIM_CACHE_DIR: join(dir, "unused") } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^qwen2\.5-coder-0\.5b-instruct \(default\)\t/m);
    expect(run.stdout).toMatch(/^gemma-3-270m\t/m);
    expect(existsSync(join(dir, "unused"))).toBe(false);
  });

  // The tests' set-up (npm test → npm run setup) fetches this model; without it there is nothing to find.
  it.skipIf(!haveCachedModel)(
    "NAME already in the cache: its path on stdout, exit 0, nothing downloaded",
    async () => {
      // A cache of our own holding a link to the verified file and its stamp: the real cache is
      // only read, and no Python is available, so any download attempt would fail the test.
      const cache = join(dir, "cache");
      await mkdir(join(cache, "models"), { recursive: true });
      const file = join(cache, "models", GEMMA?.file ?? "");
      await symlink(cached, file);
      await copyFile(`${cached}.sha256.json`, `${file}.sha256.json`);
      const run = await runCli(["fetch-model", "gemma-3-270m"], {
        env: { CONVOSIM_CACHE_DIR: cache, CONVOSIM_PYTHON: join(dir, "no-python") },
      });
      expect(run.stderr).not.toContain("downloading");
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${file}\n`);
    },
  );

  it("an empty cache without Python: the script's own error and exit code 2", async () => {
    const run = await runCli(["fetch-model", "gemma-3-270m"], {
      env: { CONVOSIM_CACHE_DIR: join(dir, "empty"), CONVOSIM_PYTHON: join(dir, "no-python") },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/\[fetch-model\] error: .*no-python not found/);
    expect(run.stdout).toBe("");
  });

  it("an unknown NAME: one line naming the known models, exit 2", async () => {
    const run = await runCli(["fetch-model", "gpt-4o"], { env: { CONVOSIM_CACHE_DIR: join(dir, "unused") } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: command line: unknown embedded model "gpt-4o"/);
    expect(run.stderr).toContain("qwen2.5-coder-0.5b-instruct, gemma-3-270m");
    expect(run.stderr).not.toContain("    at ");
  });
});
