// LLaMA-Factory finds a dataset through an entry in dataset_info.json (in its dataset_dir)
// that names the file and how to read it. `export --dataset-info` writes that entry beside the
// exported file, merged into a dataset_info.json already there (LLaMA-Factory's data/ folder
// ships one with dozens of entries that must survive).
import { readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { InputError } from "../config/errors.js";
import type { ExportFormat } from "./formats.js";

export const DATASET_INFO = "dataset_info.json";

export interface DatasetInfoEntry {
  file_name: string;
  formatting: "sharegpt";
  columns: { messages: string };
  tags: {
    role_tag: string;
    content_tag: string;
    user_tag: string;
    assistant_tag: string;
    system_tag: string;
  };
}

/**
 * The entry for one exported file. Both formats are LLaMA-Factory's "sharegpt" formatting; the
 * tags say which keys hold the role and text. system_tag lets a leading system message become
 * the sample's system prompt instead of breaking the user/assistant alternation.
 */
export function datasetInfoEntry(format: "openai" | "sharegpt", fileName: string): DatasetInfoEntry {
  return format === "sharegpt"
    ? {
        file_name: fileName,
        formatting: "sharegpt",
        columns: { messages: "conversations" },
        tags: {
          role_tag: "from",
          content_tag: "value",
          user_tag: "human",
          assistant_tag: "gpt",
          system_tag: "system",
        },
      }
    : {
        file_name: fileName,
        formatting: "sharegpt",
        columns: { messages: "messages" },
        tags: {
          role_tag: "role",
          content_tag: "content",
          user_tag: "user",
          assistant_tag: "assistant",
          system_tag: "system",
        },
      };
}

/**
 * Where dataset_info.json goes and the entry name of each split's file: beside a single file
 * (named after it, without the extension), or in a split folder (named `<folder>_<split>`).
 */
export function datasetInfoPlan(
  output: string,
  split: boolean,
  files: ReadonlyMap<string, string>,
): { path: string; names: Map<string, string> } {
  const folder = split ? output : dirname(output);
  const names = new Map<string, string>();
  for (const [splitName, file] of files) {
    names.set(splitName, split ? `${basename(output)}_${splitName}` : basename(file, extname(file)));
  }
  return { path: join(folder, DATASET_INFO), names };
}

/**
 * The entries already in `path` ({} when there is none). Read before the export, so a file that
 * cannot be merged into is refused before anything is written.
 */
export async function readDatasetInfo(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InputError({
      file: "command line",
      field: "--dataset-info",
      message: `${path} is not a JSON object, so the entry cannot be added to it`,
      hint: "fix or move that file, or export elsewhere",
    });
  }
  return parsed as Record<string, unknown>;
}

/** Writes `existing` with `entries` added (an entry of the same name is replaced), atomically. */
export async function writeDatasetInfo(
  path: string,
  existing: Record<string, unknown>,
  entries: Record<string, DatasetInfoEntry>,
): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, `${JSON.stringify({ ...existing, ...entries }, null, 2)}\n`);
  await rename(temporary, path);
}

export const isDatasetInfoFormat = (format: ExportFormat): format is "openai" | "sharegpt" =>
  format === "openai" || format === "sharegpt";
