// Checks made before the first model call, so that a run which cannot save its work fails at
// once (exit 2, one line) instead of after paying for calls: the output folder can be created
// and written, and the response cache folder can be used.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { responseCacheDir } from "../cache/location.js";
import { InputError } from "../config/errors.js";
import { errnoCode, isDiskFullCode, withDiskFullPath } from "../shared/fs-errors.js";
import { probeWritableFolder } from "../shared/writable-folder.js";

/** Why a folder cannot be used, in words, by the errno of the failed check. */
function reasonOf(error: unknown): string | undefined {
  switch (errnoCode(error)) {
    case "EEXIST":
    case "ENOTDIR":
      return "it, or a folder above it, is a file";
    case "EACCES":
      return "permission denied";
    case "EPERM":
      return "operation not permitted (an immutable folder?)";
    case "EROFS":
      return "read-only file system";
    case "ENOENT":
      return "no folder can be created there";
    case "ELOOP":
      return "too many symbolic links";
    default:
      return undefined;
  }
}

/** Why `path` cannot be a folder because of a file, or undefined when no file is in the way. */
async function fileInTheWay(path: string): Promise<string | undefined> {
  try {
    return (await stat(path)).isDirectory() ? undefined : "it is a file";
  } catch (error) {
    return errnoCode(error) === "ENOTDIR" ? "a folder above it is a file" : undefined;
  }
}

/**
 * Throws an InputError for `--out` when `dir` is a file, or cannot be created or written (its
 * interactions/ folder too); a full disk is a DiskFullError. With `create: false` (a dry run)
 * nothing is created: only a file in the way is caught.
 */
export async function preflightOutputFolder(dir: string, options: { create?: boolean } = {}): Promise<void> {
  const fail = (reason: string): InputError =>
    new InputError({
      file: "command line",
      field: "--out",
      message: `${dir} cannot be used as the output folder: ${reason}`,
      hint: "give --out a folder you can write (it is created if missing)",
    });
  const inTheWay = await fileInTheWay(dir);
  if (inTheWay) throw fail(inTheWay);
  if (options.create === false) return;
  for (const folder of [dir, join(dir, "interactions")]) {
    try {
      await probeWritableFolder(folder, { keep: true });
    } catch (error) {
      if (isDiskFullCode(error)) throw withDiskFullPath(error, folder);
      const reason = reasonOf(error);
      if (reason === undefined) throw error;
      throw fail(folder === dir ? reason : `${folder}: ${reason}`);
    }
  }
}

export interface CacheChoice {
  /** Whether the cache is used (false when off, or the default folder is unusable). */
  enabled: boolean;
  /** The folder, when used. */
  dir?: string;
}

/**
 * Decides the run's response cache before any call. An explicit `dir` (`--cache-dir`) that
 * cannot be used is an InputError (exit 2); the default folder being unusable only costs the
 * cache: one warning on `warn`, and the run goes on without it.
 */
export async function preflightResponseCache(
  options: { enabled?: boolean; dir?: string },
  warn: (line: string) => void,
): Promise<CacheChoice> {
  if (options.enabled === false) return { enabled: false };
  const dir = responseCacheDir(options.dir ? { dir: options.dir } : {});
  try {
    // keep: false — a run that never calls a model leaves no cache folder behind.
    await probeWritableFolder(dir, { keep: false });
    return { enabled: true, dir };
  } catch (error) {
    const reason = isDiskFullCode(error) ? "disk full" : reasonOf(error);
    if (reason === undefined) throw error;
    if (options.dir) {
      throw new InputError({
        file: "command line",
        field: "--cache-dir",
        message: `${options.dir} cannot be used as the response cache: ${reason}`,
        hint: "give --cache-dir a folder you can write, or run with --no-cache",
      });
    }
    warn(
      `warning: the response cache ${dir} cannot be used (${reason}); running without a cache ` +
        "(set --cache-dir or CONVOSIM_CACHE_DIR to a writable folder, or pass --no-cache)",
    );
    return { enabled: false };
  }
}
