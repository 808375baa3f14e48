// Parquet rows: one per interaction, messages nested as list<struct>, persona features as a
// struct with one column per feature, metadata as flat columns. Written with hyparquet-writer
// (pure JS, Node 20) one row group at a time: rows are buffered until a group is full, encoded,
// and the bytes appended to the file before the next group starts, so memory holds one group.
import { type FileHandle, open } from "node:fs/promises";
import { ByteWriter, ParquetWriter, type SchemaElement } from "hyparquet-writer";
import type { Interaction } from "../schema/interaction.js";
import type { ExportMessage } from "./variant.js";

/** Row groups of this many interactions: small enough for bounded memory, big enough to scan fast. */
export const DEFAULT_ROW_GROUP_SIZE = 1000;

export interface ParquetLayout {
  /** Persona feature names, sorted: one struct field each (the union over the export). */
  featureKeys: readonly string[];
}

const string = (name: string, optional = false): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  repetition_type: optional ? "OPTIONAL" : "REQUIRED",
});
const int32 = (name: string): SchemaElement => ({ name, type: "INT32", repetition_type: "REQUIRED" });
const int64 = (name: string): SchemaElement => ({ name, type: "INT64", repetition_type: "REQUIRED" });

/** Flat columns after the nested ones, in order; parquetRow fills them by these names. */
const FLAT: readonly SchemaElement[] = [
  string("assistant_provider"),
  string("assistant_model"),
  string("user_provider"),
  string("user_model"),
  string("stop_reason"),
  { name: "distractor_applied", type: "BOOLEAN", repetition_type: "REQUIRED" },
  int32("noised_user_messages"),
  int32("target_turns"),
  int32("sample_index"),
  int64("seed"),
  string("created_at"),
  string("completed_at"),
  int64("prompt_tokens"),
  int64("completion_tokens"),
  { name: "cost_usd", type: "DOUBLE", repetition_type: "REQUIRED" },
];

/** The file schema for a layout (the same for every split, as a dataset's splits must be). */
export function parquetSchema(layout: ParquetLayout): SchemaElement[] {
  const features = layout.featureKeys.length;
  const head: SchemaElement[] = [
    string("interaction_id"),
    string("persona_id"),
    string("query_id"),
    string("original_query"),
    string("initial_query"),
    int32("num_turns"),
    // The standard three-level list (LIST → repeated list → element), as pyarrow writes it.
    { name: "messages", repetition_type: "REQUIRED", converted_type: "LIST", num_children: 1 },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    { name: "element", repetition_type: "REQUIRED", num_children: 4 },
    string("role"),
    string("content"),
    { name: "was_noised", type: "BOOLEAN", repetition_type: "REQUIRED" },
    string("clean_content", true),
  ];
  // A struct must have a field: with no features at all the column is left out.
  const persona: SchemaElement[] =
    features > 0
      ? [
          { name: "persona_features", repetition_type: "REQUIRED", num_children: features },
          ...layout.featureKeys.map((key) => string(key, true)),
        ]
      : [];
  const columns = 6 + 1 + (features > 0 ? 1 : 0) + FLAT.length;
  return [{ name: "schema", num_children: columns }, ...head, ...persona, ...FLAT];
}

export type ParquetRow = Record<string, unknown>;

/** Feature values as text: strings as they are, anything else as JSON (null when absent). */
function featureText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

const int = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);

