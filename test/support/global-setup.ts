// Once per test run, before any worker starts:
// - test runs get a response cache of their own (never the user's), emptied afterwards;
// - a dist/ older than src/ is rebuilt (dist-freshness.ts), so the CLI tests, which spawn
//   dist/, never pass against stale code. CONVOSIM_TEST_NO_BUILD=1 skips the rebuild (a run of
//   tests that never spawn the CLI); the CLI tests then refuse a stale dist/ instead.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rebuildIfStale } from "./dist-freshness.js";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "convosim-test-responses-"));
  process.env.CONVOSIM_RESPONSE_CACHE_DIR = dir;
  if (process.env.CONVOSIM_TEST_NO_BUILD !== "1") {
    const rebuilt = rebuildIfStale();
    if (rebuilt) process.stderr.write(`global setup: ${rebuilt}\n`);
  }
  return () => rmSync(dir, { recursive: true, force: true });
}
