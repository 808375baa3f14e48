// Interaction ids derive from persona ids, which are user input. They become file names, so
// they must never escape the output directory nor collide with one another on any common
// file system. Pure function of the id: resume maps an id to its file without reading it.
import { createHash } from "node:crypto";

/** Longest file stem we produce (the ".json" extension comes on top). */
export const MAX_STEM_LENGTH = 150;
const HASH_LENGTH = 10;

// Windows device names are reserved with or without an extension ("CON", "con.json", "COM1").
const RESERVED = /^(con|prn|aux|nul|clock\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * A file stem (no extension) for an id: only [A-Za-z0-9._-], no "..", no leading or trailing
 * dot, never a reserved device name, at most MAX_STEM_LENGTH characters.
 *
 * An id that is already safe is returned unchanged. Any id that had to be altered — and any id
 * with an upper-case letter, because macOS and Windows file systems ignore case, so "Alice" and
 * "alice" would share one file — gets "-<10 hex chars of sha256(id)>" appended, which keeps
 * distinct ids apart after replacement and truncation.
 */
export function safeFileName(id: string): string {
  let stem = id
    .replace(/[^A-Za-z0-9._-]/g, "_")
    // ".." is the only dangerous dot sequence; collapse every run of dots to be safe.
    .replace(/\.{2,}/g, "_")
    // A leading dot hides the file and would enter the temp-file namespace (see atomic-file.ts);
    // a trailing dot is silently stripped by Windows.
    .replace(/^\./, "_")
    .replace(/\.$/, "_");
  const altered =
    stem !== id ||
    stem.length === 0 ||
    stem.length > MAX_STEM_LENGTH ||
    RESERVED.test(stem) ||
    /[A-Z]/.test(stem);
  if (!altered) return stem;
  // "CON.txt" is reserved too (the part before the first dot counts): prefix, don't suffix.
  if (RESERVED.test(stem)) stem = `_${stem}`;
  const hash = createHash("sha256").update(id, "utf8").digest("hex").slice(0, HASH_LENGTH);
  stem = stem.slice(0, MAX_STEM_LENGTH - HASH_LENGTH - 1).replace(/\.$/, "_");
  return `${stem.length > 0 ? stem : "id"}-${hash}`;
}

/** The interaction file name (stem plus ".json") for an interaction id. */
export function interactionFileName(id: string): string {
  return `${safeFileName(id)}.json`;
}
