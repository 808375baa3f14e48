import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Interaction } from "../../src/schema/interaction.js";
import { loadFailures } from "../../src/sinks/completed.js";
import type { IndexFile } from "../../src/sinks/index-file.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import type { UsageLedgerLine } from "../../src/sinks/usage-ledger.js";
import { failure, interaction, tempDir } from "./fixtures.js";

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, "utf8")) as T;
const readLines = async <T>(path: string): Promise<T[]> =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);

describe("InteractionStorage", () => {
  let dir: string;
  let out: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, "output");
  });
  afterEach(async () => {
    vi.useRealTimers();
    await cleanup();
  });

  it("round-trips: save returns the path, load/loadAll/iterate give the interaction back", async () => {
    const storage = new InteractionStorage(out);
    const a = interaction("interaction_a");
    const b = interaction("Persona/B:1", { persona_id: "Persona/B" });
    const path = await storage.save(a);
    await storage.save(b);
    expect(path).toBe(join(out, "interactions", "interaction_a.json"));
    expect(await readJson<Interaction>(path)).toEqual(a);
    expect(await storage.load("interaction_a")).toEqual(a);
    expect(await storage.load("Persona/B:1")).toEqual(b);
    expect(await storage.load("missing")).toBeUndefined();
    const all = await storage.loadAll();
    expect(all.map((i) => i.interaction_id).sort()).toEqual(["Persona/B:1", "interaction_a"]);
    const streamed: string[] = [];
    for await (const item of storage.iterate()) streamed.push(item.interaction_id);
    expect(streamed.sort()).toEqual(["Persona/B:1", "interaction_a"]);
    await storage.close();
    await expect(storage.save(a)).rejects.toThrow(/closed/);
  });

  it("writes index.json in the reference's format at close, with filepath joined from the given dir", async () => {
    const storage = new InteractionStorage(out);
    await storage.save(interaction("a", { num_turns: 3, query_id: "q7" }));
    await storage.close();
    const index = await readJson<IndexFile>(join(out, "index.json"));
    expect(index.count).toBe(1);
    expect(Number.isNaN(Date.parse(index.last_updated))).toBe(false);
    expect(index.interactions).toEqual([
      {
        interaction_id: "a",
        persona_id: "persona_001",
        filepath: join(out, "interactions", "a.json"),
        num_turns: 3,
        created_at: "2026-02-06T10:30:00.000Z",
        query_id: "q7",
      },
    ]);
  });

  it("refreshes the index periodically, not per save", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const storage = new InteractionStorage(out, { indexIntervalMs: 5000 });
    for (let i = 0; i < 30; i++) await storage.save(interaction(`id_${i}`));
    expect(storage.stats).toMatchObject({ saved: 30, indexWrites: 0 });
    await expect(stat(join(out, "index.json"))).rejects.toMatchObject({ code: "ENOENT" });

    await vi.advanceTimersByTimeAsync(5000);
    await vi.waitFor(() => expect(storage.stats.indexWrites).toBe(1));
    expect((await readJson<IndexFile>(join(out, "index.json"))).count).toBe(30);

    // Nothing saved since: no timer pending, no rewrite.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(storage.stats.indexWrites).toBe(1);

    for (let i = 30; i < 40; i++) await storage.save(interaction(`id_${i}`));
    await vi.advanceTimersByTimeAsync(4999);
    expect(storage.stats.indexWrites).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(storage.stats.indexWrites).toBe(2));
    await storage.close();
    expect(storage.stats.indexWrites).toBe(3);
    expect((await readJson<IndexFile>(join(out, "index.json"))).count).toBe(40);
  });

  it("with fsync, syncs files and directories and still round-trips", async () => {
    const storage = new InteractionStorage(out, { fsync: true });
    await storage.save(interaction("a"));
    await storage.saveFailure(failure("b"));
    await storage.close();
    expect(await storage.load("a")).toEqual(interaction("a"));
    expect((await readJson<IndexFile>(join(out, "index.json"))).count).toBe(1);
    expect(await readLines(join(out, "failures.ndjson"))).toEqual([failure("b")]);
  });

  it("flush() writes the index now", async () => {
    const storage = new InteractionStorage(out, { indexIntervalMs: 60_000 });
    await storage.save(interaction("a"));
    await storage.flush();
    expect((await readJson<IndexFile>(join(out, "index.json"))).count).toBe(1);
    await storage.close();
  });

  it("resumes: continues the index, adding files saved after the last refresh and dropping deleted ones", async () => {
    const first = new InteractionStorage(out);
    await first.save(interaction("a"));
    await first.save(interaction("b"));
    await first.close();
    // A crash after more saves but before the index refresh: files exist, the index lags.
    const crashed = new InteractionStorage(out, { indexIntervalMs: 60_000 });
    await crashed.save(interaction("c"));
    await rm(join(out, "interactions", "a.json"));
    await writeFile(join(out, "interactions", ".d.json.999999999.abc123.tmp"), '{"interaction_id":');
    await writeFile(join(out, "interactions", "broken.json"), '{"interaction_id":"broken"');

    const second = new InteractionStorage(out);
    await second.save(interaction("e"));
    await second.close();
    expect(second.corrupt.map((e) => e.path)).toEqual([join(out, "interactions", "broken.json")]);
    const index = await readJson<IndexFile>(join(out, "index.json"));
    expect(index.interactions.map((e) => e.interaction_id).sort()).toEqual(["b", "c", "e"]);
    expect(index.count).toBe(3);
    expect((await readdir(join(out, "interactions"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    await crashed.close();
  });

  it("records failures with their usage, and a later success supersedes the failure", async () => {
    const storage = new InteractionStorage(out);
    await storage.saveFailure(failure("x"));
    await storage.saveFailure(failure("y"));
    await storage.close();
    expect((await loadFailures(out)).failures.map((f) => f.interaction_id)).toEqual(["x", "y"]);

    const rerun = new InteractionStorage(out);
    await rerun.save(interaction("x"));
    // Superseded already while running (the file is the truth) …
    expect((await loadFailures(out)).failures.map((f) => f.interaction_id)).toEqual(["y"]);
    await rerun.close();
    // … and compacted out of the log at close.
    const log = await readLines<{ interaction_id: string; usage: unknown[] }>(join(out, "failures.ndjson"));
    expect(log.map((f) => f.interaction_id)).toEqual(["y"]);
    expect(log[0]!.usage).toHaveLength(1);
  });

  it("appends a usage line per result before the result, so usage of finished work is on disk", async () => {
    const storage = new InteractionStorage(out);
    await storage.save(interaction("a"));
    await storage.saveFailure(failure("b"));
    const ledger = await readLines<UsageLedgerLine>(join(out, "usage.ndjson"));
    expect(ledger).toMatchObject([
      {
        interaction_id: "a",
        status: "completed",
        calls: 2,
        prompt_tokens: 150,
        completion_tokens: 30,
        by_model: { "openai/gpt-4o-mini": { calls: 2, prompt_tokens: 150 } },
      },
      { interaction_id: "b", status: "failed", calls: 1, prompt_tokens: 7, completion_tokens: 3 },
    ]);
    // The interaction's own file carries its usage too.
    const saved = await readJson<Interaction>(join(out, "interactions", "a.json"));
    expect(saved.metadata.usage).toHaveLength(2);
    await storage.close();
  });

  it("hands each saved interaction to the collector after its file exists, and closes it", async () => {
    const seen: boolean[] = [];
    const collector = {
      add: vi.fn(async (i: Interaction) => {
        seen.push((await stat(join(out, "interactions", `${i.interaction_id}.json`))).isFile());
      }),
      close: vi.fn(async () => undefined),
    };
    const storage = new InteractionStorage(out, { collector });
    await storage.save(interaction("a"));
    await storage.saveFailure(failure("b"));
    await storage.close();
    await storage.close();
    expect(collector.add).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([true]);
    expect(collector.close).toHaveBeenCalledTimes(1);
  });

  it("close() waits for saves in flight", async () => {
    const storage = new InteractionStorage(out);
    const saves = Array.from({ length: 20 }, (_, i) => storage.save(interaction(`id_${i}`)));
    await storage.close();
    expect((await readJson<IndexFile>(join(out, "index.json"))).count).toBe(20);
    await Promise.all(saves);
  });

  it("iterate() reports corrupt files through onCorrupt, and throws without it", async () => {
    const storage = new InteractionStorage(out);
    await storage.save(interaction("good"));
    await writeFile(join(out, "interactions", "bad.json"), "{");
    const reported: string[] = [];
    const ids: string[] = [];
    for await (const i of storage.iterate({ onCorrupt: (e) => reported.push(e.path) }))
      ids.push(i.interaction_id);
    expect(ids).toEqual(["good"]);
    expect(reported).toEqual([join(out, "interactions", "bad.json")]);
    await expect(storage.loadAll()).rejects.toThrow(/bad\.json: not valid JSON/);
    await storage.close();
  });
});
