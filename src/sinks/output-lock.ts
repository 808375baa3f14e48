// One generate per output folder. Two runs on one folder each do the whole job (every call
// paid twice, every file written twice, each index.json missing the other's work), so a run
// holds DIR/.convosim.lock from before its first model call to its end.
//
// The lock is a file created with O_EXCL ('wx'): exactly one creator wins, on every local file
// system. It names its holder (pid, host, start time). A holder killed with SIGKILL cannot
// delete it, so a lock whose process is gone (same host, pid not running, or a reboot since) is
// stale and taken over, with a notice. A lock from another host cannot be checked from here: it
// is refused, with the path to delete if the user knows that run is over.
import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { makeFolder } from "../shared/writable-folder.js";
import { isProcessAlive } from "./atomic-file.js";
import { isErrno } from "./layout.js";

export const LOCK_FILE = ".convosim.lock";

/** What the lock file holds (one JSON object). */
export interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
  /** Linux's boot id: a lock from before a reboot is stale whatever its pid. */
  boot_id?: string;
  /** Random: tells this lock from a later one by the same pid. */
  token: string;
}

export type LockRefusal = "in_use" | "other_host" | "unreadable";

/** The folder is locked by another run. `message` is the one line to show. */
export class OutputLockedError extends Error {
  override readonly name = "OutputLockedError";
  constructor(
    message: string,
    readonly lockPath: string,
    readonly refusal: LockRefusal,
    readonly holder?: LockHolder,
  ) {
    super(message);
  }
}

export interface OutputLock {
  readonly path: string;
  /** Deletes the lock file if it is still this lock's. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** One line when a stale lock is taken over (default: none). */
  onNotice?: (line: string) => void;
  /** An unreadable lock younger than this is a run still writing it; older, a crash's leftover. */
  unreadableGraceMs?: number;
}

/** Tokens of the locks this process holds: its own pid in a lock is alive only for these. */
const heldHere = new Set<string>();

/** Takes DIR/.convosim.lock (creating DIR), or throws OutputLockedError naming the holder. */
export async function acquireOutputLock(dir: string, options: AcquireOptions = {}): Promise<OutputLock> {
  const grace = options.unreadableGraceMs ?? 10_000;
  const path = join(dir, LOCK_FILE);
  const shown = `${dir.replace(/(.)\/+$/, "$1")}/`;
  await makeFolder(dir);
  const mine: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    ...bootId(),
    token: randomBytes(8).toString("hex"),
  };
  let notice: string | undefined;
  // Each pass either creates the lock, refuses, or removes a stale lock and tries again; a
  // few passes only when other runs race for the same stale lock.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await create(path, mine)) {
      heldHere.add(mine.token);
      if (notice) options.onNotice?.(notice);
      return held(path, mine);
    }
    const found = await readHolder(path, grace);
    if (found === "gone") continue;
    if (found.holder === undefined) {
      if (found.ageMs < grace) {
        throw new OutputLockedError(
          `${shown} is being locked by another convosim (${path} is unreadable); if none is running, delete ${path}`,
          path,
          "unreadable",
        );
      }
      if (await takeOver(path, found.text))
        notice = `took over ${path}: it was unreadable (a crash's leftover)`;
      continue;
    }
    const holder = found.holder;
    const since = holder.started_at;
    if (holder.host !== mine.host) {
      throw new OutputLockedError(
        `${shown} is locked by convosim pid ${holder.pid} on host ${holder.host} since ${since}; if no run is using it, delete ${path}`,
        path,
        "other_host",
        holder,
      );
    }
    if (isRunning(holder, mine)) {
      throw new OutputLockedError(
        `${shown} is in use by convosim pid ${holder.pid} on host ${holder.host} since ${since}; wait for it or stop it`,
        path,
        "in_use",
        holder,
      );
    }
    if (await takeOver(path, found.text)) {
      notice = `took over ${path}: convosim pid ${holder.pid} on this host (since ${since}) is no longer running`;
    }
  }
  throw new OutputLockedError(
    `${shown} is contended by other convosim runs taking over its stale lock; try again`,
    path,
    "in_use",
  );
}

/** Creates the lock file with O_EXCL; false when it exists. A failed write leaves no lock. */
async function create(path: string, holder: LockHolder): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if (isErrno(error, "EEXIST")) return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  return true;
}

type Found = "gone" | { text: string; holder?: LockHolder; ageMs: number };

/**
 * Reads the lock. A creator writes its content right after creating the file, so an empty or
 * half-written lock is read again for a short while before it counts as unreadable.
 */
async function readHolder(path: string, graceMs: number): Promise<Found> {
  const deadline = Date.now() + Math.min(graceMs, 200);
  for (;;) {
    let text: string;
    let ageMs: number;
    try {
      text = await readFile(path, "utf8");
      ageMs = Date.now() - (await stat(path)).mtimeMs;
    } catch (error) {
      if (isErrno(error, "ENOENT")) return "gone";
      throw error;
    }
    const holder = parseHolder(text);
    if (holder || Date.now() >= deadline || ageMs >= graceMs)
      return { text, ageMs, ...(holder ? { holder } : {}) };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder> | null;
    if (
      value &&
      Number.isInteger(value.pid) &&
      typeof value.host === "string" &&
      typeof value.started_at === "string" &&
      typeof value.token === "string"
    )
      return value as LockHolder;
  } catch {
    // unreadable: the caller decides by its age
  }
  return undefined;
}

function isRunning(holder: LockHolder, mine: LockHolder): boolean {
  if (holder.boot_id && mine.boot_id && holder.boot_id !== mine.boot_id) return false; // rebooted since
  // This very process: a lock it holds (a second generate() on the same folder), or the
  // leftover of an earlier process that had the same pid (containers reuse small pids).
  if (holder.pid === process.pid) return heldHere.has(holder.token);
  return isProcessAlive(holder.pid);
}

/**
 * Removes a stale lock, making sure it is the one judged stale: renamed aside (atomic), then
 * compared. If another run replaced it meanwhile, it is put back (link: never over a newer one).
 */
async function takeOver(path: string, staleText: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return false;
    throw error;
  }
  const moved = await readFile(aside, "utf8").catch(() => undefined);
  if (moved !== staleText) {
    await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return false;
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

function held(path: string, mine: LockHolder): OutputLock {
  let released = false;
  const releaseSync = (): void => {
    if (released) return;
    released = true;
    heldHere.delete(mine.token);
    process.off("exit", releaseSync);
    try {
      if (parseHolder(readFileSync(path, "utf8"))?.token === mine.token) unlinkSync(path);
    } catch {
      // already gone, or the folder removed: nothing to release
    }
  };
  // process.exit() and an uncaught error skip finally blocks but still emit 'exit'. SIGKILL
  // (and a signal with no handler) leave the lock behind: the next run finds it stale.
  process.on("exit", releaseSync);
  return {
    path,
    release: async () => releaseSync(),
  };
}

function bootId(): { boot_id?: string } {
  try {
    const id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return id ? { boot_id: id } : {};
  } catch {
    return {};
  }
}
