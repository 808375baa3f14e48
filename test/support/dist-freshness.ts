// Tests that spawn the CLI run dist/, not src/: a dist/ older than src/ would let them pass
// against code that no longer exists. The global setup rebuilds a stale dist/ once per run
// (workers start after it, so they never build twice), under a lock shared by concurrent runs
// (two tsc writing one dist/ at once would mix their files); requireBuild() refuses to spawn a
// dist/ that is still stale (a build that failed, or src/ edited since).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "../..");
/** Written by every build (tsc rewrites its outputs), so its mtime is when dist/ was last built. */
export const DIST_ENTRY = join(ROOT, "dist/src/cli/main.js");
/** What `npm run build` compiles (tsconfig.build.json: src and bench), and the configs that steer it. */
const COMPILED_DIRS = ["src", "bench"];
// The bundler's script too: bin/convosim runs its output (a bundle older than dist/src is skipped).
const CONFIGS = ["tsconfig.json", "tsconfig.build.json", "scripts/bundle-cli.mjs"];

/** Newest mtime (ms) of the compiled sources, and which file it is. */
export function newestSource(root = ROOT): { path: string; mtimeMs: number } {
  let newest = { path: "", mtimeMs: 0 };
  const consider = (path: string) => {
    const mtimeMs = statSync(path).mtimeMs;
    if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) consider(path);
    }
  };
  for (const dir of COMPILED_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  for (const config of CONFIGS) if (existsSync(join(root, config))) consider(join(root, config));
  return newest;
}

/** Why dist/ cannot be trusted, or undefined when it is at least as new as every source. */
export function staleness(root = ROOT): string | undefined {
  const entry = join(root, "dist/src/cli/main.js");
  if (!existsSync(entry)) return "dist/ is missing";
  const newest = newestSource(root);
  const built = statSync(entry).mtimeMs;
  if (newest.mtimeMs <= built) return undefined;
  const seconds = ((newest.mtimeMs - built) / 1000).toFixed(1);
  return `dist/ is older than ${newest.path.slice(root.length + 1)} (by ${seconds} s)`;
}

/** One lock per checkout, outside it (a lock inside dist/ would count as build output). */
export const lockPath = (root = ROOT) =>
  join(tmpdir(), `convosim-build-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.lock`);
/** A lock older than this is left over from a killed run. */
const LOCK_ABANDONED_MS = 10 * 60_000;
const LOCK_WAIT_MS = 5 * 60_000;

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function acquireLock(lock: string, onBusy?: () => void): boolean {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock); // atomic: exactly one run gets it
      return true;
    } catch {
      if (attempt === 0) onBusy?.();
      const age = existsSync(lock) ? Date.now() - statSync(lock).mtimeMs : 0;
      if (age > LOCK_ABANDONED_MS) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) return false;
      else pause(500);
    }
  }
}

/**
 * Rebuilds dist/ when it is stale. Returns what happened, for one line on the console; never
 * throws: a failed build leaves dist/ stale, and requireBuild() then fails the tests that need it.
 */
export function rebuildIfStale(root = ROOT, options: { onLockBusy?: () => void } = {}): string | undefined {
  const before = staleness(root);
  if (!before) return undefined;
  const lock = lockPath(root);
  if (!acquireLock(lock, options.onLockBusy))
    return `${before}; another run has held the build lock for 5 minutes: not rebuilt`;
  try {
    if (!staleness(root)) return `${before}; rebuilt by a concurrent run`;
    try {
      execFileSync("npm", ["run", "build"], { cwd: root, stdio: "pipe" });
    } catch (error) {
      const output = String((error as { stdout?: unknown }).stdout ?? "").trim();
      const tail = output.split("\n").slice(-5).join("\n");
      return `${before}; \`npm run build\` failed:\n${tail}`;
    }
    return `${before}; rebuilt with \`npm run build\``;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
