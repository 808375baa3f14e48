// The training collector hook: the reference attaches a collector to storage so training
// samples are produced as interactions are saved. Here samples are appended to an NDJSON file
// as they arrive, so a crash loses none of them (full exports and splits are built later).
import type { OperatorFunction } from "rxjs";
import type { ConversationResult, Interaction, Message } from "../schema/interaction.js";
import { FileAppender } from "./append.js";
import { ndjsonLine } from "./ndjson-sink.js";
import { type PersistOptions, persistEach } from "./persist.js";

export interface TrainingCollector {
  add(interaction: Interaction): void | Promise<void>;
  /** Called by the storage or sink the collector is handed to, when that one closes. */
  close?(): Promise<void>;
}

export interface NoisyQuery {
  clean_text: string;
  noisy_text: string;
  noise_type: string | null;
  applied_strategies: string[];
}

export interface TrainingSample {
  sample_id: string;
  persona_id: string;
  persona_features: Record<string, unknown>;
  original_query: string;
  initial_query: string;
  /** The user's messages in order, as the assistant received them. */
  prompt_trajectory: string[];
  full_conversation: Array<{ role: Message["role"]; content: string }>;
  num_turns: number;
  noisy_initial_queries: NoisyQuery[];
  metadata: {
    interaction_id: string;
    distractor_applied: boolean;
    assistant_model: { provider: string; model: string };
  };
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

const asStrings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];

/**
 * The noise recorded on the opening message. Accepts the shapes a noise layer may write:
 * what operators/converse.ts stores (`was_noised`, `clean_content`, and the hook's result as
 * `noise = { original_text, noisy_text, layer, layers, applied_strategies }`, where a missing
 * noisy_text means the message content), `metadata.noise = { clean_text, noisy_text, … }`, the
 * same keys directly on the message metadata, or the reference's `noisy_versions` list. Empty
 * when nothing was noised (a record whose noisy text equals the clean text is not noise).
 */
export function noisyInitialQueries(interaction: Interaction): NoisyQuery[] {
  const first = interaction.messages.find((message) => message.role === "user");
  const meta = asRecord(first?.metadata) ?? {};
  const candidates: Record<string, unknown>[] = [];
  const noise = asRecord(meta.noise);
  if (noise) candidates.push(noise);
  else if (typeof meta.noisy_text === "string") candidates.push(meta);
  const clean =
    typeof meta.clean_text === "string"
      ? meta.clean_text
      : typeof meta.clean_content === "string"
        ? meta.clean_content
        : interaction.initial_query;
  // converse.ts keeps the noisy text as the message itself.
  const shown = meta.was_noised === true ? first?.content : undefined;
  for (const version of Array.isArray(meta.noisy_versions) ? meta.noisy_versions : []) {
    const record = asRecord(version);
    if (record) candidates.push({ clean_text: clean, ...record });
  }
  const result: NoisyQuery[] = [];
  for (const candidate of candidates) {
    const noisy = candidate.noisy_text ?? shown;
    const cleanText =
      typeof candidate.clean_text === "string"
        ? candidate.clean_text
        : typeof candidate.original_text === "string"
          ? candidate.original_text
          : clean;
    if (typeof noisy !== "string" || noisy === cleanText) continue;
    const layers = asStrings(candidate.layers);
    const type = candidate.noise_type ?? candidate.layer ?? layers[0];
    result.push({
      clean_text: cleanText,
      noisy_text: noisy,
      noise_type: typeof type === "string" ? type : null,
      applied_strategies: asStrings(candidate.applied_strategies ?? candidate.strategies),
    });
  }
  return result;
}

export function toTrainingSample(interaction: Interaction): TrainingSample {
  const metadata = interaction.metadata;
  return {
    sample_id: `sample_${interaction.interaction_id}`,
    persona_id: interaction.persona_id,
    persona_features: interaction.persona_features,
    original_query: interaction.original_query,
    initial_query: interaction.initial_query,
    prompt_trajectory: interaction.messages.filter((m) => m.role === "user").map((m) => m.content),
    full_conversation: interaction.messages.map((m) => ({ role: m.role, content: m.content })),
    num_turns: interaction.num_turns,
    noisy_initial_queries: noisyInitialQueries(interaction),
    metadata: {
      interaction_id: interaction.interaction_id,
      distractor_applied: metadata?.distractor_applied ?? false,
      assistant_model: metadata?.assistant_model ?? { provider: "", model: "" },
    },
  };
}

/** Appends one training sample per interaction to an NDJSON file (created if missing). */
export class TrainingDataCollector implements TrainingCollector {
  readonly path: string;
  readonly #file: FileAppender;
  #count = 0;

  constructor(path: string, options: { fsync?: boolean } = {}) {
    this.path = path;
    this.#file = new FileAppender(path, options);
  }

  /** Samples written by this collector (not counting earlier runs' lines in the file). */
  get count(): number {
    return this.#count;
  }

  async add(interaction: Interaction): Promise<void> {
    await this.#file.append(ndjsonLine(toTrainingSample(interaction)));
    this.#count += 1;
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}

/**
 * Hands every finished interaction to `collector` and re-emits the result once add() settled;
 * failures pass through untouched. Closes the collector when the pipeline ends.
 */
export function trainingCollectorSink(
  collector: TrainingCollector,
  options: PersistOptions = {},
): OperatorFunction<ConversationResult, ConversationResult> {
  return persistEach<ConversationResult>(
    () => ({
      write: async (result) => {
        if (result.kind === "interaction") await collector.add(result.interaction);
      },
      close: async () => {
        await collector.close?.();
      },
    }),
    // The collector decides its own ordering; one add at a time keeps samples in arrival order.
    { concurrency: options.concurrency ?? 1 },
  );
}
