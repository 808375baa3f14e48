// The dataset card (README.md) of a Hugging Face dataset folder: a YAML header that declares
// the default config and one data file pattern per split (what datasets.load_dataset reads),
// and a body that says what the run was: models, personas and their feature coverage, noise,
// counts, filters, licence. Everything comes from the export's own tally.
import { stringify } from "yaml";
import type { ExportTallySnapshot } from "./tally.js";
import type { Variant } from "./variant.js";

export const DEFAULT_LICENSE = "other";

export interface CardInput {
  tally: ExportTallySnapshot;
  /** Split name → data file pattern relative to the folder (data/train-*). */
  dataFiles: ReadonlyArray<{ split: string; path: string }>;
  license: string;
  variant: Variant;
  seed: number;
  splitBy?: string | undefined;
  duplicates: number;
  filtered: Record<string, number>;
  skipped: number;
  /** Splits that received no conversation and are not in the dataset. */
  omitted?: readonly string[];
  /** The folder the conversations came from (its base name only: no local paths in a card). */
  source: string;
}

/** HF's size_categories bucket for a row count. */
export function sizeCategory(rows: number): string {
  const buckets: Array<[number, string]> = [
    [1_000, "n<1K"],
    [10_000, "1K<n<10K"],
    [100_000, "10K<n<100K"],
    [1_000_000, "100K<n<1M"],
    [10_000_000, "1M<n<10M"],
    [100_000_000, "10M<n<100M"],
  ];
  for (const [limit, name] of buckets) if (rows < limit) return name;
  return "100M<n<1B";
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
const pct = (part: number, whole: number): string =>
  whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "n/a";

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const countRows = (counts: Record<string, number>, total: number): string[][] =>
  Object.entries(counts).map(([name, n]) => [name, String(n), pct(n, total)]);

export function renderDatasetCard(input: CardInput): string {
  const { tally } = input;
  const total = tally.conversations;
  const header = {
    license: input.license,
    pretty_name: `convosim conversations (${input.source})`,
    task_categories: ["text-generation"],
    tags: ["conversational", "synthetic", "convosim"],
    size_categories: [sizeCategory(total)],
    configs: [
      {
        config_name: "default",
        data_files: input.dataFiles.map(({ split, path }) => ({ split, path })),
      },
    ],
  };
  const features = Object.entries(tally.features).map(([key, coverage]) => {
    const top = Object.entries(coverage.values)
      .slice(0, 5)
      .map(([value, n]) => `${value} (${n})`)
      .join(", ");
    return [key, pct(coverage.present, total), top];
  });
  const filtered = Object.entries(input.filtered).filter(([, n]) => n > 0);
  const avgTurns = total > 0 ? (tally.turns.total / total).toFixed(2) : "0";
  const sections = [
    `# convosim conversations (${input.source})`,
    `Multi-turn conversations between persona-driven simulated users and assistant models, generated with convosim and exported from the output folder \`${input.source}\`. One row per conversation: \`messages\` holds the turns (role, content, was_noised, clean_content), \`persona_features\` one field per persona feature, and the other columns the run's metadata (models, stop reason, turns, tokens, cost).`,
    "## Splits",
    input.splitBy
      ? `Split by ${input.splitBy} with seed ${input.seed}: every conversation of a persona is in the same split, so no persona appears in two splits.`
      : "A single split.",
    table(
      ["split", "conversations", "personas"],
      Object.entries(tally.splits).map(([name, part]) => [
        name,
        String(part.conversations),
        String(part.personas),
      ]),
    ),
    ...(input.omitted && input.omitted.length > 0
      ? [`Left out of the dataset because no conversation fell in them: ${input.omitted.join(", ")}.`]
      : []),
    "## Models",
    "Assistant models (the replies learned from):",
    table(["model", "conversations", "share"], countRows(tally.assistant_models, total)),
    "Simulated-user models:",
    table(["model", "conversations", "share"], countRows(tally.user_models, total)),
    "## Personas",
    `${tally.personas} personas. Feature coverage (share of conversations whose persona has the feature; most frequent values):`,
    features.length > 0
      ? table(["feature", "coverage", "values"], features)
      : "No persona features recorded.",
    "## Noise",
    `Text variant: **${input.variant}** (${input.variant === "noisy" ? "user messages as the assistant received them, after the distractor" : "the clean user text before the distractor; assistant replies are unchanged, they answered the noisy text"}).`,
    `Conversations with noise (metadata.distractor_applied): ${tally.distractor_applied} of ${total} (${pct(tally.distractor_applied, total)}). Noised user messages: ${tally.noised_user_messages} of ${tally.messages.user} (${pct(tally.noised_user_messages, tally.messages.user)}).`,
    ...(Object.keys(tally.noise_layers).length > 0
      ? [
          "Noise layers of the noised user messages:",
          table(["layer", "messages", "share"], countRows(tally.noise_layers, tally.noised_user_messages)),
        ]
      : []),
    "## Counts",
    table(
      ["what", "value"],
      [
        ["conversations", String(total)],
        ["user messages", String(tally.messages.user)],
        ["assistant messages", String(tally.messages.assistant)],
        ["turns (avg / min / max)", `${avgTurns} / ${tally.turns.min} / ${tally.turns.max}`],
        ["exact duplicates dropped", String(input.duplicates)],
        ...filtered.map(([why, n]) => [`filtered out (${why})`, String(n)]),
        ...(input.skipped > 0 ? [["skipped (no assistant reply)", String(input.skipped)]] : []),
      ],
    ),
    "Stop reasons:",
    table(["stop reason", "conversations", "share"], countRows(tally.stop_reasons, total)),
    "## Licence",
    input.license === DEFAULT_LICENSE
      ? 'Licence "other": not chosen at export time. Generated conversations are subject to the terms of the models that produced them; set `--license` (e.g. `apache-2.0`, `cc-by-4.0`) once you know which applies.'
      : `Licence: \`${input.license}\`. Check that it is compatible with the terms of the models that produced the conversations.`,
    "## Loading",
    '```python\nfrom datasets import load_dataset\nds = load_dataset("path/to/this/folder")\n```',
  ];
  return `---\n${stringify(header)}---\n\n${sections.join("\n\n")}\n`;
}
