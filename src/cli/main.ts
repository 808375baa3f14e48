// The convosim command line: thin over the public API (parse, call, render).
// Start-up: this module and the register* ones import only commander and small leaf modules;
// what a command runs (the run machinery, the report, the exporters, the queue) is imported in
// its action, so --version and --help load none of it (test/cli/startup-imports.test.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { packageRoot } from "../conversation/templates.js";
import { registerExportCommand } from "./export-command.js";
import { EXIT, reportError } from "./fail.js";
import { registerFetchModelCommand } from "./fetch-model-command.js";
import { registerInitCommand } from "./init-command.js";
import { registerNoiseCommand } from "./noise-command.js";
import { registerWorkerCommand } from "./queue-commands.js";
import { registerReportCommand } from "./report-command.js";
import { registerStatsCommand } from "./stats-command.js";

function integer(name: string, min: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min} (got ${value})`);
    return parsed;
  };
}

function amount(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0) {
      throw new InvalidArgumentError(`${name} must be a number ≥ 0 (got ${value})`);
    }
    return parsed;
  };
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command()
    .name("convosim")
    .description(
      "Generate multi-turn conversations between persona-driven simulated users and assistant models.",
    )
    .version(packageVersion(), "-V, --version", "print convosim's version")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();

  program
    .command("generate")
    .description("run conversations for personas (built-in sample by default)")
    .option(
      "-c, --config <file>",
      "YAML config (default: ./convosim.yaml if present, else all defaults on the embedded local model)",
    )
    .option("-p, --personas <file|->", "personas as JSONL, JSON or YAML; - reads JSONL from stdin")
    .option(
      "-o, --out <dir>",
      "output folder (one JSON per interaction + index.json); re-running resumes. Default: NDJSON on stdout",
    )
    .option("-w, --max-workers <n>", "conversations in flight", integer("--max-workers", 1))
    .option("--seed <n>", "seed for every random choice", integer("--seed", 0))
    .option("-n, --limit <n>", "at most this many conversations", integer("--limit", 1))
    .option("-q, --quiet", "no progress on stderr")
    .option("--cache-dir <dir>", "response cache folder (default: ~/.cache/convosim/responses)")
    .option("--no-cache", "neither read nor write the response cache")
    .option(
      "--budget-usd <usd>",
      "stop admitting conversations before this much is spent",
      amount("--budget-usd"),
    )
    .option(
      "--budget-tokens <n>",
      "stop admitting conversations before this many tokens",
      amount("--budget-tokens"),
    )
    .option("--dry-run", "print the estimated calls, tokens and cost, and spend nothing (needs no API key)")
    .option("--env-file <file>", "read KEY=value variables from this file first (the shell's values win)")
    .option("--model <provider:model>", "both models, e.g. openai:gpt-4o-mini (overrides the config)")
    .option("--assistant <provider:model>", "the assistant model, e.g. local:qwen2.5-coder-0.5b-instruct")
    .option("--user <provider:model>", "the simulated user's model")
    .option(
      "--base-url <url>",
      "OpenAI-compatible endpoint of the models chosen with --model/--assistant/--user",
    )
    .option("--max-turns <n>", "most turns per conversation (overrides max_turns)", integer("--max-turns", 1))
    .option(
      "--min-turns <n>",
      "fewest turns per conversation (overrides min_turns)",
      integer("--min-turns", 1),
    )
    .option(
      "--queue <url>",
      "redis://HOST:PORT[/DB]: coordinate workers (convosim worker) instead of running here",
    )
    .option("--verbose", "one line per model request: endpoint, status, time, Retry-After (never a key)")
    .addOption(
      new Option("--log-level <level>", "debug: as --verbose; info: the default").choices(["debug", "info"]),
    )
    .action(async (options) => {
      const { runGenerate } = await import("./generate-command.js");
      exitCode = await runGenerate(options);
    });

  registerInitCommand(program, (code) => {
    exitCode = code;
  });

  registerFetchModelCommand(program, (code) => {
    exitCode = code;
  });

  registerExportCommand(program, (code) => {
    exitCode = code;
  });

  registerStatsCommand(program);
  registerNoiseCommand(program, (code) => {
    exitCode = code;
  });
  registerReportCommand(program);
  registerWorkerCommand(
    program,
    (code) => {
      exitCode = code;
    },
    integer,
  );

  program
    .command("show <dir> [id]")
    .description("print a conversation (the first one and a list of ids when no id is given)")
    .action(async (dir: string, id: string | undefined) => {
      const { runShow } = await import("./show-command.js");
      exitCode = await runShow(dir, id);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (
      error &&
      typeof error === "object" &&
      "code" in error &&
      String(error.code).startsWith("commander.")
    ) {
      const code = (error as { exitCode?: number }).exitCode ?? EXIT.badInput;
      return code === 0 ? EXIT.ok : EXIT.badInput;
    }
    return reportError(error);
  }
  return exitCode;
}
