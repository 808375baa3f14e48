// `convosim export`: streams an output folder into a training format. One conversation at a
// time: filter (--min-turns, --stop-reason) → pick the text variant → drop exact duplicates →
// assign the persona's split → format → write. Memory holds a digest per kept conversation,
// the persona ids, and at most one Parquet row group per split — never the conversations.
// Files are written under temporary names and renamed when complete, so a failed export
// leaves no file that looks finished; a device or named pipe (-o /dev/null) is written through
// instead, and a symlink's target is replaced, never the link (output-file.ts).
import { readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { InputError } from "../config/errors.js";
import type { Interaction } from "../schema/interaction.js";
import { withDiskFullPath } from "../shared/fs-errors.js";
import { makeFolder } from "../shared/writable-folder.js";
import type { CorruptFileError } from "../sinks/layout.js";
import { renderDatasetCard } from "./card.js";
import {
  DATASET_INFO,
  datasetInfoEntry,
  datasetInfoPlan,
  isDatasetInfoFormat,
  readDatasetInfo,
  writeDatasetInfo,
} from "./dataset-info.js";
import { nothingToTrain, type OpenAIRecord, toJsonlRecord, toOpenAI, toShareGPT } from "./formats.js";
import { type ExportOptions, type ResolvedExport, resolveExportOptions } from "./options.js";
import { openOutputFile, refuseInsideFolder } from "./output-file.js";
import { JsonLinesFile, JsonLinesStream, type RowSink } from "./outputs.js";
import { ParquetFileWriter, type ParquetLayout, parquetRow } from "./parquet.js";
import { readStore } from "./source.js";
import { splitOf } from "./split.js";
import { ExportTally, type ExportTallySnapshot } from "./tally.js";
import { conversationDigest, type ExportMessage, variantMessages } from "./variant.js";

export interface ExportSummary {
  format: string;
  variant: string;
  /** Which assistant replies are trained on (openai weights; "all" elsewhere). */
  train_on: string;
  /** The file or folder written, or "-" for stdout. */
  output: string;
  /** Interactions read from the folder. */
  read: number;
  /** Conversations written. */
  exported: number;
  /** Exact duplicates (same roles and texts in the chosen variant) dropped. */
  duplicates: number;
  /** Dropped by a filter, by filter. */
  filtered: { min_turns: number; stop_reason: number };
  /** Chat formats only: conversations with no assistant reply to end on. */
  skipped_no_reply: number;
  /** openai with --train-on: conversations whose every reply got weight 0 (nothing to learn). */
  skipped_nothing_to_train: number;
  /** Interaction files that could not be read (skipped). */
  corrupt: number;
  /** Split name → conversations and personas written there. */
  splits: ExportTallySnapshot["splits"];
  /** hf only: splits that received no conversation, left out of the dataset (load_dataset rejects them). */
  omitted_splits: string[];
  /** Files written (data files, then the dataset card for hf or dataset_info.json). */
  files: string[];
  /** --dataset-info: the dataset_info.json written and the entry names added to it. */
  dataset_info?: { path: string; entries: string[] };
  tally: ExportTallySnapshot;
}

/** The split name used when no --split is given (a dataset needs one; "train" is HF's default). */
export const SINGLE_SPLIT = "train";

/** HF's sharded file name for a split's only shard. */
export const hfDataFile = (split: string): string => `data/${split}-00000-of-00001.parquet`;

async function pathKind(path: string): Promise<"file" | "dir" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

const outputError = (path: string, message: string, hint: string) =>
  new InputError({ file: "command line", field: "--output", message: `${path} ${message}`, hint });

/** The union of persona feature names over the folder: the Parquet struct's fields. */
async function scanLayout(dir: string): Promise<ParquetLayout> {
  const keys = new Set<string>();
  for await (const interaction of readStore(dir)) {
    for (const key of Object.keys(interaction.persona_features ?? {})) keys.add(key);
  }
  return { featureKeys: [...keys].sort() };
}

/** `final`: the path reported ("-" for stdout); `renameTo`: where the finished temp file goes. */
type Target = { final: string; renameTo: string | undefined; sink: RowSink<unknown> };

/** Where each split's rows go, by format and whether a split was asked for. */
function targetPaths(o: ResolvedExport): Map<string, string | undefined> {
  const names = o.split ? o.split.map((part) => part.name) : [SINGLE_SPLIT];
  const ext = o.format === "parquet" ? "parquet" : "jsonl";
  return new Map(
    names.map((name) => {
      if (o.format === "hf") return [name, join(o.output ?? "", hfDataFile(name))];
      if (o.split) return [name, join(o.output ?? "", `${name}.${ext}`)];
      return [name, o.output];
    }),
  );
}

async function prepareOutput(o: ResolvedExport): Promise<void> {
  if (o.output === undefined) return;
  // Anything inside the folder being exported would overwrite its own files (index.json, …).
  await refuseInsideFolder(o.output, o.dir, "--output");
  const folder = o.format === "hf" || o.split !== undefined;
  const kind = await pathKind(o.output);
  if (folder && kind === "file") {
    throw outputError(o.output, "is a file", `${o.format}${o.split ? " with --split" : ""} writes a folder`);
  }
  if (!folder && kind === "dir") {
    throw outputError(o.output, "is a folder", "name the file to write, e.g. -o out.jsonl");
  }
  if (folder) await makeFolder(o.output);
  if (o.format === "hf") {
    // Shards of an earlier export to this folder would be picked up by the data/<split>-* patterns.
    const data = join(o.output, "data");
    await makeFolder(data);
    for (const name of await readdir(data)) {
      if (/^\w+-\d{5}-of-\d{5}\.parquet$/.test(name)) await rm(join(data, name));
    }
  }
}

async function openTargets(
  o: ResolvedExport,
  layout: ParquetLayout | undefined,
): Promise<Map<string, Target>> {
  const targets = new Map<string, Target>();
  const suffix = `.tmp-${process.pid}-${Date.now().toString(36)}`;
  for (const [split, path] of targetPaths(o)) {
    if (path === undefined) {
      targets.set(split, { final: "-", renameTo: undefined, sink: new JsonLinesStream(o.stdout) });
      continue;
    }
    const file = await openOutputFile(path, "--output", suffix);
    const sink = layout
      ? new ParquetFileWriter(file.writePath, layout, { rowGroupSize: o.rowGroupSize })
      : new JsonLinesFile(file.writePath);
    targets.set(split, { final: path, renameTo: file.renameTo, sink });
  }
  return targets;
}

/** Temporary files only: a device or pipe written in place is never deleted. */
const temporary = (targets: Map<string, Target>): Target[] =>
  [...targets.values()].filter((target) => target.renameTo !== undefined);

function recordFor(
  o: ResolvedExport,
  interaction: Interaction,
  messages: ExportMessage[],
  layout?: ParquetLayout,
) {
  switch (o.format) {
    case "openai":
      return toOpenAI(interaction, messages, { system: o.system, trainOn: o.trainOn });
    case "sharegpt":
      return toShareGPT(interaction, messages, { system: o.system });
    case "jsonl":
      return toJsonlRecord(interaction, messages);
    default:
      return parquetRow(interaction, messages, layout ?? { featureKeys: [] });
  }
}

/** Exports the folder `options.dir`; see ExportOptions. Resolves once every file is in place. */
export async function exportConversations(options: ExportOptions): Promise<ExportSummary> {
  const o = resolveExportOptions(options);
  const parquet = o.format === "parquet" || o.format === "hf";
  const layout = parquet ? await scanLayout(o.dir) : undefined;
  const infoPlan =
    o.datasetInfo && o.output !== undefined
      ? datasetInfoPlan(o.output, o.split !== undefined, targetPaths(o) as Map<string, string>)
      : undefined;
  // Read (and refused if unusable) before the export writes anything.
  const infoBefore = infoPlan ? await readDatasetInfo(infoPlan.path) : undefined;
  await prepareOutput(o);
  const targets = await openTargets(o, layout);
  const tally = new ExportTally();
  for (const split of targets.keys()) tally.declareSplit(split);
  const seen = new Set<string>();
  const summary = {
    read: 0,
    duplicates: 0,
    skipped: 0,
    untrained: 0,
    corrupt: 0,
    minTurns: 0,
    stopReason: 0,
  };
  try {
    const onUnreadable = (error: CorruptFileError): void => {
      summary.corrupt++;
      options.onUnreadable?.(error);
    };
    for await (const interaction of readStore(o.dir, onUnreadable)) {
      summary.read += 1;
      if (o.minTurns !== undefined && interaction.num_turns < o.minTurns) {
        summary.minTurns += 1;
        continue;
      }
      if (o.stopReasons && !o.stopReasons.has(String(interaction.metadata?.stop_reason))) {
        summary.stopReason += 1;
        continue;
      }
      const messages = variantMessages(interaction, o.variant);
      const digest = conversationDigest(messages);
      if (seen.has(digest)) {
        summary.duplicates += 1;
        continue;
      }
      const record = recordFor(o, interaction, messages, layout);
      if (record === undefined) {
        summary.skipped += 1;
        continue;
      }
      // trainOn other than "all" was refused for every format but openai (options.ts).
      if (o.trainOn !== "all" && nothingToTrain(record as OpenAIRecord)) {
        // Every reply at weight 0: a line that teaches nothing (and that trainers may reject).
        summary.untrained += 1;
        continue;
      }
      seen.add(digest);
      const split = o.split ? splitOf(interaction.persona_id, o.split, o.seed) : SINGLE_SPLIT;
      await targets.get(split)?.sink.add(record);
      tally.add(interaction, messages, split);
    }
    for (const target of targets.values()) await target.sink.close();
  } catch (error) {
    await Promise.allSettled([...targets.values()].map((t) => t.sink.close()));
    await Promise.allSettled(temporary(targets).map((t) => rm(t.sink.path, { force: true })));
    throw withDiskFullPath(error, o.output ?? "stdout");
  }
  const snapshot = tally.snapshot();
  // datasets.load_dataset refuses a split with no rows: an hf export leaves empty splits out
  // (and says so), unless every split is empty. Other formats keep their empty (valid) files.
  const omitted =
    o.format === "hf" && snapshot.conversations > 0
      ? [...targets.keys()].filter((split) => (snapshot.splits[split]?.conversations ?? 0) === 0)
      : [];
  const files: string[] = [];
  for (const [split, target] of targets) {
    if (target.final === "-") continue;
    if (target.renameTo === undefined) files.push(target.final);
    else if (omitted.includes(split)) await rm(target.sink.path, { force: true });
    else {
      await rename(target.sink.path, target.renameTo);
      files.push(target.final);
    }
  }
  const filtered = { min_turns: summary.minTurns, stop_reason: summary.stopReason };
  if (o.format === "hf" && o.output !== undefined) {
    const card = join(o.output, "README.md");
    await writeFile(
      card,
      renderDatasetCard({
        tally: snapshot,
        dataFiles: [...targets.keys()]
          .filter((split) => !omitted.includes(split))
          .map((split) => ({ split, path: `data/${split}-*` })),
        license: o.license,
        variant: o.variant,
        seed: o.seed,
        splitBy: o.splitBy,
        duplicates: summary.duplicates,
        filtered,
        skipped: summary.skipped,
        omitted,
        source: basename(resolve(o.dir)),
      }),
    );
    files.push(card);
  }
  let datasetInfo: ExportSummary["dataset_info"];
  if (infoPlan && infoBefore && isDatasetInfoFormat(o.format)) {
    // Only splits that received conversations: LLaMA-Factory fails on an empty dataset file.
    const entries = Object.fromEntries(
      [...targets]
        .filter(([split]) => (snapshot.splits[split]?.conversations ?? 0) > 0)
        .map(([split, target]) => [
          infoPlan.names.get(split) ?? split,
          datasetInfoEntry(o.format as "openai" | "sharegpt", basename(target.final)),
        ]),
    );
    await writeDatasetInfo(infoPlan.path, infoBefore, entries);
    files.push(infoPlan.path);
    datasetInfo = { path: infoPlan.path, entries: Object.keys(entries) };
  }
  return {
    format: o.format,
    variant: o.variant,
    train_on: o.trainOn,
    output: o.output ?? "-",
    read: summary.read,
    exported: snapshot.conversations,
    duplicates: summary.duplicates,
    filtered,
    skipped_no_reply: summary.skipped,
    skipped_nothing_to_train: summary.untrained,
    corrupt: summary.corrupt,
    splits: snapshot.splits,
    omitted_splits: omitted,
    files,
    ...(datasetInfo ? { dataset_info: datasetInfo } : {}),
    tally: snapshot,
  };
}

/** The one-line summary the CLI prints on stderr. */
export function formatExportSummary(summary: ExportSummary): string {
  const splits = Object.entries(summary.splits);
  const parts = [
    `exported ${summary.exported} of ${summary.read} conversations (${summary.format}, ${summary.variant})`,
    splits.length > 1 || !(SINGLE_SPLIT in summary.splits)
      ? splits.map(([name, s]) => `${name} ${s.conversations} (${s.personas} personas)`).join(", ")
      : undefined,
    `${summary.duplicates} duplicates dropped`,
    summary.filtered.min_turns > 0 ? `${summary.filtered.min_turns} under --min-turns` : undefined,
    summary.filtered.stop_reason > 0 ? `${summary.filtered.stop_reason} other stop reasons` : undefined,
    summary.skipped_no_reply > 0 ? `${summary.skipped_no_reply} without an assistant reply` : undefined,
    summary.skipped_nothing_to_train > 0
      ? `${summary.skipped_nothing_to_train} with every reply at weight 0 (--train-on ${summary.train_on})`
      : undefined,
    summary.corrupt > 0 ? `${summary.corrupt} unreadable files skipped` : undefined,
    summary.omitted_splits.length > 0
      ? `empty split left out of the dataset: ${summary.omitted_splits.join(", ")}`
      : undefined,
    summary.output !== "-" ? `→ ${summary.output}` : undefined,
    summary.dataset_info
      ? `${DATASET_INFO} entry ${summary.dataset_info.entries.join(", ")} → ${summary.dataset_info.path}`
      : undefined,
  ];
  return parts.filter((part) => part !== undefined).join("; ");
}
