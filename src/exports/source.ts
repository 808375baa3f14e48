// Reads an output folder's interactions in file-name order (so "the first of two duplicates"
// is the same on every machine), a bounded window of files ahead, skipping and counting
// unreadable files rather than abandoning an export over one bad file.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../config/errors.js";
import type { Interaction } from "../schema/interaction.js";
import { CorruptFileError, isErrno, outputPaths, readInteractionFile } from "../sinks/layout.js";

/** Interaction file names in the folder, sorted (names only: a few dozen bytes each). */
async function interactionFiles(dir: string): Promise<string[]> {
  const folder = outputPaths(dir).interactions;
  try {
    return (await readdir(folder)).filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort();
  } catch (error) {
    if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) {
      throw new InputError({
        file: dir,
        message: "is not a convosim output folder (no interactions/ inside)",
        hint: "pass the folder given to `generate --out`",
      });
    }
    throw error;
  }
}

/** Files read ahead of the consumer: reads overlap in libuv's pool, memory stays at a few files. */
const READ_AHEAD = 16;

type Read = { ok: true; interaction: Interaction } | { ok: false; error: unknown };

const readOne = (path: string): Promise<Read> =>
  readInteractionFile(path).then(
    (interaction) => ({ ok: true, interaction }),
    (error: unknown) => ({ ok: false, error }),
  );

/**
 * Streams the folder's interactions in name order, reading up to READ_AHEAD files ahead (one
 * at a time, the export waits on the disk two thirds of the time). `onCorrupt` hears of every
 * file that could not be read (truncated, not JSON, not an interaction); a file deleted
 * meanwhile is skipped silently.
 */
export async function* readStore(
  dir: string,
  onCorrupt: (error: CorruptFileError) => void = () => {},
): AsyncGenerator<Interaction> {
  const folder = outputPaths(dir).interactions;
  const names = await interactionFiles(dir);
  const window: Promise<Read>[] = [];
  let next = 0;
  const fill = () => {
    while (window.length < READ_AHEAD && next < names.length)
      window.push(readOne(join(folder, names[next++]!)));
  };
  fill();
  while (window.length > 0) {
    const read = await window.shift()!;
    fill();
    if (read.ok) yield read.interaction;
    else if (read.error instanceof CorruptFileError) onCorrupt(read.error);
    else if (!isErrno(read.error, "ENOENT")) throw read.error;
  }
}
