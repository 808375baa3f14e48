// `--env-file F`: variables for one run (keys, OPENAI_BASE_URL, values for `${VAR}` in the
// config) from a dotenv file, parsed by Node's own parser (util.parseEnv, the one behind
// process.loadEnvFile and `node --env-file`; Node ≥ 20.12). Variables already set in the
// environment win, as with Node's flag: the shell is the more deliberate of the two.
// A `.env` in the working directory is never read implicitly: it often belongs to another
// project (a web app's keys in the same folder), and reading it silently would change which
// endpoint and which key a run uses without anything on the command line saying so.
import * as util from "node:util";
import { InputError } from "./errors.js";
import { readCapped } from "./read-capped.js";

/** Larger than any real env file; a device or a wrong path never fills memory. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

/**
 * Sets the file's variables that `env` does not already have; returns their names (never the
 * values). Any problem is one InputError naming the file.
 */
export async function loadEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const fail = (message: string, hint?: string) =>
    new InputError({ file: path, message, ...(hint !== undefined && { hint }) });
  const parseEnv = (util as { parseEnv?: (text: string) => NodeJS.Dict<string> }).parseEnv;
  if (typeof parseEnv !== "function") {
    throw fail(
      `--env-file needs Node.js 20.12 or later (this is ${process.version})`,
      "upgrade Node, or export the variables in the shell",
    );
  }
  let read: Awaited<ReturnType<typeof readCapped>>;
  try {
    read = await readCapped(path, MAX_ENV_FILE_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw fail("env file not found (--env-file)", "give the path of a KEY=value file");
    if (code === "EISDIR") throw fail("is a directory, not an env file (--env-file)");
    throw fail(`cannot read the env file (${code ?? String(error)})`);
  }
  if (read.tooLarge) throw fail("is larger than 1 MiB, too large for an env file");
  const { bytes } = read;
  if (bytes.subarray(0, 1024).includes(0)) throw fail("does not look like a KEY=value env file");
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(bytes.toString("utf8")))) {
    if (value === undefined || env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
