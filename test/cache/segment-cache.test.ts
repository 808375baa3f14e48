// The response cache on disk (a segment log): round trip across instances (runs), group commit,
// torn and damaged records are misses, several writers share one folder, nothing secret is stored.
import { execFile } from "node:child_process";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeEntry } from "../../src/cache/entry.js";
import { responseKey } from "../../src/cache/key.js";
import { defaultResponseCacheDir, openResponseCache } from "../../src/cache/location.js";
import { SegmentResponseCache } from "../../src/cache/segment-cache.js";
import type { ChatResult } from "../../src/providers/types.js";
import { transpileCache } from "./transpile-cache.js";

const result = (text: string): ChatResult => ({
  text,
  usage: { prompt_tokens: 120, completion_tokens: 33, cached_tokens: 64 },
  finishReason: "stop",
  provider: "openai",
  model: "gpt-4o-mini",
});
const keyOf = (n: number) =>
  responseKey(
    { provider: "openai", model: "gpt-4o-mini" },
    { messages: [{ role: "user", content: `q${n}` }] },
  );

describe("SegmentResponseCache", () => {
  let root: string;
  let dir: string;
  const segments = async () => (await readdir(join(dir, "segments")).catch(() => [] as string[])).sort();
  const onlySegment = async () => {
    const names = await segments();
    expect(names).toHaveLength(1);
    return join(dir, "segments", names[0]!);
  };
  /** Writes entries 1…n (text "hello n") and closes: one segment. */
  const stored = async (n: number) => {
    const writer = new SegmentResponseCache(dir);
    for (let i = 1; i <= n; i++) writer.put(keyOf(i), result(`hello ${i}`));
    await writer.close();
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "convosim-cache-"));
    dir = join(root, "responses");
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("round-trips a result into a later instance (a later run), without rate-limit headers", async () => {
    const first = new SegmentResponseCache(dir);
    expect(first.get(keyOf(1))).toBeUndefined();
    first.put(keyOf(1), { ...result("hello"), rateLimit: { remainingRequests: 5 }, cached: false });
    await first.close();
    expect(first.stats()).toMatchObject({ writes: 1, misses: 1, writeErrors: 0 });

    const second = new SegmentResponseCache(dir);
    expect(second.get(keyOf(1))).toEqual(result("hello"));
    expect(second.get(keyOf(2))).toBeUndefined();
    expect(second.stats()).toMatchObject({ hits: 1, misses: 1, corrupt: 0 });
    expect(await segments()).toEqual([
      expect.stringMatching(new RegExp(`^[0-9a-f]{14}-${process.pid}-[0-9a-f]{8}\\.log$`)),
    ]);
    expect(await readFile(await onlySegment(), "utf8")).toBe(encodeEntry(keyOf(1), result("hello")));
  });

  it("creates nothing on disk until the first entry is written", async () => {
    const cache = new SegmentResponseCache(dir);
    expect(cache.get(keyOf(1))).toBeUndefined();
    await cache.close();
    await expect(readdir(root)).resolves.toEqual([]);
  });

  it("answers from memory while the write is in flight, and from the log once written", async () => {
    const cache = new SegmentResponseCache(dir);
    expect(cache.get(keyOf(9))).toBeUndefined(); // the index is built (empty) before the put
    cache.put(keyOf(1), result("soon on disk"));
    expect(cache.get(keyOf(1))).toEqual(result("soon on disk")); // synchronous: no await
    await cache.flush();
    expect(cache.get(keyOf(1))).toEqual(result("soon on disk")); // now read back from the segment
    expect(new SegmentResponseCache(dir).get(keyOf(1))).toEqual(result("soon on disk"));
  });

  // Group commit, checked on a fake clock (only setTimeout is faked: the file writes and
  // setImmediate stay real), so the count of writes does not depend on the machine's speed. How
  // many paced puts one write gathers on a real clock is a bench figure (bench/cache-micro.ts,
  // paced_puts_per_write), not a test's.
  describe("group commit (on a fake clock)", () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    const turnOfTheEventLoop = () => new Promise((resolve) => setImmediate(resolve));

    it("holds puts for the 10 ms window, then writes every put made in it as one group", async () => {
      const cache = new SegmentResponseCache(dir);
      // As in a run: results arrive one per turn of the event loop, not all in one turn.
      for (let n = 0; n < 300; n++) {
        cache.put(keyOf(n), result(`r${n}`));
        await turnOfTheEventLoop();
      }
      vi.advanceTimersByTime(9); // the window is still open: nothing written, nothing on disk
      await turnOfTheEventLoop();
      expect(cache.writeGroups).toBe(0);
      expect(await segments()).toEqual([]);
      vi.advanceTimersByTime(1); // the window closes: one write of all 300
      await cache.flush();
      expect(cache.writeGroups).toBe(1);
      expect(cache.stats()).toMatchObject({ writes: 300, writeErrors: 0 });
      const reader = new SegmentResponseCache(dir);
      for (let n = 0; n < 300; n++) expect(reader.get(keyOf(n))?.text).toBe(`r${n}`);
      await cache.flush(); // idle: resolves at once
    });

    it("joins puts made while a write is in flight into the next write, without a new window", async () => {
      const cache = new SegmentResponseCache(dir);
      cache.put(keyOf(0), result("first"));
      vi.advanceTimersByTime(10); // the first group's write starts
      // While it is in flight (the file write has not come back), more results arrive.
      for (let n = 1; n <= 50; n++) cache.put(keyOf(n), result(`r${n}`));
      expect(cache.writeGroups).toBe(0);
      await cache.flush(); // no timer advanced: the second group follows the first at once
      expect(cache.writeGroups).toBe(2);
      expect(cache.stats()).toMatchObject({ writes: 51, writeErrors: 0 });
      // A put after the writes went idle opens a new window: a third group.
      cache.put(keyOf(51), result("later"));
      vi.advanceTimersByTime(10);
      await cache.flush();
      expect(cache.writeGroups).toBe(3);
      const reader = new SegmentResponseCache(dir);
      for (let n = 1; n <= 51; n++) expect(reader.get(keyOf(n))).toBeDefined();
      expect(reader.get(keyOf(0))).toEqual(result("first"));
    });
  });

  it("stores a key once when the same call is put twice before it is written", async () => {
    const cache = new SegmentResponseCache(dir);
    cache.put(keyOf(1), result("first"));
    cache.put(keyOf(1), result("second"));
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    expect(new SegmentResponseCache(dir).get(keyOf(1))).toEqual(result("first"));
  });

  it.each<[string, (record: string) => string]>([
    ["a body cut short", (record) => record.slice(0, -10)],
    ["a header without its body", (record) => record.slice(0, record.indexOf("\n") + 1)],
    ["a header cut short", (record) => record.slice(0, 30)],
  ])("ignores a torn last record (%s): a plain miss", async (_what, tear) => {
    await stored(2);
    await appendFile(await onlySegment(), tear(encodeEntry(keyOf(3), result("torn"))));
    const reader = new SegmentResponseCache(dir);
    expect(reader.get(keyOf(3))).toBeUndefined();
    expect(reader.get(keyOf(2))).toEqual(result("hello 2"));
    expect(reader.stats()).toMatchObject({ hits: 1, misses: 1, corrupt: 0 });
    // Stored again, it lands in a new segment, past the torn bytes.
    reader.put(keyOf(3), result("whole"));
    await reader.close();
    expect(new SegmentResponseCache(dir).get(keyOf(3))).toEqual(result("whole"));
  });

  it.each<[string, (segment: string) => string]>([
    ["checksum mismatch", (segment) => segment.replace("hello 1", "HELLO 1")],
    // A valid checksum over a body that is not a result: caught by the shape check alone.
    [
      "a result of the wrong shape",
      (segment) =>
        segment.replace(
          encodeEntry(keyOf(1), result("hello 1")),
          encodeEntry(keyOf(1), { ...result("hello 1"), text: 42 } as unknown as ChatResult),
        ),
    ],
  ])("treats a damaged record (%s) as corrupt and a miss", async (_what, damage) => {
    await stored(2);
    const path = await onlySegment();
    await writeFile(path, damage(await readFile(path, "utf8")));
    const reader = new SegmentResponseCache(dir);
    expect(reader.get(keyOf(1))).toBeUndefined();
    expect(reader.get(keyOf(1))).toBeUndefined(); // known damaged: no second read, no second count
    expect(reader.get(keyOf(2))).toEqual(result("hello 2"));
    expect(reader.stats()).toMatchObject({ hits: 1, misses: 2, corrupt: 1 });
    // The fresh result is stored again, and a later run reads it, not the damaged record.
    reader.put(keyOf(1), result("fresh"));
    await reader.flush();
    expect(reader.get(keyOf(1))).toEqual(result("fresh"));
    await reader.close();
    expect(new SegmentResponseCache(dir).get(keyOf(1))).toEqual(result("fresh"));
  });

  it("skips lines that are not records and finds the records after them", async () => {
    await stored(1);
    await appendFile(await onlySegment(), `garbage\n${"x".repeat(5000)}\n{"format":\n`);
    await appendFile(await onlySegment(), encodeEntry(keyOf(2), result("after the garbage")));
    const reader = new SegmentResponseCache(dir);
    expect(reader.get(keyOf(1))).toEqual(result("hello 1"));
    expect(reader.get(keyOf(2))).toEqual(result("after the garbage"));
  });

  it("lets two caches in one process share a folder, each writing its own segment", async () => {
    const a = new SegmentResponseCache(dir);
    const b = new SegmentResponseCache(dir);
    expect(a.get(keyOf(1))).toBeUndefined(); // a has indexed the folder before b writes
    a.put(keyOf(1), result("from a"));
    b.put(keyOf(2), result("from b"));
    b.put(keyOf(1), result("from b too")); // the same call stored by both: either record will do
    await Promise.all([a.close(), b.close()]);
    expect(await segments()).toHaveLength(2);
    expect(a.get(keyOf(1))).toEqual(result("from a"));
    expect(a.get(keyOf(2))).toBeUndefined(); // written by another writer after a's scan: not seen
    const reader = new SegmentResponseCache(dir);
    expect(reader.get(keyOf(2))).toEqual(result("from b"));
    expect(reader.get(keyOf(1))?.text).toMatch(/^from (a|b too)$/);
    expect(reader.stats().corrupt).toBe(0);
  });

  it("sees what another process wrote once reopened", async () => {
    await transpileCache(root);
    const before = new SegmentResponseCache(dir);
    before.put(keyOf(1), result("from the parent"));
    await before.flush();
    const childKey = responseKey({ provider: "x", model: "y" }, { messages: [] }); // any key
    expect(before.get(childKey)).toBeUndefined(); // indexed now, before the child writes
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(import.meta.dirname, "writer-child.mjs"),
      root,
      dir,
      "50",
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ writes: 50, writeErrors: 0 });
    await before.close();
    const { createHash } = await import("node:crypto");
    const childKeyOf = (n: number) => createHash("sha256").update(`child ${n}`).digest("hex");
    expect(before.get(childKeyOf(7))).toBeUndefined(); // not rescanned: a miss, documented
    const after = new SegmentResponseCache(dir);
    for (let n = 0; n < 50; n++) expect(after.get(childKeyOf(n))?.text).toBe(`from the child, ${n}`);
    expect(after.get(keyOf(1))).toEqual(result("from the parent"));
    expect(await segments()).toHaveLength(2);
  });

  it("starts a new segment past maxSegmentBytes", async () => {
    const cache = new SegmentResponseCache(dir, { maxSegmentBytes: 2000 });
    for (let n = 0; n < 10; n++) {
      cache.put(keyOf(n), result("y".repeat(900)));
      await cache.flush(); // one record per write
    }
    await cache.close();
    expect((await segments()).length).toBeGreaterThanOrEqual(5);
    const reader = new SegmentResponseCache(dir);
    for (let n = 0; n < 10; n++) expect(reader.get(keyOf(n))?.text).toHaveLength(900);
  });

  it("counts and reports a failed write without failing the caller", async () => {
    await writeFile(dir, "a file where the cache folder should be");
    const errors: unknown[] = [];
    const cache = new SegmentResponseCache(dir, { onError: (error) => errors.push(error) });
    expect(cache.get(keyOf(1))).toBeUndefined(); // cannot be listed (ENOTDIR): an empty cache
    cache.put(keyOf(1), result("lost"));
    await cache.close();
    expect(cache.stats()).toMatchObject({ writes: 0, writeErrors: 1 });
    expect(errors).toHaveLength(1);
  });

  it("syncs records to disk when asked (fsync)", async () => {
    const cache = new SegmentResponseCache(dir, { fsync: true });
    cache.put(keyOf(1), result("durable"));
    await cache.close();
    expect(cache.stats()).toMatchObject({ writes: 1, writeErrors: 0 });
    expect(new SegmentResponseCache(dir).get(keyOf(1))).toEqual(result("durable"));
  });

  it("ignores entries of the former one-file-per-entry layout", async () => {
    await mkdir(join(dir, keyOf(1).slice(0, 2)), { recursive: true });
    await writeFile(
      join(dir, keyOf(1).slice(0, 2), `${keyOf(1)}.json`),
      encodeEntry(keyOf(1), result("old")),
    );
    expect(new SegmentResponseCache(dir).get(keyOf(1))).toBeUndefined();
  });

  it("refuses puts after close and malformed keys, and still answers gets", async () => {
    const errors: unknown[] = [];
    const cache = new SegmentResponseCache(dir, { onError: (error) => errors.push(error) });
    cache.put(keyOf(1), result("kept"));
    await cache.close();
    cache.put(keyOf(2), result("late"));
    expect(cache.stats()).toMatchObject({ writes: 1, writeErrors: 1 });
    expect(String(errors[0])).toMatch(/put after close/);
    expect(cache.get(keyOf(1))).toEqual(result("kept"));
    expect(() => cache.get("../../etc/passwd")).toThrow(TypeError);
    expect(() => cache.put("ABC", result("x"))).toThrow(TypeError);
  });
});

describe("where the cache lives", () => {
  it("defaults to <convosim cache dir>/responses, like the model cache", () => {
    expect(defaultResponseCacheDir({ CONVOSIM_CACHE_DIR: "/c" })).toBe("/c/responses");
    expect(defaultResponseCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/convosim/responses");
    expect(defaultResponseCacheDir({ HOME: "/h" })).toMatch(/\.cache\/convosim\/responses$/);
  });

  it("--cache-dir overrides it (relative to cwd) and --no-cache turns it off", () => {
    expect(openResponseCache({ enabled: false })).toBeUndefined();
    expect(openResponseCache({ dir: "my-cache", cwd: "/work/x" })?.dir).toBe("/work/x/my-cache");
    expect(openResponseCache({ env: { CONVOSIM_CACHE_DIR: "/c" } })).toBeInstanceOf(SegmentResponseCache);
    expect(openResponseCache({ env: { CONVOSIM_CACHE_DIR: "/c" } })?.dir).toBe("/c/responses");
  });
});
