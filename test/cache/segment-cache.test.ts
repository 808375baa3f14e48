// The response cache on disk: round trip across instances (runs), damaged entries are misses,
// concurrent writers of one key leave one whole entry, and nothing secret is stored.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeEntry } from "../../src/cache/entry.js";
import { FileResponseCache } from "../../src/cache/file-cache.js";
import { responseKey } from "../../src/cache/key.js";
import { defaultResponseCacheDir, openResponseCache } from "../../src/cache/location.js";
import type { ChatResult } from "../../src/providers/types.js";

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

async function jsonFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(dir).catch(() => [] as string[]))
    for (const name of await readdir(join(dir, shard))) out.push(join(shard, name));
  return out.sort();
}

describe("FileResponseCache", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "convosim-cache-")), "responses");
  });
  afterEach(() => rm(join(dir, ".."), { recursive: true, force: true }));

  it("round-trips a result into a later instance (a later run), without rate-limit headers", async () => {
    const first = new FileResponseCache(dir);
    expect(first.get(keyOf(1))).toBeUndefined();
    first.put(keyOf(1), { ...result("hello"), rateLimit: { remainingRequests: 5 }, cached: false });
    await first.close();
    expect(first.stats()).toMatchObject({ writes: 1, misses: 1, writeErrors: 0 });

    const second = new FileResponseCache(dir);
    expect(await second.get(keyOf(1))).toEqual(result("hello"));
    expect(second.get(keyOf(2))).toBeUndefined();
    expect(second.stats()).toMatchObject({ hits: 1, misses: 1, corrupt: 0 });
    expect(await jsonFiles(dir)).toEqual([`${keyOf(1).slice(0, 2)}/${keyOf(1)}.json`]);
    expect(second.pathOf(keyOf(1))).toBe(join(dir, keyOf(1).slice(0, 2), `${keyOf(1)}.json`));
  });

  it("answers from memory while the write is still in flight", async () => {
    const cache = new FileResponseCache(dir);
    cache.put(keyOf(1), result("soon on disk"));
    expect(cache.get(keyOf(1))).toEqual(result("soon on disk")); // synchronous: no await
    await cache.flush();
    expect(await new FileResponseCache(dir).get(keyOf(1))).toEqual(result("soon on disk"));
  });

  it("reads asynchronously when syncReads is off", async () => {
    const cache = new FileResponseCache(dir, { syncReads: false });
    cache.put(keyOf(1), result("async"));
    await cache.flush();
    const reader = new FileResponseCache(dir, { syncReads: false });
    const found = reader.get(keyOf(1));
    expect(found).toBeInstanceOf(Promise);
    expect(await found).toEqual(result("async"));
    expect(await reader.get(keyOf(2))).toBeUndefined();
  });

  it.each<[string, (good: string) => string]>([
    ["truncated", (good) => good.slice(0, good.length - 10)],
    ["empty", () => ""],
    ["checksum mismatch", (good) => good.replace("hello", "HELLO")],
    ["not JSON", () => "garbage\nmore garbage\n"],
    ["another key's entry", () => encodeEntry(keyOf(2), result("hello"))],
    // A valid checksum over a body that is not a result: caught by the shape check alone.
    [
      "a result of the wrong shape",
      () => encodeEntry(keyOf(1), { ...result("hello"), text: 42 } as unknown as ChatResult),
    ],
  ])("treats a %s entry as a miss and deletes it", async (_what, damage) => {
    const writer = new FileResponseCache(dir);
    writer.put(keyOf(1), result("hello"));
    await writer.close();
    const path = writer.pathOf(keyOf(1));
    await writeFile(path, damage(await readFile(path, "utf8")));

    const reader = new FileResponseCache(dir);
    expect(await reader.get(keyOf(1))).toBeUndefined();
    expect(reader.stats()).toMatchObject({ hits: 0, misses: 1, corrupt: 1 });
    await expect.poll(() => jsonFiles(dir)).toEqual([]);
    // The fresh result can be stored again.
    reader.put(keyOf(1), result("fresh"));
    await reader.flush();
    expect(await new FileResponseCache(dir).get(keyOf(1))).toEqual(result("fresh"));
  });

  it("leaves one whole entry when many writers store one key at once", async () => {
    const writers = Array.from({ length: 12 }, () => new FileResponseCache(dir, { writeConcurrency: 4 }));
    for (const [i, writer] of writers.entries())
      for (let n = 0; n < 20; n++) writer.put(keyOf(n), result(`writer ${i} `.repeat(200 + n)));
    await Promise.all(writers.map((w) => w.close()));
    const files = await jsonFiles(dir);
    expect(files).toHaveLength(20); // no temp files left, one entry per key
    const reader = new FileResponseCache(dir);
    for (let n = 0; n < 20; n++) {
      const found = (await reader.get(keyOf(n)))!;
      expect(found.text).toMatch(new RegExp(`^(writer \\d+ ){${200 + n}}$`));
    }
    expect(reader.stats().corrupt).toBe(0);
  });

  it("stores a key once when the same call is put twice before it is written", async () => {
    const cache = new FileResponseCache(dir);
    cache.put(keyOf(1), result("first"));
    cache.put(keyOf(1), result("second"));
    await cache.flush();
    expect(cache.stats().writes).toBe(1);
    expect(await new FileResponseCache(dir).get(keyOf(1))).toEqual(result("first"));
  });

  it("writes in the background with bounded concurrency, and flush waits for all of it", async () => {
    const cache = new FileResponseCache(dir, { writeConcurrency: 2 });
    for (let n = 0; n < 300; n++) cache.put(keyOf(n), result(`r${n}`));
    await cache.flush();
    expect(cache.stats()).toMatchObject({ writes: 300, writeErrors: 0 });
    expect(await jsonFiles(dir)).toHaveLength(300);
    await cache.flush(); // idle: resolves at once
  });

  it("counts and reports a failed write without failing the caller", async () => {
    await mkdir(join(dir, ".."), { recursive: true });
    await writeFile(dir, "a file where the cache folder should be");
    const errors: unknown[] = [];
    const cache = new FileResponseCache(dir, { onError: (error) => errors.push(error) });
    cache.put(keyOf(1), result("lost"));
    await cache.close();
    expect(cache.stats()).toMatchObject({ writes: 0, writeErrors: 1 });
    expect(errors).toHaveLength(1);
  });

  it("syncs entries to disk when asked (fsync)", async () => {
    const cache = new FileResponseCache(dir, { fsync: true });
    cache.put(keyOf(1), result("durable"));
    await cache.close();
    expect(cache.stats()).toMatchObject({ writes: 1, writeErrors: 0 });
    expect(await new FileResponseCache(dir).get(keyOf(1))).toEqual(result("durable"));
  });

  it("reports an entry it cannot read (not merely absent) and serves a miss", async () => {
    const errors: unknown[] = [];
    const cache = new FileResponseCache(dir, { onError: (error) => errors.push(error) });
    await mkdir(cache.pathOf(keyOf(1)), { recursive: true }); // a directory where the file should be
    expect(cache.get(keyOf(1))).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ code: "EISDIR" })]);
    expect(cache.get(keyOf(2))).toBeUndefined(); // absent: a miss, no report
    expect(errors).toHaveLength(1);
  });

  it("refuses puts after close and malformed keys", async () => {
    const errors: unknown[] = [];
    const cache = new FileResponseCache(dir, { onError: (error) => errors.push(error) });
    await cache.close();
    cache.put(keyOf(1), result("late"));
    expect(cache.stats().writeErrors).toBe(1);
    expect(String(errors[0])).toMatch(/put after close/);
    expect(() => cache.get("../../etc/passwd")).toThrow(TypeError);
    expect(() => cache.put("ABC", result("x"))).toThrow(TypeError);
  });

  it("removes the temp files of dead writers and keeps live ones", async () => {
    const cache = new FileResponseCache(dir);
    cache.put(keyOf(1), result("x"));
    await cache.flush();
    const shard = join(dir, keyOf(1).slice(0, 2));
    const dead = `.${keyOf(1)}.json.999999999.abcdef.tmp`;
    const live = `.${keyOf(1)}.json.${process.pid}.abcdef.tmp`;
    await writeFile(join(shard, dead), "partial");
    await writeFile(join(shard, live), "in flight");
    expect(await cache.removeStaleTemps()).toBe(1);
    expect((await readdir(shard)).sort()).toEqual([live, `${keyOf(1)}.json`].sort());
    expect(await new FileResponseCache(join(dir, "missing")).removeStaleTemps()).toBe(0);
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
    expect(openResponseCache({ env: { CONVOSIM_CACHE_DIR: "/c" } })?.dir).toBe("/c/responses");
  });
});
