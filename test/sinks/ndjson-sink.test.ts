import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { concatMap, from, lastValueFrom, Observable, Subject, tap, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConversationResult } from "../../src/schema/interaction.js";
import { ndjsonSink, readNdjson } from "../../src/sinks/ndjson-sink.js";
import { waitUntil } from "../support/wait.js";
import { failure, interaction, tempDir } from "./fixtures.js";

const ok = (id: string): ConversationResult => ({ kind: "interaction", interaction: interaction(id) });
const failed = (id: string): ConversationResult => ({ kind: "failure", failure: failure(id) });

async function lines(path: string): Promise<unknown[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

describe("ndjsonSink to a file", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("writes the Interaction as-is and the FailureRecord with status failed, one per line", async () => {
    const path = join(dir, "out", "results.ndjson");
    const emitted = await lastValueFrom(from([ok("a"), failed("b")]).pipe(ndjsonSink(path), toArray()));
    expect(emitted.map((r) => r.kind)).toEqual(["interaction", "failure"]);
    expect(await lines(path)).toEqual([interaction("a"), failure("b")]);
  });

  it("re-emits a result only after its line is in the file", async () => {
    const path = join(dir, "results.ndjson");
    const seen: number[] = [];
    await lastValueFrom(
      from(["a", "b", "c"].map(ok)).pipe(
        ndjsonSink(path),
        concatMap(async (result) => {
          const written = await lines(path);
          expect(written).toContainEqual(result.kind === "interaction" ? result.interaction : undefined);
          seen.push(written.length);
        }),
        toArray(),
      ),
    );
    expect(seen.length).toBe(3);
  });

  it("appends across two runs, keeping the first run's lines", async () => {
    const path = join(dir, "results.ndjson");
    await lastValueFrom(from([ok("a")]).pipe(ndjsonSink(path), toArray()));
    await lastValueFrom(from([ok("b"), failed("c")]).pipe(ndjsonSink(path), toArray()));
    const ids = (await lines(path)).map((line) => (line as { interaction_id: string }).interaction_id);
    expect(ids).toEqual(["a", "b", "c"]);
  });

  it("starts on a fresh line after a run killed mid-line, so only the partial line is lost", async () => {
    const path = join(dir, "results.ndjson");
    await writeFile(path, `${JSON.stringify(interaction("a"))}\n{"interaction_id":"cut-off`);
    await lastValueFrom(from([ok("b")]).pipe(ndjsonSink(path, { fsync: true }), toArray()));
    const read = [];
    for await (const line of readNdjson(path)) read.push(line);
    expect(read.map((l) => l.ok)).toEqual([true, false, true]);
    expect(read[1]).toMatchObject({ line: 2, ok: false });
    expect(read[2]).toMatchObject({ ok: true, value: { interaction_id: "b" } });
  });

  // How fast is a bench figure (bench/run-pipeline.ts --ndjson), not a test's: a wall-clock bound
  // loose enough for a loaded machine would pass per-record syscalls too, so it checked nothing.
  it("keeps arrival order over thousands of results", async () => {
    const path = join(dir, "results.ndjson");
    const n = 5000;
    const ids = Array.from({ length: n }, (_, i) => `id_${i}`);
    const emitted = await lastValueFrom(from(ids.map(ok)).pipe(ndjsonSink(path), toArray()));
    expect(emitted.map((r) => (r.kind === "interaction" ? r.interaction.interaction_id : ""))).toEqual(ids);
    const written = (await lines(path)).map((l) => (l as { interaction_id: string }).interaction_id);
    expect(written).toEqual(ids);
  });

  it("fails the pipeline when the file cannot be written", async () => {
    const path = join(dir, "missing-parent-is-a-file");
    await writeFile(path, "");
    const run = lastValueFrom(from([ok("a")]).pipe(ndjsonSink(join(path, "x.ndjson"))));
    await expect(run).rejects.toMatchObject({ code: expect.stringMatching(/ENOTDIR|EEXIST/) });
  });

  it("completes only after the last line is written, and writes nothing before subscribe", async () => {
    const path = join(dir, "results.ndjson");
    const source = new Subject<ConversationResult>();
    const sink = source.pipe(ndjsonSink(path));
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });
    const done = lastValueFrom(sink.pipe(toArray()));
    source.next(ok("a"));
    source.next(ok("b"));
    source.complete();
    expect(await done).toHaveLength(2);
    expect(await lines(path)).toHaveLength(2);
  });
});

describe("ndjsonSink to a stream", () => {
  it("waits for 'drain' when the stream pushes back and never emits ahead of the stream", async () => {
    const stream = new PassThrough({ highWaterMark: 1024 });
    const emitted: string[] = [];
    const results = Array.from({ length: 50 }, (_, i) => ok(`id_${i}`));
    const done = lastValueFrom(
      from(results).pipe(
        ndjsonSink(stream),
        tap((r) => emitted.push(r.kind === "interaction" ? r.interaction.interaction_id : "")),
        toArray(),
      ),
    );
    // Nobody reads: a ~1.5 KB record fills the buffers, so the sink must stall.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emitted.length).toBeLessThan(5);
    // Start reading: everything flows, in order.
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    expect(await done).toHaveLength(50);
    expect(emitted).toEqual(results.map((_, i) => `id_${i}`));
    const text = Buffer.concat(chunks).toString("utf8");
    expect(
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).interaction_id),
    ).toEqual(emitted);
    expect(stream.writableEnded).toBe(false);
  });

  it("ends the stream only when asked to", async () => {
    const stream = new PassThrough();
    stream.resume();
    await lastValueFrom(from([ok("a")]).pipe(ndjsonSink(stream, { end: true }), toArray()));
    expect(stream.writableEnded).toBe(true);
  });

  it("turns a stream error (EPIPE) into a pipeline error instead of an unhandled event", async () => {
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const run = lastValueFrom(from([ok("a"), ok("b")]).pipe(ndjsonSink(broken)));
    await expect(run).rejects.toMatchObject({ code: "EPIPE" });
  });

  it("on unsubscribe stops emitting, and the write already handed over still completes", async () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const source = new Observable<ConversationResult>((subscriber) => {
      subscriber.next(ok("a"));
    });
    const subscription = source.pipe(ndjsonSink(stream)).subscribe();
    subscription.unsubscribe();
    const written = () => Buffer.concat(chunks).toString("utf8").includes('"interaction_id":"a"');
    await waitUntil(written, "the handed-over line to reach the stream");
  });
});
