// `convosim noise`: its flags. What it does is in noise-run.ts, imported when the command runs,
// so that every other command (and --help) starts without the noise layers and their lexicon.
import { type Command, InvalidArgumentError } from "commander";
import { CHANNELS } from "../noise/channels.js";
import type { NoiseCommandOptions } from "./noise-run.js";

function number(name: string, check: (n: number) => boolean, wanted: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isFinite(parsed) || !check(parsed))
      throw new InvalidArgumentError(`${name} must be ${wanted} (got ${value})`);
    return parsed;
  };
}

/** Adds the `noise` command; `setExit` receives its exit code. */
export function registerNoiseCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command("noise")
    .description(
      "noise messages from stdin (one per line) and print one JSON result per line (docs/noise.md)",
    )
    .option("--persona <json>", 'persona features as JSON, e.g. \'{"communication_style":"casual"}\'')
    .option(
      "--seed <n>",
      "seed of every random choice (default 0)",
      number("--seed", Number.isInteger, "an integer"),
    )
    .option(
      "--probability <p>",
      "chance a message is noised at all (default 0.25)",
      number("--probability", (p) => p >= 0 && p <= 1, "a number from 0 to 1"),
    )
    .option(
      "--turn <n>",
      "turn number of every message (default 1)",
      number("--turn", (n) => Number.isInteger(n) && n >= 1, "an integer ≥ 1"),
    )
    .option("--channel <channel>", `force the input channel: ${CHANNELS.join(" | ")}`, (value: string) => {
      if (!(CHANNELS as readonly string[]).includes(value))
        throw new InvalidArgumentError(`--channel must be one of ${CHANNELS.join(", ")} (got ${value})`);
      return value;
    })
    .option(
      "--report",
      "print a realism report (CER, clean share, operation mix, token inflation) per persona type",
    )
    .option("--json", "with --report: print the report as JSON")
    .option("-c, --config <file>", "preview the distractor of this config (its distractor block)")
    .option("--semantic", "with the semantic layers (model rewrite + verifier; docs/noise-generation.md)")
    .action(async (options: NoiseCommandOptions) => {
      // The noise layers load when the command runs, not when the CLI starts (docs/architecture.md).
      const { runNoise } = await import("./noise-run.js");
      setExit(await runNoise(options));
    });
}
