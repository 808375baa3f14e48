// Proves a folder can be written by doing it: create the folder (and its parents), create a
// small file in it, remove the file. Permission bits cannot tell: root ignores them, while a
// read-only mount, an immutable folder (chattr +i), /proc or a full disk stop even root.
import { randomBytes } from "node:crypto";
import { mkdir, open, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/**
 * `mkdir -p`: creates `dir` and any missing parents; resolves with the first folder it created
 * (undefined when `dir` already was a folder). Not `mkdir(dir, { recursive: true })`: Node's
 * recursive mkdir spins forever where a parent exists but refuses children with ENOENT
 * (`/proc/x`, seen with Node 20); this one creates each parent once and then gives up.
 */
export async function makeFolder(dir: string): Promise<string | undefined> {
  const path = resolve(dir);
  const exists = async (error: unknown): Promise<boolean> => {
    if (codeOf(error) !== "EEXIST") return false;
    if ((await stat(path)).isDirectory()) return true;
    throw error; // a file is in the way
  };
  try {
    await mkdir(path);
    return path;
  } catch (error) {
    if (await exists(error)) return undefined;
    const parent = dirname(path);
    if (codeOf(error) !== "ENOENT" || parent === path) throw error;
    const first = await makeFolder(parent);
    try {
      await mkdir(path);
    } catch (again) {
      if (await exists(again)) return first;
      throw again;
    }
    return first ?? path;
  }
}

/**
 * Throws the file system's own error (EACCES, EROFS, EPERM, ENOTDIR, EEXIST for a file in the
 * way, ENOENT where nothing may be created, ENOSPC) when `dir` cannot be created or written.
 * With `keep: false` the folders it created are removed again, so a check leaves nothing behind.
 */
export async function probeWritableFolder(dir: string, options: { keep: boolean }): Promise<void> {
  const created = await makeFolder(dir);
  try {
    // The name of an atomic-file temp (".<name>.<pid>.<hex>.tmp"): a leftover from a killed
    // process is deleted by the next run's clean-up of temp files.
    const probe = join(dir, `.write-check.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    const handle = await open(probe, "wx");
    try {
      await handle.write("ok\n"); // a full disk often still creates files, but not their blocks
    } finally {
      await handle.close();
      await unlink(probe);
    }
  } finally {
    if (!options.keep && created !== undefined) await removeCreated(resolve(dir), created);
  }
}

/** Removes `dir` and its parents up to and including `first`, the first folder mkdir created. */
async function removeCreated(dir: string, first: string): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty any more (someone else wrote there): leave it
    }
    if (current === first || dirname(current) === current) return;
  }
}
