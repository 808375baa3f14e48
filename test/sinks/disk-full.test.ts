// A full disk while saving: the files sink ends the run with a DiskFullError naming the file it
// was saving, every file saved before stays whole, and the CLI turns it into one line with exit 5.
// The fault is injected through the sink's seam (an InteractionStorage of our own whose save
// fails as the kernel would, ENOSPC with no path); the real thing is test/cli/disk-full.test.ts.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { from, lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXIT, reportError } from "../../src/cli/fail.js";
import type { Interaction } from "../../src/schema/interaction.js";
import { DiskFullError, describeFileSystemError, withDiskFullPath } from "../../src/shared/fs-errors.js";
import { filesSink } from "../../src/sinks/files-sink.js";
import { InteractionStorage } from "../../src/sinks/interaction-storage.js";
import { interaction, tempDir } from "./fixtures.js";

const enospc = (): Error =>
  Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

/** Saves the first `room` interactions, then fails every save like a full disk. */
class FillingStorage extends InteractionStorage {
  #room: number;
  constructor(dir: string, room: number) {
    super(dir);
    this.#room = room;
  }
  override save(record: Interaction): Promise<string> {
    if (this.#room <= 0) return Promise.reject(enospc());
    this.#room -= 1;
    return super.save(record);
  }
}

describe("a full disk while saving", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("ends the sink with a DiskFullError naming the file; the files saved before stay whole", async () => {
    const out = join(dir, "out");
    const storage = new FillingStorage(out, 2);
    const results = ["a", "b", "c", "d"].map((id) => ({
      kind: "interaction" as const,
      interaction: interaction(id),
    }));
    // One at a time, as a slow run would save them, so "before" is well defined.
    const error = await lastValueFrom(
      from(results).pipe(filesSink(storage, { concurrency: 1 }), toArray()),
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await storage.close();
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as DiskFullError).path).toBe(storage.pathFor("c"));
    expect((error as DiskFullError).message).toBe(
      `disk full while writing ${storage.pathFor("c")}: free space and rerun the same command to continue`,
    );
    const files = (await readdir(join(out, "interactions"))).sort();
    expect(files).toEqual(["a.json", "b.json"]);
    for (const file of files) {
      const saved = JSON.parse(await readFile(join(out, "interactions", file), "utf8")) as Interaction;
      expect(saved.interaction_id).toBe(file.replace(/\.json$/, ""));
    }
  });

  it("is one line and exit 5 from the CLI's error report, with or without a path", () => {
    const lines: string[] = [];
    const stderr = { write: (text: string) => lines.push(text) } as unknown as NodeJS.WritableStream;
    expect(reportError(new DiskFullError("out/interactions/x.json"), stderr)).toBe(EXIT.diskFull);
    expect(reportError(enospc(), stderr)).toBe(EXIT.diskFull);
    expect(lines).toEqual([
      "error: disk full while writing out/interactions/x.json: free space and rerun the same command to continue\n",
      "error: disk full while writing the output: free space and rerun the same command to continue\n",
    ]);
    expect(EXIT.diskFull).toBe(5);
  });

  it("classifies: ENOSPC and EDQUOT are a full disk; permissions are one line; others are not ours", () => {
    expect(withDiskFullPath(enospc(), "f")).toBeInstanceOf(DiskFullError);
    expect(withDiskFullPath(Object.assign(new Error("quota"), { code: "EDQUOT" }), "f")).toBeInstanceOf(
      DiskFullError,
    );
    const denied = Object.assign(new Error("EACCES"), { code: "EACCES", path: "/x/y" });
    expect(withDiskFullPath(denied, "f")).toBe(denied);
    expect(describeFileSystemError(denied)).toEqual({
      message: "cannot use /x/y: permission denied",
      diskFull: false,
    });
    expect(
      describeFileSystemError(Object.assign(new Error("r/o"), { code: "EROFS", path: "/m" }))?.message,
    ).toBe("cannot use /m: read-only file system");
    expect(describeFileSystemError(new Error("a bug"))).toBeUndefined();
    expect(describeFileSystemError(Object.assign(new Error("net"), { code: "ECONNRESET" }))).toBeUndefined();
  });
});
