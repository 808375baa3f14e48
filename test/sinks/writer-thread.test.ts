// The interaction files' writer thread: atomic writes (temp file + rename) on a thread of its
// own, errors returned with their errno code, nothing left behind, and no hold on the process.
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileWriterThread } from "../../src/sinks/writer-thread.js";
import { transpileWriters } from "../support/transpile-writers.js";
import { tempDir } from "./fixtures.js";

describe("FileWriterThread", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let writer: FileWriterThread;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    writer = new FileWriterThread();
  });
  afterEach(async () => {
    await writer.close();
    await cleanup();
  });

  it("writes many files handed over at once, each whole, and leaves no temp file", async () => {
    const texts = Array.from({ length: 200 }, (_, i) => `{"n":${i},"text":"${"é".repeat(i * 50)}"}\n`);
    await Promise.all(texts.map((text, i) => writer.write(join(dir, `f${i}.json`), text)));
    const names = await readdir(dir);
    expect(names.filter((name) => !name.endsWith(".json"))).toEqual([]);
    expect(names).toHaveLength(200);
    for (const [i, text] of texts.entries())
      expect(await readFile(join(dir, `f${i}.json`), "utf8")).toBe(text);
  });

  it("replaces an existing file, also with fsync on", async () => {
    const target = join(dir, "a.json");
    await writeFile(target, "old");
    await writer.write(target, "new", { fsync: true });
    expect(await readFile(target, "utf8")).toBe("new");
  });

  it("fails a write with its errno code and cleans up, while the others of its batch succeed", async () => {
    const missing = join(dir, "no-such-folder", "x.json");
    const results = await Promise.allSettled([
      writer.write(join(dir, "ok-1.json"), "1"),
      writer.write(missing, "lost"),
      writer.write(join(dir, "ok-2.json"), "2"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "ENOENT" });
    await mkdir(join(dir, "sub"));
    const blocked = join(dir, "sub");
    // Renaming a file over a folder fails after the temp file exists: it must be removed.
    await expect(writer.write(blocked, "x")).rejects.toMatchObject({ code: expect.any(String) });
    expect((await readdir(dir)).sort()).toEqual(["ok-1.json", "ok-2.json", "sub"]);
  });

  it("close waits for writes in flight, then refuses new ones", async () => {
    const pending = writer.write(join(dir, "last.json"), "x".repeat(1 << 20));
    await writer.close();
    await expect(pending).resolves.toBeUndefined();
    expect((await readFile(join(dir, "last.json"))).length).toBe(1 << 20);
    await expect(writer.write(join(dir, "late.json"), "x")).rejects.toThrow(/closed/);
  });

  it("does not keep the process alive once its writes are done (no close needed)", async () => {
    const modules = await transpileWriters(dir);
    const script = `
      const { FileWriterThread } = await import(${JSON.stringify(join(modules, "writer-thread.js"))});
      await new FileWriterThread().write(${JSON.stringify(join(dir, "child.json"))}, "from the child");
      console.log("written");`;
    // A thread that held the process open would make the child outlive the timeout: an error.
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe("written");
    expect(await readFile(join(dir, "child.json"), "utf8")).toBe("from the child");
  });
});
