// Resume: which interactions are already done, read from the interaction files themselves
// (never from index.json, which is only a cache), and which failures are still outstanding.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { FailureRecord } from "../schema/interaction.js";
import { cleanTempFiles } from "./atomic-file.js";
import { CorruptFileError, forEachSliced, isErrno, outputPaths, readInteractionFileSync } from "./layout.js";
import { type NdjsonLine, readNdjson } from "./ndjson-sink.js";
import { interactionFileName } from "./safe-file-name.js";

/**
 * How much of each file to check:
 * - "tail" (default): non-empty and its last non-blank byte is "}" — one small read per file;
 *   catches truncated and zero-filled files (what a power loss without fsync leaves behind).
 * - "full": parse every file and check it holds the id its name stands for (slow on 100k files).
 * - "none": trust the names (atomic rename already guarantees complete files).
 */
export type VerifyMode = "tail" | "full" | "none";

/** The interactions already saved in an output directory. */
export class CompletedSet {
  constructor(
    /** File names (safeFileName(id) + ".json") of complete interaction files. */
    readonly fileNames: ReadonlySet<string>,
    /** Files that are not complete interactions: treated as not done, so they are redone. */
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
  const verify = options.verify ?? "tail";
  const folder = outputPaths(dir).interactions;
  let names: string[] = [];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  const { removed } = await cleanTempFiles(folder, names);
  const candidates = names.filter((name) => name.endsWith(".json") && !name.startsWith("."));
  const done = new Set<string>();
  const corrupt: CorruptFileError[] = [];
  if (verify === "none") {
    for (const name of candidates) done.add(name);
    return new CompletedSet(done, corrupt, removed);
  }
  await forEachSliced(candidates, (name) => {
    const path = join(folder, name);
    try {
      if (verify === "full") {
        const interaction = readInteractionFileSync(path);
        if (interactionFileName(interaction.interaction_id) !== name) {
          throw new CorruptFileError(
            path,
            `holds "${interaction.interaction_id}", which belongs in another file`,
          );
        }
      } else {
        checkTail(path);
      }
      done.add(name);
    } catch (error) {
      if (error instanceof CorruptFileError) corrupt.push(error);
      else if (!isErrno(error, "ENOENT")) throw error;
    }
  });
  return new CompletedSet(done, corrupt, removed);
}

const tail = Buffer.alloc(64);

function checkTail(path: string): void {
  const fd = openSync(path, "r");
  try {
    const { size } = fstatSync(fd);
    if (size === 0) throw new CorruptFileError(path, "empty file");
    const length = Math.min(size, tail.length);
    readSync(fd, tail, 0, length, size - length);
    if (!tail.toString("latin1", 0, length).trimEnd().endsWith("}")) {
      throw new CorruptFileError(path, "truncated (does not end with '}')");
    }
  } finally {
    closeSync(fd);
  }
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
  const done = completed ?? (await loadCompleted(dir, { verify: "none" }));
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
