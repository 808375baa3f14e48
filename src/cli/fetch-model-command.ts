// `convosim fetch-model [NAME]`: the embedded model download as a command of the installed
// package. It runs scripts/fetch-model.mjs (shipped in the package, `files` in package.json)
// so `npm run fetch-model` and this command are one piece of logic: same catalogue, checks,
// cache folder, output (paths on stdout, progress on stderr) and exit codes.
import { join } from "node:path";
import type { Command } from "commander";
import { InputError } from "../config/errors.js";
import { packageRoot } from "../conversation/templates.js";
import { EMBEDDED_MODEL_NAMES } from "../schema/embedded-models.js";
import { EXIT } from "./fail.js";

export interface FetchModelOptions {
  all?: boolean;
  list?: boolean;
  verify?: boolean;
}

/** The script's arguments for the command's: NAME → --model NAME. */
export function fetchModelArgs(names: readonly string[], options: FetchModelOptions): string[] {
  for (const name of names) {
    if (!(EMBEDDED_MODEL_NAMES as readonly string[]).includes(name)) {
      throw new InputError({
        file: "command line",
        message: `unknown embedded model "${name}"`,
        hint: `known models: ${EMBEDDED_MODEL_NAMES.join(", ")} (convosim fetch-model --list)`,
      });
    }
  }
  return [
    ...names.flatMap((name) => ["--model", name]),
    ...(options.all ? ["--all"] : []),
    ...(options.list ? ["--list"] : []),
    ...(options.verify ? ["--verify"] : []),
  ];
}

export async function runFetchModel(names: readonly string[], options: FetchModelOptions): Promise<number> {
  const args = fetchModelArgs(names, options);
  const script = join(packageRoot(), "scripts", "fetch-model.mjs");
  // Imported here, not at the top: child_process would load with every command (start-up).
  const { spawn } = await import("node:child_process");
  // Inherited stdio: pip's progress and the paths reach the terminal as the script writes them.
  // A Ctrl-C reaches the child too (same process group); it removes its work folder, exits 130.
  const child = spawn(process.execPath, [script, ...args], { stdio: "inherit" });
  const ignore = () => {}; // the child handles the signal; we wait for its exit code
  process.on("SIGINT", ignore);
  process.on("SIGTERM", ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) =>
        resolve(code ?? (signal === "SIGINT" || signal === "SIGTERM" ? EXIT.interrupted : 1)),
      );
    });
  } finally {
    process.off("SIGINT", ignore);
    process.off("SIGTERM", ignore);
  }
}

export function registerFetchModelCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command("fetch-model [names...]")
    .description(
      `download the embedded local model(s) into the convosim cache (default: ${EMBEDDED_MODEL_NAMES.join(" and ")}); prints their paths`,
    )
    .option("--all", "every embedded model")
    .option("--list", "list the embedded models and fetch nothing")
    .option("--verify", "re-hash a cached model even when its stamp says it was verified")
    .action(async (names: string[], options: FetchModelOptions) => {
      setExit(await runFetchModel(names, options));
    });
}
