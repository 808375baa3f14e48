// Reads an output folder's interactions one at a time, in file-name order (so "the first of
// two duplicates" is the same on every machine), skipping and counting unreadable files
// rather than abandoning an export over one bad file.
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

/**
 * Streams the folder's interactions. `onCorrupt` hears of every file that could not be read
 * (truncated, not JSON, not an interaction); a file deleted meanwhile is skipped silently.
 */
export async function* readStore(
  dir: string,
  onCorrupt: (error: CorruptFileError) => void = () => {},
): AsyncGenerator<Interaction> {
  const folder = outputPaths(dir).interactions;
  for (const name of await interactionFiles(dir)) {
    try {
      yield await readInteractionFile(join(folder, name));
    } catch (error) {
      if (error instanceof CorruptFileError) onCorrupt(error);
      else if (!isErrno(error, "ENOENT")) throw error;
    }
  }
}
