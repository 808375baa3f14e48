// The export's options, checked before anything is read or written: every mistake is an
// InputError naming the flag and the fix (the CLI prints one line and exits 2).
import { InputError } from "../config/errors.js";
import { STOP_REASONS as ALL_STOP_REASONS, type StopReason } from "../schema/interaction.js";
import type { CorruptFileError } from "../sinks/layout.js";
import { DEFAULT_LICENSE } from "./card.js";
import { type ExportFormat, FORMATS, TRAIN_ON, type TrainOn } from "./formats.js";
import { parseSplitSpec, type SplitBy, type SplitSpec, validateSplitSpec } from "./split.js";
import { VARIANTS, type Variant } from "./variant.js";

export interface ExportOptions {
  /** An output folder written by `generate --out` (or InteractionStorage). */
  dir: string;
  format: ExportFormat | string;
  /**
   * A file for jsonl/openai/sharegpt/parquet, a folder for hf or with a split. Omitted or "-"
   * writes JSON lines to `stdout` (line formats without a split only).
   */
  output?: string | undefined;
  /** "noisy" (default): the text the assistant saw; "clean": the text before the distractor. */
  variant?: Variant | string | undefined;
  /** Persona-level split, e.g. "train=0.8,test=0.2" or [{name, fraction}]. */
  split?: SplitSpec | string | undefined;
  /** What the split is drawn by; "persona" (the default and only choice). */
  splitBy?: SplitBy | string | undefined;
  /** Seed of the split (default 0). */
  seed?: number | undefined;
  /** Keep conversations with at least this many turns. */
  minTurns?: number | undefined;
  /** Keep conversations that stopped for one of these reasons. */
  stopReasons?: readonly string[] | undefined;
  /**
   * System message for openai/sharegpt (default: the one recorded on the interaction, if any).
   * Refused with the other formats: they carry the record as stored.
   */
  system?: string | undefined;
  /** Licence in the hf dataset card (default "other"). Refused with the other formats. */
  license?: string | undefined;
  /** openai only: which assistant messages are trained on (weight keys); default "all". */
  trainOn?: TrainOn | string | undefined;
  /** openai/sharegpt to a file: write LLaMA-Factory's dataset_info.json entry beside it. */
  datasetInfo?: boolean | undefined;
  /** Parquet row group size (default 1000 interactions). */
  rowGroupSize?: number | undefined;
  /** Where JSON lines go without an output file (default process.stdout). */
  stdout?: NodeJS.WritableStream | undefined;
  /** Hears of each interaction file that cannot be read (skipped and counted in `corrupt`). */
  onUnreadable?: ((error: CorruptFileError) => void) | undefined;
}

export interface ResolvedExport {
  dir: string;
  format: ExportFormat;
  output: string | undefined;
  variant: Variant;
  split: SplitSpec | undefined;
  splitBy: SplitBy | undefined;
  seed: number;
  minTurns: number | undefined;
  stopReasons: ReadonlySet<string> | undefined;
  system: string | undefined;
  license: string;
  trainOn: TrainOn;
  datasetInfo: boolean;
  rowGroupSize: number;
  stdout: NodeJS.WritableStream;
}

export const STOP_REASONS: readonly StopReason[] = ALL_STOP_REASONS;

const bad = (field: string, message: string, hint: string): InputError =>
  new InputError({ file: "command line", field, message, hint });

