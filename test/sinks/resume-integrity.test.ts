// Resume counts as done only what really is a saved interaction for that id: a file that is
// valid JSON but not an interaction, one holding another id, or a directory under an
// interaction's name is not done — generate() moves it to DIR/quarantine/ and redoes it.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCompleted, loadFailures } from "../../src/sinks/completed.js";
import { type IndexEntry, readIndex } from "../../src/sinks/index-file.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import { loadCompletedForRun, quarantineUnreadable } from "../../src/sinks/quarantine.js";
import { failure, interaction, tempDir } from "./fixtures.js";

describe("resume integrity", () => {
  let dir: string;
  let out: string;
  let folder: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, "out");
    folder = join(out, "interactions");
    const storage = new InteractionStorage(out);
    for (const id of ["a", "b", "c", "d", "e", "f"]) await storage.save(interaction(id));
    await storage.close();
  });
  afterEach(() => cleanup());

  it("does not count valid JSON that is not an interaction, or holds another id, as done", async () => {
    await writeFile(join(folder, "b.json"), '{"hello": "world"}\n');
    await writeFile(join(folder, "c.json"), `${JSON.stringify(interaction("z"), null, 2)}\n`);
    await writeFile(join(folder, "d.json"), JSON.stringify({ interaction_id: "d" })); // compact, no shape
    await writeFile(join(folder, "e.json"), "[1, 2, 3]\n");
    const done = await loadCompleted(out);
    expect([...done.fileNames].sort()).toEqual(["a.json", "f.json"]);
    expect(done.corrupt.map((error) => error.path).sort()).toEqual(
      ["b", "c", "d", "e"].map((name) => join(folder, `${name}.json`)),
    );
    expect(done.corrupt.find((error) => error.path.endsWith("c.json"))?.message).toMatch(/"z"/);
  });

  it("accepts a complete interaction written by another tool (compact, other key order)", async () => {
    const { interaction_id, ...rest } = interaction("b");
    await writeFile(join(folder, "b.json"), JSON.stringify({ ...rest, interaction_id }));
    expect((await loadCompleted(out)).has("b")).toBe(true);
  });

  it("counts a directory named like an interaction file as not done, in every verify mode", async () => {
    await mkdir(join(folder, "zz.json"));
    await writeFile(join(folder, "zz.json", "inner.txt"), "x");
    for (const verify of ["tail", "full", "none", undefined] as const) {
      const done = await loadCompleted(out, verify ? { verify } : {});
      expect(done.has("zz"), String(verify)).toBe(false);
      expect(done.corrupt.map((error) => error.message).join(), String(verify)).toMatch(/directory/);
    }
  });

  it("quarantines what failed the check into DIR/quarantine/<name>, never overwriting", async () => {
    await writeFile(join(folder, "b.json"), '{"hello": "world"}\n');
    await rm(join(folder, "c.json"));
    await mkdir(join(folder, "c.json"));
    const first = await loadCompleted(out);
    const moved = await quarantineUnreadable(out, first.corrupt);
    expect(moved.map((m) => m.to).sort()).toEqual([
      join(out, "quarantine", "b.json"),
      join(out, "quarantine", "c.json"),
    ]);
    expect((await readdir(folder)).sort()).toEqual(["a.json", "d.json", "e.json", "f.json"]);
    expect(await readFile(join(out, "quarantine", "b.json"), "utf8")).toBe('{"hello": "world"}\n');

    // The same name broken again: the earlier quarantined copy is kept.
    await writeFile(join(folder, "b.json"), "{}\n");
    const again = await quarantineUnreadable(out, (await loadCompleted(out)).corrupt);
    expect(again.map((m) => m.to)).toEqual([join(out, "quarantine", "b.json.1")]);
    expect(await readFile(join(out, "quarantine", "b.json"), "utf8")).toBe('{"hello": "world"}\n');
    expect(await readFile(join(out, "quarantine", "b.json.1"), "utf8")).toBe("{}\n");
  });

  it("a failure whose interaction file is unreadable stays outstanding", async () => {
    // (Written by hand: closing a storage drops failures that a file supersedes.)
    await writeFile(join(out, "failures.ndjson"), `${JSON.stringify(failure("b"))}\n`);
    await writeFile(join(folder, "b.json"), '{"hello": "world"}\n');
    const { failures } = await loadFailures(out);
    expect(failures.map((f) => f.interaction_id)).toEqual(["b"]);
  });
});

describe("index.json that is corrupt or holds wrong entries", () => {
  let dir: string;
  let out: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, "out");
    const storage = new InteractionStorage(out);
    for (const id of ["a", "b"]) await storage.save(interaction(id));
    await storage.close();
  });
  afterEach(() => cleanup());

  const reopen = async (): Promise<IndexEntry[]> => {
    const storage = new InteractionStorage(out);
    await storage.flush();
    await storage.close();
    return JSON.parse(await readFile(join(out, "index.json"), "utf8")).interactions;
  };

  it("drops entries of the wrong shape or without a file, and indexes the files from themselves", async () => {
    const wrong = [
      { interaction_id: "a" }, // fields missing
      {
        interaction_id: "b",
        persona_id: 7,
        num_turns: "many",
        created_at: 7,
        query_id: null,
        filepath: "/etc/passwd",
      },
      { interaction_id: "ghost", persona_id: "p", num_turns: 1, created_at: "", query_id: "", filepath: "x" },
      null,
      5,
    ];
    await writeFile(join(out, "index.json"), JSON.stringify({ interactions: wrong, count: 99 }));
    const entries = await reopen();
    expect(entries.map((entry) => entry.interaction_id).sort()).toEqual(["a", "b"]);
    for (const entry of entries) {
      expect(entry).toMatchObject({ persona_id: "persona_001", num_turns: 2, query_id: "query_001" });
      expect(entry.filepath).toBe(join(out, "interactions", `${entry.interaction_id}.json`));
    }
  });

  it("an index.json that is a folder fails naming it (the CLI's one line needs the path)", async () => {
    await rm(join(out, "index.json"));
    await mkdir(join(out, "index.json"));
    await expect(readIndex(join(out, "index.json"))).rejects.toMatchObject({
      code: "EISDIR",
      path: join(out, "index.json"),
    });
  });

  it("a folder in place of index.json, failures.ndjson or usage.ndjson stops a run before any call", async () => {
    for (const name of ["index.json", "failures.ndjson", "usage.ndjson"]) {
      await rm(join(out, name), { recursive: true, force: true });
      await mkdir(join(out, name));
      await expect(loadCompletedForRun(out, () => {})).rejects.toMatchObject({
        code: "EISDIR",
        path: join(out, name),
      });
      await rm(join(out, name), { recursive: true });
    }
    expect((await loadCompletedForRun(out, () => {})).size).toBe(2);
  });

  it("a corrupt index is rebuilt from the files", async () => {
    await writeFile(join(out, "index.json"), '{"interactions": [{"interaction_id": "a", "persona');
    expect((await reopen()).map((entry) => entry.interaction_id).sort()).toEqual(["a", "b"]);
  });
});
