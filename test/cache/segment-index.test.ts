// The segment cache's parts: the index (a hash table of typed arrays keyed by 64 bits of the key)
// and the scan of a segment file, with records straddling the boundaries of its read buffer.
import { closeSync, openSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeEntry, headerLayout } from "../../src/cache/entry.js";
import { responseKey } from "../../src/cache/key.js";
import { RecordIndex, wordOfBytes, wordOfKey } from "../../src/cache/segment-index.js";
import { scanSegment } from "../../src/cache/segment-scan.js";
import type { CachedResult } from "../../src/cache/types.js";

const keyOf = (n: number) =>
  responseKey({ provider: "p", model: "m" }, { messages: [{ role: "user", content: `${n}` }] });
const entry = (text: string): CachedResult => ({
  text,
  usage: { prompt_tokens: 1, completion_tokens: 2 },
  finishReason: "stop",
  provider: "p",
  model: "m",
});

describe("RecordIndex", () => {
  it("finds what was set, through growth and colliding slots, and the last set of a key wins", () => {
    const index = new RecordIndex(16);
    // Equal low words: every key probes from the same slot.
    for (let n = 0; n < 40; n++) index.set(n, 7, n % 3, n * 100, n + 1);
    for (let n = 0; n < 5000; n++) index.set(wordOfKey(keyOf(n), 0), wordOfKey(keyOf(n), 8), 9, n, 1);
    index.set(3, 7, 2, 12345, 99); // the same key again
    expect(index.size).toBe(5040);
    const slot = index.find(3, 7);
    expect([index.segmentAt(slot), index.offsetAt(slot), index.lengthAt(slot)]).toEqual([2, 12345, 99]);
    for (let n = 0; n < 40; n++) if (n !== 3) expect(index.offsetAt(index.find(n, 7))).toBe(n * 100);
    for (let n = 0; n < 5000; n++)
      expect(index.offsetAt(index.find(wordOfKey(keyOf(n), 0), wordOfKey(keyOf(n), 8)))).toBe(n);
    expect(index.find(41, 7)).toBe(-1);
    expect(index.bytes).toBeLessThanOrEqual(8192 * 24); // 5040 entries: 8192 slots of 24 bytes
  });

  it("forgets a slot until the key is set again", () => {
    const index = new RecordIndex();
    index.set(1, 2, 0, 10, 5);
    index.forget(index.find(1, 2));
    expect(index.find(1, 2)).toBe(-1);
    index.set(1, 2, 1, 20, 5);
    expect(index.offsetAt(index.find(1, 2))).toBe(20);
  });

  it("reads key words from strings and bytes alike, and refuses what is not lowercase hex", () => {
    const key = keyOf(1);
    const bytes = Buffer.from(`xx${key}`, "latin1");
    expect(wordOfBytes(bytes, 2)).toBe(wordOfKey(key, 0));
    expect(wordOfBytes(bytes, 10)).toBe(Number.parseInt(key.slice(8, 16), 16));
    expect(wordOfKey("ffffffff", 0)).toBe(0xffffffff);
    expect(wordOfKey("ABCDEF01", 0)).toBe(-1);
    expect(wordOfBytes(bytes, 0)).toBe(-1);
  });
});

describe("scanSegment", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "convosim-scan-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reports every record with its offset and length, whatever the read buffer's size", async () => {
    // Sizes from tiny to several buffers long, so headers and bodies straddle chunk boundaries.
    const records = Array.from({ length: 60 }, (_, n) =>
      encodeEntry(keyOf(n), entry("é".repeat((n * 37) % 900))),
    );
    const text = records.join("");
    const path = join(dir, "segment.log");
    await writeFile(path, text);
    const bytes = Buffer.from(text);
    const expected = [];
    let offset = 0;
    for (const [n, record] of records.entries()) {
      const length = Buffer.byteLength(record);
      expected.push([wordOfKey(keyOf(n), 0), wordOfKey(keyOf(n), 8), offset, length]);
      offset += length;
    }
    for (const size of [headerLayout().length + 1, 257, 1000, 1 << 20]) {
      const found: number[][] = [];
      const fd = openSync(path, "r");
      try {
        expect(scanSegment(fd, Buffer.alloc(size), (...record) => found.push(record))).toBe(60);
      } finally {
        closeSync(fd);
      }
      expect(found, `buffer of ${size}`).toEqual(expected);
      const [, , at, length] = found[59]!;
      expect(bytes.subarray(at!, at! + length!).toString()).toBe(records[59]);
    }
  });
});
