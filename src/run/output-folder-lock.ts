// generate()'s hold on its output folder (src/sinks/output-lock.ts), with the refusal turned
// into bad input: the CLI prints its one line and exits 2, before any model call.
import { InputError } from "../config/errors.js";
import { acquireOutputLock, type OutputLock, OutputLockedError } from "../sinks/output-lock.js";

export async function lockOutputFolder(dir: string, onNotice: (line: string) => void): Promise<OutputLock> {
  try {
    return await acquireOutputLock(dir, { onNotice });
  } catch (error) {
    if (error instanceof OutputLockedError)
      throw new InputError({ message: error.message }, { cause: error });
    throw error;
  }
}
