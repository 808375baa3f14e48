import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCompleted, loadFailures } from "../../src/sinks/completed.js";
import { type IndexFile, rebuildIndex } from "../../src/sinks/index-file.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import { interactionFileName } from "../../src/sinks/safe-file-name.js";
import { failure, interaction, tempDir } from "./fixtures.js";

describe("resume", () => {
  let dir: string;
  let out: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, "out");
  });
  afterEach(() => cleanup());

  async function saveAll(ids: string[]): Promise<void> {
    const storage = new InteractionStorage(out);
    for (const id of ids) await storage.save(interaction(id));
    await storage.close();
  }

  it("an output directory that does not exist has nothing done", async () => {
    const done = await loadCompleted(join(dir, "nope"));
    expect(done.size).toBe(0);
    expect(done.has("a")).toBe(false);
  });

  it("knows saved interactions by id, hostile ids included", async () => {
    const ids = ["plain_id", "../../etc/passwd", "/abs", "a/b", "CON", "名前", "x".repeat(1000), ""];
    await saveAll(ids);
    const done = await loadCompleted(out);
    expect(done.size).toBe(ids.length);
    for (const id of ids) expect(done.has(id)).toBe(true);
    expect(done.has("a_b")).toBe(false);
    expect(done.has("other")).toBe(false);
    expect((await loadCompleted(out, { verify: "full" })).size).toBe(ids.length);
  });

  it("deletes a crashed writer's temp files and never counts them", async () => {
    await saveAll(["a"]);
    const folder = join(out, "interactions");
    // What a writer killed between write and rename leaves: a dot-file ending in .tmp whose
    // pid is no longer running.
    const leftover = join(folder, `.${interactionFileName("b")}.999999999.0123abcd.tmp`);
    await writeFile(leftover, JSON.stringify(interaction("b")));
    // A live writer's temp file (this process) is left alone.
    const live = join(folder, `.${interactionFileName("c")}.${process.pid}.0123abcd.tmp`);
    await writeFile(live, "{");
    const done = await loadCompleted(out);
    expect(done.has("a")).toBe(true);
    expect(done.has("b")).toBe(false);
    expect(done.removedTemp).toEqual([leftover]);
    expect((await readdir(folder)).sort()).toEqual([`.c.json.${process.pid}.0123abcd.tmp`, "a.json"]);
  });

  it("treats truncated, empty and foreign files as not done, and reports them", async () => {
    await saveAll(["a", "b", "c", "d"]);
    const folder = join(out, "interactions");
    const full = await readFile(join(folder, "b.json"), "utf8");
    await writeFile(join(folder, "b.json"), full.slice(0, full.length / 2));
    await writeFile(join(folder, "c.json"), "");
    await writeFile(join(folder, "d.json"), Buffer.alloc(300)); // zero-filled: a power loss without fsync
    const done = await loadCompleted(out);
    expect([...done.fileNames]).toEqual(["a.json"]);
    expect(done.corrupt.map((e) => e.path).sort()).toEqual(
      ["b", "c", "d"].map((n) => join(folder, `${n}.json`)),
    );

    // "full" and the default "shape" also catch a complete file sitting under another id's
    // name; "tail" does not.
    await writeFile(join(folder, "e.json"), JSON.stringify(interaction("not-e")));
    const strict = await loadCompleted(out, { verify: "full" });
    expect(strict.has("e")).toBe(false);
    expect((await loadCompleted(out)).has("e")).toBe(false);
    expect((await loadCompleted(out, { verify: "tail" })).has("e")).toBe(true);
  });

  it("rebuildIndex restores index.json from the files alone", async () => {
    await saveAll(["b", "a"]);
    await rm(join(out, "index.json"));
    await mkdir(join(out, "interactions"), { recursive: true });
    await writeFile(join(out, "interactions", "zz.json"), "not json");
    const result = await rebuildIndex(out);
    expect(result.count).toBe(2);
    expect(result.corrupt).toHaveLength(1);
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as IndexFile;
    expect(index.count).toBe(2);
    // Same created_at: ties broken by id.
    expect(index.interactions.map((e) => e.interaction_id)).toEqual(["a", "b"]);
    expect(index.interactions[0]!.filepath).toBe(join(out, "interactions", "a.json"));
  });

  it("loadFailures keeps the last failure per id, skips superseded ones and reports cut lines", async () => {
    const storage = new InteractionStorage(out);
    await storage.saveFailure(failure("x", { attempts: 1 }));
    await storage.saveFailure(failure("y"));
    await storage.saveFailure(failure("x", { attempts: 2 }));
    await storage.save(interaction("y"));
    await storage.close();
    await writeFile(join(out, "failures.ndjson"), '{"status":"failed","interaction_id":"z', { flag: "a" });
    const { failures, malformed } = await loadFailures(out);
    expect(failures.map((f) => [f.interaction_id, f.attempts])).toEqual([["x", 2]]);
    expect(malformed).toHaveLength(1);
  });
});
