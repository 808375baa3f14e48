// bin/convosim starts the bundle (dist/cli/main.js, scripts/bundle-cli.mjs) when it is there and
// at least as new as tsc's output, else tsc's dist/src/cli/main.js: a `tsc` run alone must not
// leave the CLI running yesterday's code. Checked on a copy of bin/convosim beside stand-in
// entries that say which one ran.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN } from "../support/cli.js";

let root: string;
const COMPILED = "dist/src/cli/main.js";
const BUNDLED = "dist/cli/main.js";

/** A stand-in entry whose main() prints `name`. */
function entry(path: string, name: string, mtimeSeconds: number) {
  const file = join(root, path);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, `export async function main() { process.stdout.write("${name}\\n"); return 0; }\n`);
  utimesSync(file, mtimeSeconds, mtimeSeconds);
}

function run(env: NodeJS.ProcessEnv = {}) {
  const { CONVOSIM_UNBUNDLED: _, ...inherited } = process.env;
  const result = spawnSync(process.execPath, ["--", join(root, "bin/convosim"), "--version"], {
    env: { ...inherited, ...env },
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "convosim-bin-"));
  mkdirSync(join(root, "bin"));
  copyFileSync(BIN, join(root, "bin/convosim"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("bin/convosim's entry", () => {
  it("starts the bundle when it is as new as tsc's output or newer", () => {
    entry(COMPILED, "compiled", 1_000);
    entry(BUNDLED, "bundled", 1_000);
    expect(run()).toMatchObject({ code: 0, stdout: "bundled" });
    entry(BUNDLED, "bundled", 2_000);
    expect(run()).toMatchObject({ code: 0, stdout: "bundled" });
  });

  it("starts tsc's output when the bundle is older (tsc ran without the bundler) or missing", () => {
    entry(COMPILED, "compiled", 2_000);
    entry(BUNDLED, "bundled", 1_000);
    expect(run()).toMatchObject({ code: 0, stdout: "compiled" });
    rmSync(join(root, BUNDLED));
    expect(run()).toMatchObject({ code: 0, stdout: "compiled" });
  });

  it("starts tsc's output when CONVOSIM_UNBUNDLED=1", () => {
    entry(COMPILED, "compiled", 1_000);
    entry(BUNDLED, "bundled", 2_000);
    expect(run({ CONVOSIM_UNBUNDLED: "1" })).toMatchObject({ code: 0, stdout: "compiled" });
  });

  it("says how to build, exit 2, when nothing is built", () => {
    entry(BUNDLED, "bundled", 1_000); // a bundle alone is not a build: tsc's output is the reference
    const result = run();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("npm run build");
  });
});
