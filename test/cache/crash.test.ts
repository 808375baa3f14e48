// Kill -9 two processes that append to one cache directory at random moments (mid-burst, often
// mid-write of a 2 MB record), five times over, then reopen: every record is either whole — found
// by the cache and passing an independent check of its text — or ignored, and nothing throws.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SegmentResponseCache } from "../../src/cache/segment-cache.js";
import { transpileCache } from "./transpile-cache.js";

const CHILD = join(import.meta.dirname, "crash-child.mjs");

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The keys of the records found by a plain reading of a segment, independent of the cache's scan:
 * a header line (JSON with a key) followed by a line that ends in a newline.
 */
function wholeRecords(text: string): string[] {
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline, or a record cut short
  const keys: string[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('{"format"') || lines[i + 1]!.startsWith('{"format"')) continue;
    const header = JSON.parse(lines[i]!) as { key: string };
    keys.push(header.key);
    i++;
  }
  return keys;
}

describe("response cache under kill -9", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "convosim-cache-crash-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("serves only whole records after writers die mid-write, two writers of the same keys", async () => {
    await transpileCache(root);
    const cacheDir = join(root, "responses");
    for (let round = 0; round < 5; round++) {
      const children = ["a", "b"].map((writer) =>
        spawn(process.execPath, [CHILD, root, cacheDir, writer], { stdio: ["ignore", "pipe", "inherit"] }),
      );
      const exited = children.map((child) => new Promise((resolve) => child.once("exit", resolve)));
      await Promise.all(children.map(waitForReady));
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 150));
      for (const child of children) child.kill("SIGKILL");
      await Promise.all(exited);
    }

    const segmentsDir = join(cacheDir, "segments");
    const whole = new Set<string>();
    for (const name of await readdir(segmentsDir)) {
      for (const key of wholeRecords(await readFile(join(segmentsDir, name), "utf8"))) whole.add(key);
    }
    expect(whole.size).toBeGreaterThan(0);

    const reader = new SegmentResponseCache(cacheDir);
    for (const key of whole) {
      const found = reader.get(key);
      expect(found, key).toBeDefined();
      const [digest, writer, payload] = found!.text.split(":");
      expect(sha(payload!)).toBe(digest);
      expect(found!.model).toBe(writer);
    }
    expect(reader.stats()).toMatchObject({ corrupt: 0, hits: whole.size, misses: 0 });
    // A key whose only record was cut short is a plain miss, not an error.
    expect(reader.get(sha("a never-stored key"))).toBeUndefined();
    await reader.close();
  });
});
