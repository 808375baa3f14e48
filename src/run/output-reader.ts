// Reads a finished (or half-finished) output folder back, one interaction at a time, so
// that stats, show and export stay within bounded memory however large the folder is.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../config/errors.js";
import type { Interaction } from "../schema/interaction.js";
import { terminalLine } from "../shared/terminal-text.js";
import { CorruptFileError, isErrno, outputPaths, readInteractionFile } from "../sinks/layout.js";

export interface ReadOutputOptions {
  /**
   * Hears of every entry that is not a readable interaction (cut short, not JSON, not an
   * interaction, a directory named like a file): it is skipped and the reading goes on.
   * Without it such an entry throws its CorruptFileError.
   */
  onUnreadable?: (error: CorruptFileError) => void;
}

export async function* iterateInteractions(
  dir: string,
  options: ReadOutputOptions = {},
): AsyncGenerator<Interaction> {
  const folder = outputPaths(dir).interactions;
  let names: string[];
  try {
    names = await readdir(folder);
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
  names.sort();
  for (const name of names) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    let interaction: Interaction;
    try {
      interaction = await readInteractionFile(join(folder, name));
    } catch (error) {
      if (isErrno(error, "ENOENT")) continue; // deleted meanwhile (quarantined by a resuming run)
      if (!(error instanceof CorruptFileError) || !options.onUnreadable) throw error;
      options.onUnreadable(error);
      continue;
    }
    yield interaction;
  }
}

/** The one line each command prints on stderr for an unreadable interaction file. */
export function unreadableFileLine(error: CorruptFileError): string {
  // File names and parse errors quote what is in the folder: escapes shown, never acted on.
  return terminalLine(`skipped unreadable ${error.path}: ${error.reason}`);
}
