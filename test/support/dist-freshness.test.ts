// The CLI tests spawn dist/: a dist/ older than src/ is rebuilt once by the global setup, or
// refused. Checked on a throwaway package whose "build" script counts its runs.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockPath, rebuildIfStale, staleness } from "./dist-freshness.js";
import { waitUntil } from "./wait.js";

// The stand-in build: writes dist/src/cli/main.js (as tsc does) and appends a line per run.
const BUILD = `import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
mkdirSync("dist/src/cli", { recursive: true });
writeFileSync("dist/src/cli/main.js", "export {};\\n");
appendFileSync("builds.log", "built\\n");
if (process.env.FAIL_BUILD) { console.log("src/a.ts(1,1): error TS1005"); process.exit(2); }
`;

describe("dist/ freshness (what the CLI tests run)", () => {
  let root: string;
  const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
  const builds = () => readFileSync(join(root, "builds.log"), "utf8").split("\n").filter(Boolean).length;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "convosim-dist-"));
    mkdirSync(join(root, "src/cli"), { recursive: true });
    mkdirSync(join(root, "dist/src/cli"), { recursive: true });
    writeFileSync(join(root, "package.json"), JSON.stringify({ scripts: { build: "node build.mjs" } }));
    writeFileSync(join(root, "build.mjs"), BUILD);
    writeFileSync(join(root, "builds.log"), "");
    writeFileSync(join(root, "src/cli/main.ts"), "export {};\n");
    writeFileSync(join(root, "dist/src/cli/main.js"), "export {};\n");
    at("src/cli/main.ts", 1_000);
    at("dist/src/cli/main.js", 2_000);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(lockPath(root), { recursive: true, force: true });
  });

  it("trusts a dist/ at least as new as every source", () => {
    expect(staleness(root)).toBeUndefined();
    expect(rebuildIfStale(root)).toBeUndefined();
    expect(builds()).toBe(0);
  });

  it("calls a dist/ older than a source stale, naming the file; and a missing dist/ missing", () => {
    at("src/cli/main.ts", 3_000);
    expect(staleness(root)).toBe("dist/ is older than src/cli/main.ts (by 1000.0 s)");
    rmSync(join(root, "dist"), { recursive: true });
    expect(staleness(root)).toBe("dist/ is missing");
  });

  it("calls dist/ stale when the CLI bundler's script changed since", () => {
    mkdirSync(join(root, "scripts"));
    writeFileSync(join(root, "scripts/bundle-cli.mjs"), "\n");
    at("scripts/bundle-cli.mjs", 3_000);
    expect(staleness(root)).toBe("dist/ is older than scripts/bundle-cli.mjs (by 1000.0 s)");
  });

  it("rebuilds a stale dist/ once: a second run finds it fresh", () => {
    writeFileSync(join(root, "src/cli/new-file.ts"), "export {};\n"); // mtime: now, past dist/
    expect(rebuildIfStale(root)).toMatch(
      /older than src\/cli\/new-file\.ts .*; rebuilt with `npm run build`$/,
    );
    expect(staleness(root)).toBeUndefined();
    expect(rebuildIfStale(root)).toBeUndefined();
    expect(builds()).toBe(1);
  });

  it("reports a failed build with the compiler's last lines and never throws", () => {
    rmSync(join(root, "dist"), { recursive: true });
    const previous = process.env.FAIL_BUILD;
    process.env.FAIL_BUILD = "1";
    try {
      expect(rebuildIfStale(root)).toMatch(/^dist\/ is missing; `npm run build` failed:\n.*error TS1005/s);
    } finally {
      if (previous === undefined) delete process.env.FAIL_BUILD;
      else process.env.FAIL_BUILD = previous;
    }
  });

  it("waits for a concurrent run holding the build lock, then does not build again", async () => {
    at("src/cli/main.ts", 3_000);
    // Another run: takes the lock; once told (a file "go" appears), builds and releases it.
    const lock = JSON.stringify(lockPath(root));
    const other = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("node:fs");
         fs.mkdirSync(${lock});
         process.stdout.write("locked\\n");
         const giveUp = Date.now() + 60000;
         const poll = setInterval(() => {
           if (!fs.existsSync("go") && Date.now() < giveUp) return;
           clearInterval(poll);
           fs.writeFileSync("dist/src/cli/main.js", "export {};\\n");
           fs.rmSync(${lock}, { recursive: true });
         }, 10);`,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((resolve) => other.once("exit", resolve));
    let out = "";
    other.stdout.on("data", (chunk: Buffer) => (out += chunk));
    await waitUntil(() => out.includes("locked"), "the other run to take the lock");
    // Told to finish only once this run is waiting for the lock: the order is certain.
    const told = rebuildIfStale(root, { onLockBusy: () => writeFileSync(join(root, "go"), "") });
    expect(told).toMatch(/; rebuilt by a concurrent run$/);
    expect(builds()).toBe(0);
    expect(staleness(root)).toBeUndefined();
    await exited;
  });
});
