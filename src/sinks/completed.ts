// Resume: which interactions are already done, read from the interaction files themselves
// (never from index.json, which is only a cache), and which failures are still outstanding.
import { closeSync, type Dirent, fstatSync, openSync, readSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { FailureRecord } from "../schema/interaction.js";
import { cleanTempFiles } from "./atomic-file.js";
import { CorruptFileError, forEachSliced, isErrno, outputPaths, readInteractionFileSync } from "./layout.js";
import { type NdjsonLine, readNdjson } from "./ndjson-sink.js";
import { interactionFileName } from "./safe-file-name.js";

/**
 * How much of each file to check:
 * - "shape" (default): the file's first 4 KB and last bytes. A file as convosim writes it
 *   (2-space JSON) must open with `"interaction_id"` naming this file, then `"persona_id"`, have
 *   a top-level `"messages": [` and end with `}`; anything else (another tool's layout, a huge
 *   id) is parsed in full and checked the same way. Catches truncated and zero-filled files
 *   (a power loss without fsync), JSON that is not an interaction, and another id's file.
 *   100k files: ≈1.1 s warm, against ≈3 s parsing every file (measured, 8 KB files).
 * - "tail": non-empty and its last non-blank byte is "}" (truncation only).
 * - "full": parse every file and check it holds the id its name stands for (slow on 100k files).
 * - "none": trust the names (atomic rename already guarantees complete files).
 * In every mode an entry that is not a regular file (a directory named `x.json`) is not done.
 */
export type VerifyMode = "shape" | "tail" | "full" | "none";

/** The interactions already saved in an output directory. */
export class CompletedSet {
  constructor(
    /** File names (safeFileName(id) + ".json") of complete interaction files. */
    readonly fileNames: ReadonlySet<string>,
    /** Entries that are not complete interactions: treated as not done, so they are redone. */
    readonly corrupt: readonly CorruptFileError[],
    /** Temp files of a crashed writer, deleted while loading. */
    readonly removedTemp: readonly string[],
  ) {}

  /** True if the interaction with this id has a complete file. */
  has(interactionId: string): boolean {
    return this.fileNames.has(interactionFileName(interactionId));
  }

  get size(): number {
    return this.fileNames.size;
  }
}

export async function loadCompleted(
  dir: string,
  options: { verify?: VerifyMode } = {},
): Promise<CompletedSet> {
  const verify = options.verify ?? "shape";
  const folder = outputPaths(dir).interactions;
  let entries: Dirent[] = [];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  const { removed } = await cleanTempFiles(
    folder,
    entries.map((entry) => entry.name),
  );
  const done = new Set<string>();
  const corrupt: CorruptFileError[] = [];
  const candidates: string[] = [];
  for (const entry of entries) {
    if (!entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
    // The type comes with the listing (no extra syscall); a symbolic link is followed by the check.
    if (entry.isFile() || (entry.isSymbolicLink() && verify !== "none")) candidates.push(entry.name);
    else corrupt.push(new CorruptFileError(join(folder, entry.name), notAFile(entry)));
  }
  if (verify === "none") {
    for (const name of candidates) done.add(name);
    return new CompletedSet(done, corrupt, removed);
  }
  const check = verify === "full" ? checkFull : verify === "tail" ? checkTail : checkShape;
  await forEachSliced(candidates, (name) => {
    const path = join(folder, name);
    try {
      check(path, name);
      done.add(name);
    } catch (error) {
      if (error instanceof CorruptFileError) corrupt.push(error);
      else if (!isErrno(error, "ENOENT")) throw error;
    }
  });
  return new CompletedSet(done, corrupt, removed);
}

function notAFile(entry: Dirent): string {
  return entry.isDirectory() ? "is a directory, not an interaction file" : "is not a regular file";
}

function checkFull(path: string, name: string): void {
  const interaction = readInteractionFileSync(path);
  if (interactionFileName(interaction.interaction_id) !== name) {
    throw new CorruptFileError(path, `holds "${interaction.interaction_id}", which belongs in another file`);
  }
}

const HEAD_BYTES = 4096;
const TAIL_BYTES = 64;
const head = Buffer.alloc(HEAD_BYTES);
const tail = Buffer.alloc(TAIL_BYTES);
// How convosim's writer (JSON.stringify with 2 spaces) begins every interaction file. A raw
// newline cannot occur inside a JSON string, so "\n  \"key\"" is always a top-level key.
const CONVOSIM_HEAD =
  /^\{\n {2}"interaction_id": ("(?:[^"\\\n]|\\.)*"),\n {2}"persona_id": "(?:[^"\\\n]|\\.)*",\n/;
const MESSAGES_KEY = '\n  "messages": [';

function checkShape(path: string, name: string): void {
  const fd = openSync(path, "r");
  let text: string;
  try {
    const size = readTail(fd, path);
    const length = readSync(fd, head, 0, Math.min(size, HEAD_BYTES), 0);
    text = head.toString("utf8", 0, length);
  } finally {
    closeSync(fd);
  }
  const match = CONVOSIM_HEAD.exec(text);
  if (!match || !text.includes(MESSAGES_KEY)) {
    checkFull(path, name); // another layout, or a first 4 KB that does not reach "messages"
    return;
  }
  const id = JSON.parse(match[1] as string) as string;
  if (interactionFileName(id) !== name) {
    throw new CorruptFileError(path, `holds "${id}", which belongs in another file`);
  }
}

function checkTail(path: string): void {
  const fd = openSync(path, "r");
  try {
    readTail(fd, path);
  } finally {
    closeSync(fd);
  }
}

/** Checks the file is a non-empty regular file ending in "}"; returns its size. */
function readTail(fd: number, path: string): number {
  const stats = fstatSync(fd);
  if (stats.isDirectory()) throw new CorruptFileError(path, "is a directory, not an interaction file");
  if (!stats.isFile()) throw new CorruptFileError(path, "is not a regular file");
  const { size } = stats;
  if (size === 0) throw new CorruptFileError(path, "empty file");
  const length = Math.min(size, TAIL_BYTES);
  readSync(fd, tail, 0, length, size - length);
  if (!tail.toString("latin1", 0, length).trimEnd().endsWith("}")) {
    throw new CorruptFileError(path, "truncated (does not end with '}')");
  }
  return size;
}

export interface OutstandingFailures {
  /** The latest failure of every interaction that has no successful file (yet). */
  failures: FailureRecord[];
  /** Lines of failures.ndjson that are not JSON (e.g. cut by a crash); they are skipped. */
  malformed: Array<Extract<NdjsonLine, { ok: false }>>;
}

/**
 * Reads DIR/failures.ndjson, an append-only log, and applies its rule: a later successful run
 * of the same interaction_id supersedes its failures, and of several failures the last counts.
 */
export async function loadFailures(dir: string, completed?: CompletedSet): Promise<OutstandingFailures> {
  // Only a readable interaction supersedes a failure: an unreadable file is not a success.
  const done = completed ?? (await loadCompleted(dir));
  const latest = new Map<string, FailureRecord>();
  const malformed: OutstandingFailures["malformed"] = [];
  for await (const line of readNdjson(outputPaths(dir).failures)) {
    if (!line.ok) {
      malformed.push(line);
      continue;
    }
    const record = line.value as Partial<FailureRecord> | null;
    if (record?.status !== "failed" || typeof record.interaction_id !== "string") continue;
    if (done.has(record.interaction_id)) continue;
    latest.delete(record.interaction_id);
    latest.set(record.interaction_id, record as FailureRecord);
  }
  return { failures: [...latest.values()], malformed };
}
