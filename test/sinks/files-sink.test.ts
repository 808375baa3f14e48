import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { concat, concatMap, from, lastValueFrom, Subject, throwError, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConversationResult } from "../../src/schema/interaction.js";
import { filesSink } from "../../src/sinks/files-sink.js";
import type { IndexFile } from "../../src/sinks/index-file.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import { failure, interaction, tempDir } from "./fixtures.js";

const ok = (id: string): ConversationResult => ({ kind: "interaction", interaction: interaction(id) });
const failed = (id: string): ConversationResult => ({ kind: "failure", failure: failure(id) });
const readIndex = async (dir: string): Promise<IndexFile> =>
  JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as IndexFile;

describe("filesSink", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("re-emits each interaction once its file exists, failures once logged, and writes the index at completion", async () => {
    const out = join(dir, "out");
    const emitted = await lastValueFrom(
      from([ok("a"), failed("b"), ok("c")]).pipe(
        filesSink(out),
        concatMap(async (result) => {
          if (result.kind === "interaction") {
            expect(
              (await stat(join(out, "interactions", `${result.interaction.interaction_id}.json`))).isFile(),
            ).toBe(true);
          } else {
            expect(await readFile(join(out, "failures.ndjson"), "utf8")).toContain('"interaction_id":"b"');
          }
          return result.kind;
        }),
        toArray(),
      ),
    );
    expect(emitted.sort()).toEqual(["failure", "interaction", "interaction"]);
    const index = await readIndex(out);
    expect(index.count).toBe(2);
    expect(index.interactions.map((e) => e.interaction_id).sort()).toEqual(["a", "c"]);
  });

  it("on a source error, saves what arrived and writes the index before the error reaches the caller", async () => {
    const out = join(dir, "out");
    const source = concat(
      from([ok("a"), ok("b")]),
      throwError(() => new Error("budget reached")),
    );
    await expect(lastValueFrom(source.pipe(filesSink(out)))).rejects.toThrow("budget reached");
    expect((await readIndex(out)).count).toBe(2);
  });

  it("takes every result at once and hands the saves over together (the writer thread batches them)", async () => {
    const storage = new InteractionStorage(join(dir, "out"), { indexIntervalMs: 60_000 });
    let writing = 0;
    let most = 0;
    const save = storage.save.bind(storage);
    storage.save = async (value) => {
      most = Math.max(most, ++writing);
      try {
        return await save(value);
      } finally {
        writing--;
      }
    };
    const ids = Array.from({ length: 12 }, (_, i) => `i${i}`);
    const emitted = await lastValueFrom(from(ids.map(ok)).pipe(filesSink(storage), toArray()));
    expect(emitted).toHaveLength(12);
    expect(most).toBe(12);
    expect((await readIndex(join(dir, "out"))).count).toBe(12);
    await storage.close();
  });

  it("each subscription gets its own storage; nothing is touched before subscribe", async () => {
    const out = join(dir, "out");
    const source = new Subject<ConversationResult>();
    const piped = source.pipe(filesSink(out));
    await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
    const done = lastValueFrom(piped.pipe(toArray()));
    source.next(ok("a"));
    source.complete();
    expect(await done).toHaveLength(1);
    expect((await readIndex(out)).count).toBe(1);
  });

  it("with a caller-owned storage, flushes the index but leaves the storage open", async () => {
    const storage = new InteractionStorage(join(dir, "out"), { indexIntervalMs: 60_000 });
    await lastValueFrom(from([ok("a")]).pipe(filesSink(storage), toArray()));
    expect((await readIndex(join(dir, "out"))).count).toBe(1);
    await storage.save(interaction("b"));
    await storage.close();
    expect((await readIndex(join(dir, "out"))).count).toBe(2);
  });

  it("saves a thousand results with bounded concurrency", async () => {
    const out = join(dir, "out");
    const results = Array.from({ length: 1000 }, (_, i) => ok(`id_${i}`));
    const emitted = await lastValueFrom(from(results).pipe(filesSink(out, { concurrency: 8 }), toArray()));
    expect(emitted).toHaveLength(1000);
    expect((await readIndex(out)).count).toBe(1000);
  });
});
