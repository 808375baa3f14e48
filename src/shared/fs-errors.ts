// File-system errors a person can act on, told in one line: a full disk (free space, rerun),
// a path that cannot be written (permissions, read-only or immutable folder, a file where a
// folder should be). Everything else is a bug and keeps its stack trace (src/cli/fail.ts).

/** The errno code of a Node.js system error (ENOSPC, EACCES, …), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Codes that mean "no space left": the disk, or the user's quota on it. */
const DISK_FULL = new Set(["ENOSPC", "EDQUOT"]);

export function isDiskFullCode(error: unknown): boolean {
  const code = errnoCode(error);
  return code !== undefined && DISK_FULL.has(code);
}

/**
 * The disk filled up while writing `path`. Writes through a file descriptor report ENOSPC
 * without a path, so whoever knows which file it was wraps the error in this.
 */
export class DiskFullError extends Error {
  override readonly name = "DiskFullError";
  readonly code = "ENOSPC";

  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`disk full while writing ${path}: free space and rerun the same command to continue`, options);
  }
}

/** `error` as a DiskFullError naming `path` when it is a full disk; otherwise `error` itself. */
export function withDiskFullPath(error: unknown, path: string): unknown {
  if (error instanceof DiskFullError || !isDiskFullCode(error)) return error;
  return new DiskFullError(path, { cause: error });
}

/** Why a path could not be used, by errno: the words after "cannot use <path>: ". */
const UNWRITABLE: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted (an immutable file or folder?)",
  EROFS: "read-only file system",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder",
};

/**
 * One line for a file-system error a person can fix, with whether it is a full disk; undefined
 * for anything else. Paths come from the error (Node.js puts the one it was given there).
 */
export function describeFileSystemError(error: unknown): { message: string; diskFull: boolean } | undefined {
  if (error instanceof DiskFullError) return { message: error.message, diskFull: true };
  const code = errnoCode(error);
  if (code === undefined) return undefined;
  const path = (error as { path?: unknown }).path;
  const where = typeof path === "string" ? path : "the output";
  if (DISK_FULL.has(code)) return { message: new DiskFullError(where).message, diskFull: true };
  const why = UNWRITABLE[code];
  if (why === undefined) return undefined;
  return { message: `cannot use ${where}: ${why}`, diskFull: false };
}
