// The DIR argument of `show`, `stats` and `report`: an output folder written by `generate --out`.
// A file given instead fails here in one line (exit 2), not as a readdir stack trace later.
import { stat } from "node:fs/promises";
import { InputError } from "../config/errors.js";

export async function requireOutputFolder(dir: string): Promise<void> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(dir)).isDirectory();
  } catch (error) {
    // A missing folder is each command's own business (stats of nothing is empty stats).
    if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") return;
    isFolder = false;
  }
  if (isFolder) return;
  throw new InputError({
    file: dir,
    message: "is a file, not a convosim output folder",
    hint: "pass the folder given to `generate --out`",
  });
}
