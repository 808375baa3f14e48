// DIR/index.json in the reference's format. It is a cache: the interaction files are the
// truth, so it is rewritten atomically now and then (never per save) and can always be rebuilt.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Interaction } from "../schema/interaction.js";
import { atomicWriteFile, cleanTempFiles } from "./atomic-file.js";
import { CorruptFileError, forEachSliced, isErrno, outputPaths, readInteractionFileSync } from "./layout.js";

export interface IndexEntry {
  interaction_id: string;
  persona_id: string;
  /** The file, joined from the output directory as the user gave it: "output/interactions/x.json". */
  filepath: string;
  num_turns: number;
  created_at: string;
  query_id: string;
}

export interface IndexFile {
  interactions: IndexEntry[];
  count: number;
  last_updated: string;
}

export function indexEntryFor(interaction: Interaction, filepath: string): IndexEntry {
  return {
    interaction_id: interaction.interaction_id,
    persona_id: interaction.persona_id,
    filepath,
    num_turns: interaction.num_turns,
    created_at: interaction.metadata?.created_at ?? "",
    query_id: interaction.query_id ?? "",
  };
}

/**
 * Renders the index from entries already serialised one by one (the storage caches each
 * entry's JSON, so a refresh of 100k entries is a join, not 100k stringify calls). One entry
 * per line keeps the file readable and diffable without the bulk of full indentation.
 */
export function renderIndex(entryJson: readonly string[], lastUpdated: string): string {
  const body = entryJson.length > 0 ? `\n    ${entryJson.join(",\n    ")}\n  ` : "";
  return `{\n  "interactions": [${body}],\n  "count": ${entryJson.length},\n  "last_updated": ${JSON.stringify(lastUpdated)}\n}\n`;
}

export async function writeIndex(
  path: string,
  entries: readonly IndexEntry[],
  options: { fsync?: boolean; now?: Date } = {},
): Promise<void> {
  const text = renderIndex(
    entries.map((entry) => JSON.stringify(entry)),
    (options.now ?? new Date()).toISOString(),
  );
  await atomicWriteFile(path, text, { fsync: options.fsync ?? false });
}

/** The index's entries, or undefined when it is missing or unreadable (it is only a cache). */
export async function readIndex(path: string): Promise<IndexEntry[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    // A folder in its place: it cannot be rewritten either, so the run stops. Node's EISDIR from
    // a read carries no path; the CLI's one line ("cannot use …: it is a folder") needs it.
    if (isErrno(error, "EISDIR") && (error as NodeJS.ErrnoException).path === undefined)
      (error as NodeJS.ErrnoException).path = path;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<IndexFile> | null;
    if (!parsed || !Array.isArray(parsed.interactions)) return undefined;
    // An entry of another shape (hand-edited, another tool's) is dropped: its file is then read
    // and indexed from itself, instead of the bad entry being carried into every rewrite.
    return parsed.interactions.filter(isIndexEntry);
  } catch {
    return undefined;
  }
}

function isIndexEntry(entry: unknown): entry is IndexEntry {
  const e = entry as Partial<IndexEntry> | null;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof e.interaction_id === "string" &&
    typeof e.persona_id === "string" &&
    typeof e.num_turns === "number" &&
    typeof e.created_at === "string" &&
    typeof e.query_id === "string"
  );
}

export interface RebuildResult {
  count: number;
  /** Files that are not complete interactions; left in place, not indexed. */
  corrupt: CorruptFileError[];
  /** Temp files of a crashed writer, deleted. */
  removedTemp: string[];
}

/**
 * Rebuilds DIR/index.json from DIR/interactions/*.json alone (sorted by created_at, then id).
 * Do not run it while a writer is saving into the same directory.
 */
export async function rebuildIndex(dir: string, options: { fsync?: boolean } = {}): Promise<RebuildResult> {
  const paths = outputPaths(dir);
  let names: string[] = [];
  try {
    names = await readdir(paths.interactions);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  const { removed } = await cleanTempFiles(paths.interactions, names);
  const files = names.filter((name) => name.endsWith(".json") && !name.startsWith("."));
  const entries: Array<IndexEntry | undefined> = new Array(files.length);
  const corrupt: CorruptFileError[] = [];
  await forEachSliced(files, (name, i) => {
    const filepath = join(paths.interactions, name);
    try {
      entries[i] = indexEntryFor(readInteractionFileSync(filepath), filepath);
    } catch (error) {
      if (error instanceof CorruptFileError) corrupt.push(error);
      else if (!isErrno(error, "ENOENT")) throw error;
    }
  });
  const present = entries.filter((entry): entry is IndexEntry => entry !== undefined);
  // Plain code-unit order (ISO timestamps sort correctly that way), independent of locale.
  const key = (entry: IndexEntry): string => `${entry.created_at}\u0000${entry.interaction_id}`;
  present.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  await writeIndex(paths.index, present, options);
  return { count: present.length, corrupt, removedTemp: removed };
}
