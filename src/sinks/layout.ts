// Where everything lives inside an output directory, and small helpers shared by the storage,
// the index and resume. See docs/outputs.md for the layout.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Interaction } from "../schema/interaction.js";

export interface OutputPaths {
  /** The directory as the user gave it (relative paths stay relative). */
  dir: string;
  /** One <safeFileName(interaction_id)>.json per finished interaction: the source of truth. */
  interactions: string;
  /** A cache of the interactions' summaries in the reference's format. */
  index: string;
  /** Append-only log of failed conversations (a later success supersedes a failure). */
  failures: string;
  /** Append-only spending ledger: one usage summary line per result, written before the result. */
  usage: string;
}

export function outputPaths(dir: string): OutputPaths {
  return {
    dir,
    interactions: join(dir, "interactions"),
    index: join(dir, "index.json"),
    failures: join(dir, "failures.ndjson"),
    usage: join(dir, "usage.ndjson"),
  };
}

export function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

/** Thrown when an interaction file is not a complete, parseable interaction. */
export class CorruptFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = "CorruptFileError";
  }
}

/** Reads and checks one interaction file (enough shape to index it; not a full validation). */
export async function readInteractionFile(path: string): Promise<Interaction> {
  const text = await readFile(path, "utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptFileError(path, `not valid JSON (${(error as Error).message})`);
  }
  const record = value as Partial<Interaction> | null;
  if (
    typeof record !== "object" ||
    record === null ||
    typeof record.interaction_id !== "string" ||
    typeof record.persona_id !== "string" ||
    !Array.isArray(record.messages) ||
    typeof record.num_turns !== "number"
  ) {
    throw new CorruptFileError(path, "not an interaction (interaction_id, persona_id, messages, num_turns)");
  }
  return record as Interaction;
}

/** Runs `fn` over `items` with at most `limit` calls in flight (bounded fs concurrency). */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
