// Files under DIR/interactions/ that resume found unreadable (not JSON, not an interaction,
// another id's interaction, a directory) are moved aside to DIR/quarantine/ rather than left
// in place: in place they would be counted, read and exported by every later command, and a
// directory would make the rerun's write fail. Moved, not deleted: they may be someone's data.
import { lstat, rename } from "node:fs/promises";
import { basename, join } from "node:path";
import { makeFolder } from "../shared/writable-folder.js";
import { type CompletedSet, loadCompleted } from "./completed.js";
import { type CorruptFileError, isErrno, outputPaths } from "./layout.js";

export interface QuarantinedFile {
  from: string;
  to: string;
  /** Why the file was not counted as done. */
  reason: string;
}

/** The quarantine folder of an output directory. */
export function quarantineFolder(dir: string): string {
  return join(dir, "quarantine");
}

/**
 * Moves each unreadable file to DIR/quarantine/<name> (<name>.1, .2, … when that name is
 * taken: a file quarantined by an earlier run is never overwritten). Run it only while holding
 * the output folder's lock. A file already gone is skipped.
 */
export async function quarantineUnreadable(
  dir: string,
  unreadable: readonly CorruptFileError[],
): Promise<QuarantinedFile[]> {
  if (unreadable.length === 0) return [];
  const folder = quarantineFolder(dir);
  await makeFolder(folder);
  const moved: QuarantinedFile[] = [];
  for (const error of unreadable) {
    const to = await freeName(folder, basename(error.path));
    try {
      await rename(error.path, to);
    } catch (cause) {
      if (isErrno(cause, "ENOENT")) continue;
      throw cause;
    }
    moved.push({ from: error.path, to, reason: error.reason });
  }
  return moved;
}

/** `name`, else `name.1`, `name.2`, …: rename() would replace a file or an empty directory. */
async function freeName(folder: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = join(folder, n === 0 ? name : `${name}.${n}`);
    try {
      await lstat(candidate);
    } catch (error) {
      if (isErrno(error, "ENOENT")) return candidate;
      throw error;
    }
  }
}

/**
 * The one line generate() reports after quarantining, e.g.
 * "moved 1 unreadable interaction file to out/quarantine/ (it will be regenerated): b.json: not valid JSON".
 */
export function quarantineNotice(dir: string, moved: readonly QuarantinedFile[]): string {
  const one = moved.length === 1;
  const where = `${quarantineFolder(dir.replace(/(.)\/+$/, "$1"))}/`;
  const first = moved[0] ? `${one ? "" : "first "}${basename(moved[0].from)}: ${moved[0].reason}` : "";
  return `moved ${moved.length} unreadable interaction ${one ? "file" : "files"} to ${where} (${one ? "it" : "they"} will be regenerated): ${first}`;
}

/**
 * What resume needs before a run, for the holder of the folder's lock: the interactions done,
 * with every unreadable entry moved to DIR/quarantine/ (and one line said about it) so that its
 * task runs again and its file can be written.
 */
export async function loadCompletedForRun(
  dir: string,
  onNotice: (line: string) => void,
): Promise<CompletedSet> {
  await refuseFoldersInPlaceOfFiles(dir);
  const completed = await loadCompleted(dir);
  const moved = await quarantineUnreadable(dir, completed.corrupt);
  if (moved.length > 0) onNotice(quarantineNotice(dir, moved));
  return completed;
}

/**
 * index.json, failures.ndjson and usage.ndjson are opened only at the first save, after that
 * conversation's calls are paid for: a folder in place of one is found here, before any call,
 * as the errno error a person can act on (the CLI prints "cannot use <path>: it is a folder").
 */
async function refuseFoldersInPlaceOfFiles(dir: string): Promise<void> {
  const paths = outputPaths(dir);
  for (const path of [paths.index, paths.failures, paths.usage]) {
    const stats = await lstat(path).catch((error: unknown) => {
      if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) return undefined;
      throw error;
    });
    if (stats?.isDirectory()) {
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), {
        code: "EISDIR",
        path,
      });
    }
  }
}
