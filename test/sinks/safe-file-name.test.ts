import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { interactionFileName, MAX_STEM_LENGTH, safeFileName } from "../../src/sinks/safe-file-name.js";
import { tempDir } from "./fixtures.js";

const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const HOSTILE = [
  "../../etc/passwd",
  "/abs",
  "/",
  "a/b",
  "a\\b",
  "..",
  ".",
  ".hidden",
  "trailing.",
  "CON",
  "con",
  "nul.txt",
  "COM1",
  "lpt9.json",
  "persönlichkeit_ü",
  "😀😀",
  "名前",
  "x".repeat(1000),
  "",
  "a\u0000b",
  "a\nb",
  " spaced out ",
  "a..b",
];

describe("safeFileName", () => {
  it("leaves an already safe lower-case id unchanged", () => {
    expect(safeFileName("interaction_persona_001_q3_s0")).toBe("interaction_persona_001_q3_s0");
    expect(safeFileName("a-b.c_d")).toBe("a-b.c_d");
  });

  it.each(HOSTILE)("makes %j a plain, bounded file name", (id) => {
    const name = safeFileName(id);
    expect(name).toMatch(SAFE);
    expect(name).not.toContain("..");
    expect(name).not.toMatch(/\.$/);
    expect(name.length).toBeGreaterThan(0);
    expect(name.length).toBeLessThanOrEqual(MAX_STEM_LENGTH);
    expect(name.split(".")[0]).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)$/i);
    // Joined under a directory, it stays directly in that directory.
    expect(resolve("/out/interactions", interactionFileName(id))).toBe(`/out/interactions/${name}.json`);
  });

  it("is deterministic and keeps distinct ids apart after replacement and truncation", () => {
    const ids = [
      ...HOSTILE,
      "a_b",
      "a/b",
      "a:b",
      "x".repeat(999),
      "x".repeat(1000),
      "Alice",
      "alice",
      "ALICE",
    ];
    const names = ids.map(safeFileName);
    expect(new Set(names).size).toBe(new Set(ids).size);
    expect(ids.map(safeFileName)).toEqual(names);
  });

  it("suffixes upper-case ids so case-insensitive file systems cannot merge two ids", () => {
    expect(safeFileName("Alice").toLowerCase()).not.toBe(safeFileName("alice").toLowerCase());
    expect(safeFileName("Alice")).toMatch(/^Alice-[0-9a-f]{10}$/);
  });

  describe("on disk", () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ dir, cleanup } = await tempDir()));
    afterEach(() => cleanup());

    it("writes every hostile id as one file inside the directory", async () => {
      const folder = join(dir, "interactions");
      await mkdir(folder);
      for (const id of HOSTILE) await writeFile(join(folder, interactionFileName(id)), id);
      const listed = await readdir(folder);
      expect(listed).toHaveLength(HOSTILE.length);
      expect(await readdir(dir)).toEqual(["interactions"]);
    });
  });
});