export function resolveExportOptions(options: ExportOptions): ResolvedExport {
  const format = options.format as ExportFormat;
  if (!FORMATS.includes(format)) {
    throw bad("--format", `unknown format "${options.format}"`, `use one of ${FORMATS.join(", ")}`);
  }
  const variant = (options.variant ?? "noisy") as Variant;
  if (!VARIANTS.includes(variant)) {
    throw bad("--variant", `unknown variant "${options.variant}"`, "use --variant noisy or --variant clean");
  }
  let split: SplitSpec | undefined;
  if (typeof options.split === "string") split = parseSplitSpec(options.split);
  else if (options.split !== undefined) {
    validateSplitSpec(options.split);
    split = options.split;
  }
  if (options.splitBy !== undefined && options.splitBy !== "persona") {
    throw bad("--split-by", `cannot split by "${options.splitBy}"`, "use --split-by persona");
  }
  if (options.splitBy !== undefined && split === undefined) {
    throw bad("--split-by", "given without --split", "add e.g. --split train=0.8,test=0.2");
  }
  const output = options.output === "-" ? undefined : options.output;
  if (output === undefined && (split || format === "parquet" || format === "hf")) {
    const what = split || format === "hf" ? "a folder" : "a file";
    throw bad("--output", `${format}${split ? " with --split" : ""} needs ${what}`, `add -o PATH`);
  }
  if (options.seed !== undefined && split === undefined) {
    // Without a split nothing is drawn: a seed given there would be silently meaningless.
    throw bad(
      "--seed",
      "given without --split (it seeds the split only)",
      "add e.g. --split train=0.8,test=0.2",
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) {
    throw bad("--seed", `must be an integer ≥ 0 (got ${seed})`, "e.g. --seed 42");
  }
  const minTurns = options.minTurns;
  if (minTurns !== undefined && (!Number.isInteger(minTurns) || minTurns < 0)) {
    throw bad("--min-turns", `must be an integer ≥ 0 (got ${minTurns})`, "e.g. --min-turns 2");
  }
  let stopReasons: Set<string> | undefined;
  if (options.stopReasons !== undefined) {
    const unknown = options.stopReasons.filter((r) => !(STOP_REASONS as readonly string[]).includes(r));
    if (unknown.length > 0 || options.stopReasons.length === 0) {
      throw bad(
        "--stop-reason",
        `unknown stop reason "${unknown[0] ?? ""}"`,
        `use ${STOP_REASONS.join(", ")} (comma-separated for several)`,
      );
    }
    stopReasons = new Set(options.stopReasons);
  }
  const rowGroupSize = options.rowGroupSize ?? 1000;
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) {
    throw bad("rowGroupSize", `must be an integer ≥ 1 (got ${rowGroupSize})`, "e.g. 1000");
  }
  const license = options.license ?? DEFAULT_LICENSE;
  if (!/^[\w.+-]+$/.test(license)) {
    throw bad("--license", `"${license}" is not a licence identifier`, "e.g. --license apache-2.0");
  }
  refuseWhereIgnored(options, format);
  const trainOn = (options.trainOn ?? "all") as TrainOn;
  if (!TRAIN_ON.includes(trainOn)) {
    throw bad("--train-on", `unknown choice "${options.trainOn}"`, `use one of ${TRAIN_ON.join(", ")}`);
  }
  const datasetInfo = options.datasetInfo === true;
  if (datasetInfo) refuseDatasetInfo(format, output, trainOn, split !== undefined);
  return {
    dir: options.dir,
    format,
    output,
    variant,
    split,
    splitBy: split ? "persona" : undefined,
    seed,
    minTurns,
    stopReasons,
    system: options.system,
    license,
    trainOn,
    datasetInfo,
    rowGroupSize,
    stdout: options.stdout ?? process.stdout,
  };
}

/**
 * A flag a format has no place for is refused rather than dropped: a user who asked for a
 * system message or a licence would otherwise ship a dataset without it and never know.
 */
function refuseWhereIgnored(options: ExportOptions, format: ExportFormat): void {
  const chat = format === "openai" || format === "sharegpt";
  if (options.system !== undefined && !chat) {
    throw bad(
      "--system",
      `${format} has no system message: it carries the conversations as recorded`,
      "use --format openai or sharegpt, or drop --system",
    );
  }
  if (options.license !== undefined && format !== "hf") {
    throw bad(
      "--license",
      `${format} has no place for a licence (only the hf dataset card has one)`,
      "use --format hf, or drop --license",
    );
  }
  if (options.trainOn !== undefined && options.trainOn !== "all" && format !== "openai") {
    throw bad(
      "--train-on",
      `${format} has no per-message weight (only openai's "weight" key)`,
      "use --format openai, or drop --train-on",
    );
  }
}

/** --dataset-info names a file LLaMA-Factory reads with the columns of an openai/sharegpt line. */
function refuseDatasetInfo(
  format: ExportFormat,
  output: string | undefined,
  trainOn: TrainOn,
  split: boolean,
): void {
  if (format !== "openai" && format !== "sharegpt") {
    throw bad(
      "--dataset-info",
      `${format} is not a LLaMA-Factory chat format`,
      "use --format sharegpt or openai with --dataset-info",
    );
  }
  if (output === undefined) {
    throw bad("--dataset-info", "needs a file to describe, not stdout", "add -o data/NAME.jsonl");
  }
  if (!split && !/\.jsonl?$/.test(output)) {
    // LLaMA-Factory picks the loader by extension and refuses files without a known one.
    throw bad(
      "--dataset-info",
      `LLaMA-Factory cannot read "${output}"`,
      "name a .json or .jsonl file, e.g. -o data/NAME.jsonl",
    );
  }
  if (trainOn !== "all") {
    throw bad(
      "--dataset-info",
      `LLaMA-Factory ignores openai's "weight" keys, so --train-on ${trainOn} would not hold there`,
      "drop --train-on (LLaMA-Factory's own mask_history: true trains on the last reply only)",
    );
  }
}