/** One row of the schema above. */
export function parquetRow(
  interaction: Interaction,
  messages: readonly ExportMessage[],
  layout: ParquetLayout,
): ParquetRow {
  const meta = interaction.metadata;
  let prompt = 0;
  let completion = 0;
  let cost = 0;
  for (const record of meta?.usage ?? []) {
    prompt += int(record.prompt_tokens);
    completion += int(record.completion_tokens);
    cost += int(record.cost_usd);
  }
  const row: ParquetRow = {
    interaction_id: interaction.interaction_id,
    persona_id: interaction.persona_id,
    query_id: interaction.query_id ?? "",
    original_query: interaction.original_query ?? "",
    initial_query: interaction.initial_query ?? "",
    num_turns: int(interaction.num_turns),
    messages: messages.map((m) => ({ ...m })),
    assistant_provider: meta?.assistant_model?.provider ?? "",
    assistant_model: meta?.assistant_model?.model ?? "",
    user_provider: meta?.user_model?.provider ?? "",
    user_model: meta?.user_model?.model ?? "",
    stop_reason: meta?.stop_reason ?? "",
    distractor_applied: meta?.distractor_applied === true,
    noised_user_messages: messages.filter((m) => m.role === "user" && m.was_noised).length,
    target_turns: int(meta?.target_turns),
    sample_index: int(meta?.sample_index),
    seed: BigInt(Math.trunc(int(meta?.seed))),
    created_at: meta?.created_at ?? "",
    completed_at: meta?.completed_at ?? "",
    prompt_tokens: BigInt(Math.trunc(prompt)),
    completion_tokens: BigInt(Math.trunc(completion)),
    cost_usd: cost,
  };
  if (layout.featureKeys.length > 0) {
    const features = interaction.persona_features ?? {};
    row.persona_features = Object.fromEntries(
      layout.featureKeys.map((key) => [key, featureText(features[key])]),
    );
  }
  return row;
}

/** A hyparquet Writer whose bytes go to a file after every row group (and at the end). */
class FileFlushingWriter extends ByteWriter {
  readonly #file: FileHandle;

  constructor(file: FileHandle) {
    super(1 << 16);
    this.#file = file;
  }

  async flush(): Promise<void> {
    if (this.index === 0) return;
    // Copy out, then reuse the buffer: the encoder writes into it again straight away.
    const bytes = new Uint8Array(this.buffer, 0, this.index).slice();
    this.index = 0;
    await this.#file.write(bytes);
  }

  override finish(): Promise<void> {
    return this.flush();
  }
}

/** Writes rows to one Parquet file, a row group at a time. */
export class ParquetFileWriter {
  readonly path: string;
  readonly #schema: SchemaElement[];
  readonly #columns: string[];
  readonly #rowGroupSize: number;
  #rows: ParquetRow[] = [];
  #count = 0;
  #file: FileHandle | undefined;
  #writer: ParquetWriter | undefined;

  constructor(path: string, layout: ParquetLayout, options: { rowGroupSize?: number } = {}) {
    this.path = path;
    this.#schema = parquetSchema(layout);
    this.#columns = topLevelColumns(this.#schema);
    this.#rowGroupSize = Math.max(1, options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE);
  }

  /** Rows added so far. */
  get count(): number {
    return this.#count;
  }

  async add(row: ParquetRow): Promise<void> {
    this.#rows.push(row);
    this.#count += 1;
    if (this.#rows.length >= this.#rowGroupSize) await this.#writeGroup();
  }

  /** Writes the last group and the footer. A file with no rows is still a valid Parquet file. */
  async close(): Promise<void> {
    const writer = await this.#open();
    try {
      await this.#writeGroup();
      await writer.finish();
    } finally {
      await this.#file?.close();
    }
  }

  async #open(): Promise<ParquetWriter> {
    if (this.#writer) return this.#writer;
    this.#file = await open(this.path, "w");
    this.#writer = new ParquetWriter({
      writer: new FileFlushingWriter(this.#file),
      schema: this.#schema,
      createdBy: "convosim (hyparquet-writer)",
    });
    return this.#writer;
  }

  async #writeGroup(): Promise<void> {
    const writer = await this.#open();
    const rows = this.#rows;
    if (rows.length === 0) return;
    this.#rows = [];
    await writer.write({
      rowGroupSize: rows.length,
      columnData: this.#columns.map((name) => ({ name, data: rows.map((row) => row[name]) })),
    });
  }
}

/** Names of the schema's top-level columns, in order (walking past nested children). */
function topLevelColumns(schema: readonly SchemaElement[]): string[] {
  const names: string[] = [];
  let i = 1;
  const skip = (index: number): number => {
    const children = schema[index]?.num_children ?? 0;
    let next = index + 1;
    for (let c = 0; c < children; c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const element = schema[i];
    if (!element) break;
    names.push(element.name);
    i = skip(i);
  }
  return names;
}
