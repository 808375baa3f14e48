// Test runs get a response cache of their own (never the user's), emptied afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "convosim-test-responses-"));
  process.env.CONVOSIM_RESPONSE_CACHE_DIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
