// Kill -9 two processes that store the same keys in one cache directory at random moments, then
// check that every entry left is whole (by the cache and by an independent check of its text),
// that no damaged entry is ever served, and that the dead writers' temp files can be cleaned.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileResponseCache } from "../../src/cache/file-cache.js";

const CHILD = join(import.meta.dirname, "crash-child.mjs");
const SRC = join(import.meta.dirname, "..", "..", "src", "cache");

/** The real modules, transpiled alone (they import only node:* and each other), so the child runs our code. */
async function transpileCache(into: string): Promise<void> {
  for (const name of ["file-cache", "entry", "types"]) {
    const source = await readFile(join(SRC, `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(join(into, `${name}.js`), outputText);
  }
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("response cache under kill -9", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "convosim-cache-crash-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("never leaves a damaged entry that is served, with two writers of the same keys", async () => {
    await transpileCache(root);
    const cacheDir = join(root, "responses");
    const tempsSeen = new Set<string>();
    for (let round = 0; round < 5; round++) {
      const children = ["a", "b"].map((writer) =>
        spawn(process.execPath, [CHILD, root, cacheDir, writer], { stdio: ["ignore", "pipe", "inherit"] }),
      );
      const exited = children.map((child) => new Promise((resolve) => child.once("exit", resolve)));
      await Promise.all(children.map(waitForReady));
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 150));
      for (const child of children) child.kill("SIGKILL");
      await Promise.all(exited);
      for (const shard of await readdir(cacheDir))
        for (const name of await readdir(join(cacheDir, shard)))
          if (name.endsWith(".tmp")) tempsSeen.add(name);
    }

    const reader = new FileResponseCache(cacheDir);
    let entries = 0;
    for (const shard of await readdir(cacheDir)) {
      for (const name of (await readdir(join(cacheDir, shard))).filter((n) => n.endsWith(".json"))) {
        entries++;
        const found = await reader.get(name.slice(0, -".json".length));
        expect(found, name).toBeDefined();
        const [digest, writer, payload] = found!.text.split(":");
        expect(sha(payload!)).toBe(digest);
        expect(found!.model).toBe(writer);
      }
    }
    expect(entries).toBeGreaterThan(0);
    expect(entries).toBeLessThanOrEqual(25);
    expect(reader.stats()).toMatchObject({ corrupt: 0, hits: entries });

    expect(await reader.removeStaleTemps()).toBe(tempsSeen.size);
    for (const shard of await readdir(cacheDir))
      expect((await readdir(join(cacheDir, shard))).filter((n) => !n.endsWith(".json"))).toEqual([]);
  });
});
