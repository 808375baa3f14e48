// The output folder's lock: one generate per folder. Created atomically, refused while its
// holder lives (naming it), taken over when it is stale (same host, process gone), refused
// with a hint when it belongs to another host, released only by its owner.
import { spawnSync } from "node:child_process";
import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireOutputLock, LOCK_FILE, OutputLockedError } from "../../src/sinks/output-lock.js";
import { tempDir } from "./fixtures.js";

/** A pid that surely belongs to no running process: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("output folder lock", () => {
  let dir: string;
  let out: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, "out");
  });
  afterEach(() => cleanup());

  it("is a file naming its holder; a second taker is refused with one line naming it", async () => {
    const lock = await acquireOutputLock(out);
    const holder = JSON.parse(await readFile(join(out, LOCK_FILE), "utf8"));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Date.parse(holder.started_at)).toBeGreaterThan(Date.now() - 60_000);

    const refused = await acquireOutputLock(out).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OutputLockedError);
    const message = (refused as Error).message;
    expect(message).toBe(
      `${out}/ is in use by convosim pid ${process.pid} on host ${hostname()} since ${holder.started_at}; wait for it or stop it`,
    );
    expect(message).not.toContain("\n");

    await lock.release();
    await expect(stat(join(out, LOCK_FILE))).rejects.toMatchObject({ code: "ENOENT" });
    await (await acquireOutputLock(out)).release();
  });

  it("takes over a stale lock: same host, holder no longer running", async () => {
    const lock = await acquireOutputLock(out);
    await lock.release();
    const pid = deadPid();
    const stale = { pid, host: hostname(), started_at: "2026-01-01T00:00:00.000Z", token: "old" };
    await writeFile(join(out, LOCK_FILE), JSON.stringify(stale));
    const notices: string[] = [];
    const taken = await acquireOutputLock(out, { onNotice: (line) => notices.push(line) });
    expect(JSON.parse(await readFile(join(out, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    expect(notices).toEqual([
      `took over ${join(out, LOCK_FILE)}: convosim pid ${pid} on this host (since 2026-01-01T00:00:00.000Z) is no longer running`,
    ]);
    await taken.release();
  });

  it("refuses a lock of another host with a hint to delete it", async () => {
    await acquireOutputLock(out).then((lock) => lock.release());
    const foreign = { pid: 4242, host: "elsewhere", started_at: "2026-01-01T00:00:00.000Z", token: "x" };
    await writeFile(join(out, LOCK_FILE), JSON.stringify(foreign));
    await expect(acquireOutputLock(out)).rejects.toThrow(
      `${out}/ is locked by convosim pid 4242 on host elsewhere since 2026-01-01T00:00:00.000Z; if no run is using it, delete ${join(out, LOCK_FILE)}`,
    );
    expect(JSON.parse(await readFile(join(out, LOCK_FILE), "utf8")).host).toBe("elsewhere");
  });

  it("an unreadable lock is refused while young, taken over once old", async () => {
    await acquireOutputLock(out).then((lock) => lock.release());
    const path = join(out, LOCK_FILE);
    await writeFile(path, ""); // what a kill between create and write would leave
    await expect(acquireOutputLock(out)).rejects.toThrow(/unreadable/);
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    const notices: string[] = [];
    const lock = await acquireOutputLock(out, { onNotice: (line) => notices.push(line) });
    expect(notices.join()).toMatch(/took over .*unreadable/);
    await lock.release();
  });

  it("release leaves a lock that is not its own", async () => {
    const lock = await acquireOutputLock(out);
    const path = join(out, LOCK_FILE);
    const other = { pid: 4242, host: "elsewhere", started_at: "2026-01-01T00:00:00.000Z", token: "x" };
    await writeFile(path, JSON.stringify(other));
    await lock.release();
    expect(JSON.parse(await readFile(path, "utf8")).host).toBe("elsewhere");
  });
});
