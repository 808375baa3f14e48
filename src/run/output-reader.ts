// Reads a finished (or half-finished) output folder back, one interaction at a time, so
// that stats, show and export stay within bounded memory however large the folder is.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../config/errors.js";
import type { Interaction } from "../schema/interaction.js";
import { isErrno, outputPaths, readInteractionFile } from "../sinks/layout.js";

export async function* iterateInteractions(dir: string): AsyncGenerator<Interaction> {
  const folder = outputPaths(dir).interactions;
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (isErrno(error, "ENOENT")) {
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
    yield await readInteractionFile(join(folder, name));
  }
}
