// Kill -9 a process that is writing with atomicWriteFile at random moments, then check that no
// .json file is ever partial and that resume cleans up what the dead writer left.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCompleted } from "../../src/sinks/completed.js";
import { transpileWriters } from "../support/transpile-writers.js";
import { tempDir } from "./fixtures.js";

const CHILD = join(import.meta.dirname, "..", "support", "atomic-crash-child.mjs");
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

describe.each([
  ["atomicWriteFile (libuv's pool)", "pool"],
  ["FileWriterThread (a thread of its own)", "thread"],
])("crash safety of atomic writes: %s", (_name, mode) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("leaves only complete .json files when killed with SIGKILL mid-write", async () => {
    const modules = await transpileWriters(dir);
    const out = join(dir, "out");
    const folder = join(out, "interactions");
    await mkdir(folder, { recursive: true });
    const tempsSeen = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [CHILD, modules, folder, mode], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await waitForReady(child);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 150));
      child.kill("SIGKILL");
      await exited;

      const names = await readdir(folder);
      for (const name of names) if (name.endsWith(".tmp")) tempsSeen.add(name);
      for (const name of names.filter((n) => n.endsWith(".json"))) {
        const record = JSON.parse(await readFile(join(folder, name), "utf8")) as {
          sha: string;
          payload: string;
        };
        expect(createHash("sha256").update(record.payload).digest("hex")).toBe(record.sha);
      }
    }
    const done = await loadCompleted(out);
    expect(done.corrupt).toEqual([]);
    expect(done.size).toBeGreaterThan(0);
    expect(done.removedTemp.map((path) => path.slice(folder.length + 1)).sort()).toEqual(
      [...tempsSeen].sort(),
    );
    expect((await readdir(folder)).filter((name) => !name.endsWith(".json"))).toEqual([]);
  });
});
