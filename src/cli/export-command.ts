// `convosim export DIR --format F -o PATH`: parse the flags, call exportConversations, print
// the one-line summary on stderr. Bad values become InputErrors (exit 2, one short message).
import { type Command, InvalidArgumentError } from "commander";
import { FORMATS, TRAIN_ON } from "../exports/format-names.js";
import { EXIT } from "./fail.js";

interface ExportFlags {
  format: string;
  output?: string;
  variant?: string;
  split?: string;
  splitBy?: string;
  seed?: number;
  minTurns?: number;
  stopReason?: string;
  system?: string;
  license?: string;
  trainOn?: string;
  datasetInfo?: boolean;
}

function integer(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isInteger(parsed) || parsed < 0)
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0 (got ${value})`);
    return parsed;
  };
}

export async function runExport(dir: string, flags: ExportFlags): Promise<number> {
  // Loaded here, not at the top: every command registers this one, and only `export` needs the
  // writers (Parquet, YAML for the dataset card).
  const { exportConversations, formatExportSummary } = await import("../exports/export.js");
  const { unreadableFileLine } = await import("../run/output-reader.js");
  const summary = await exportConversations({
    dir,
    format: flags.format,
    output: flags.output,
    variant: flags.variant,
    split: flags.split,
    splitBy: flags.splitBy,
    seed: flags.seed,
    minTurns: flags.minTurns,
    stopReasons: flags.stopReason?.split(",").map((reason) => reason.trim()),
    system: flags.system,
    license: flags.license,
    trainOn: flags.trainOn,
    datasetInfo: flags.datasetInfo,
    onUnreadable: (error) => process.stderr.write(`${unreadableFileLine(error)}\n`),
  });
  process.stderr.write(`${formatExportSummary(summary)}\n`);
  return EXIT.ok;
}

/** Adds the `export` command; `setExit` receives its exit code. */
export function registerExportCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command("export <dir>")
    .description("convert an output folder to a training format (docs/exports.md)")
    .option("-f, --format <format>", `${FORMATS.join(" | ")}`, "jsonl")
    .option(
      "-o, --output <path>",
      "file to write (folder for hf or with --split); default stdout for jsonl, openai, sharegpt",
    )
    .option("--variant <variant>", "noisy (what the assistant saw) | clean (text before noise)", "noisy")
    .option("--split <spec>", "persona-level split, e.g. train=0.8,test=0.2 (-o is then a folder)")
    .option("--split-by <unit>", "what the split is drawn by: persona (default)")
    .option("--seed <n>", "seed of the split (default 0)", integer("--seed"))
    .option("--min-turns <n>", "keep conversations with at least this many turns", integer("--min-turns"))
    .option("--stop-reason <reasons>", "keep only these stop reasons (comma-separated)")
    .option("--system <text>", "system message for openai and sharegpt (default: the recorded one, if any)")
    .option("--license <id>", 'licence in the hf dataset card (default "other"; hf only)')
    .option(
      "--train-on <which>",
      `openai only: assistant replies trained on, ${TRAIN_ON.join(" | ")} (weight keys; default all)`,
    )
    .option("--dataset-info", "openai/sharegpt: also write LLaMA-Factory's dataset_info.json entry beside -o")
    .action(async (dir: string, flags: ExportFlags) => {
      setExit(await runExport(dir, flags));
    });
}
