// What an output path names, so a command writes to it the way `> PATH` would: a regular file
// (or a new one) is replaced atomically — through any symlink, so the link keeps pointing at
// the new file; a character device or FIFO (/dev/null, /dev/stdout, a named pipe) is written
// through in place, never replaced. Replacing a special file with a regular one, or a symlink
// with a copy, is what this module exists to prevent.
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";

export type OutputKind =
  /** Nothing there yet: create it (atomically). */
  | "missing"
  /** A regular file: replace it atomically. */
  | "file"
  /** A character device or FIFO: open and write through, as `> PATH` does. */
  | "stream"
  | "folder"
  /** A socket or block device: never written. `what` says which. */
  | "other";

export interface OutputTarget {
  kind: OutputKind;
  /** The path as given. */
  given: string;
  /** The absolute path with every symlink followed, even one whose target does not exist yet. */
  real: string;
  /** For "other": what the path is, in words ("a socket", "a block device"). */
  what?: string;
}

const isMissing = (error: unknown): boolean => (error as { code?: unknown })?.code === "ENOENT";

/** Links followed before giving up, as the kernel does (ELOOP after 40). */
const MAX_LINKS = 40;

/**
 * The absolute path `path` stands for, with every symlink followed — also when the path, or
 * the target of its last link, does not exist yet (then its nearest existing ancestor is
 * resolved and the rest appended). Two paths name the same place iff these are equal.
 */
export async function realPathOf(path: string): Promise<string> {
  let current = resolve(path);
  for (let links = 0; links <= MAX_LINKS; links++) {
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (error) {
      if (!isMissing(error)) throw error;
      const parent = dirname(current);
      return parent === current ? current : join(await realPathOf(parent), basename(current));
    }
    if (!isLink) return realpath(current);
    current = resolve(dirname(current), await readlink(current));
  }
  throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), { code: "ELOOP", path });
}

/** True when `path` is `folder` or inside it; both must be real paths (realPathOf). */
export function isWithin(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : `${folder}${sep}`);
}

/** What `path` names and where writing to it really lands. */
export async function inspectOutput(path: string): Promise<OutputTarget> {
  // stat first: the kernel follows every link, /proc's magic ones too (/dev/stdout → pipe:[…]).
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    if (isMissing(error)) return { kind: "missing", given: path, real: await realPathOf(path) };
    throw error;
  }
  if (info.isFile()) return { kind: "file", given: path, real: await realpath(path) };
  if (info.isDirectory()) return { kind: "folder", given: path, real: await realpath(path) };
  // Written through the path as given: opening it reaches the same device or pipe.
  if (info.isCharacterDevice() || info.isFIFO()) return { kind: "stream", given: path, real: resolve(path) };
  const what = info.isSocket() ? "a socket" : info.isBlockDevice() ? "a block device" : "not a file";
  return { kind: "other", given: path, real: resolve(path), what };
}
