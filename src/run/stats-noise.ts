// Noise statistics: which layers and strategies touched the user messages, how often, and
// how far the noisy text is from the clean one (character error rate). Reads what
// operators/converse.ts records on a user message: metadata.was_noised, clean_content and
// noise (the NoiseResult shape of schema/noise.ts: layer, layers, applied_strategies, edits,
// channel, semantic). Every field is read defensively: older runs and custom noise hooks may
// record less.
import type { Interaction, Message } from "../schema/interaction.js";
import { changedMiddle } from "../shared/common-ends.js";
import { CappedCounter, type Counts, type Distribution, RateTally, round } from "./stats-tally.js";

export interface NoiseStats {
  user_messages: number;
  noised_messages: number;
  /** noised_messages / user_messages (0 when there are none). */
  noised_share: number;
  /** Interactions with metadata.distractor_applied (at least one noised user message). */
  interactions_with_noise: number;
  /** metadata.distractor_type of the interactions that record one: rule_based, semantic. */
  distractor_types: Counts;
  /** The reference's layer of the main change: surface_noise, incomplete_information, … */
  layers: Counts;
  /** Every layer that changed something, by NOISE.md name (L1_spelling, …). */
  layer_names: Counts;
  strategies: Counts;
  channels: Counts;
  /** Character edits recorded over all noised messages. */
  edits: number;
  semantic_rewrites: number;
  /** Semantic rewrites whose verifier verdict passed. */
  semantic_verified: number;
  /** Edit distance(clean, noisy) / length(clean), over noised messages that kept clean_content. */
  character_error_rate: Distribution;
}

// Names come from a fixed catalogue in practice; the cap only guards against a custom hook
// that writes free text there.
const NAME_CAP = 200;

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : [];

/** Cells beyond which the exact distance is not computed (a 2,000 × 2,000 core). */
const MAX_CELLS = 4_000_000;

/**
 * Levenshtein distance. Noise changes little, so the common prefix and suffix are trimmed
 * first and the quadratic part runs on the changed middle only. Past MAX_CELLS the upper
 * bound max(|a|, |b|) of the middles is returned instead.
 */
export function editDistance(a: string, b: string): number {
  const { start, endA, endB } = changedMiddle(a, b);
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length === 0 || y.length === 0) return Math.max(x.length, y.length);
  if (x.length * y.length > MAX_CELLS) return Math.max(x.length, y.length);
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  let current = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    current[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[y.length] ?? 0;
}

/** Character error rate of a noisy text against its clean text, capped at 1. */
export function characterErrorRate(clean: string, noisy: string): number {
  if (clean === noisy) return 0;
  return Math.min(1, editDistance(clean, noisy) / Math.max(1, clean.length));
}

export class NoiseTally {
  #userMessages = 0;
  #noised = 0;
  #interactions = 0;
  #edits = 0;
  #semantic = 0;
  #verified = 0;
  readonly #types = new CappedCounter(NAME_CAP);
  readonly #layers = new CappedCounter(NAME_CAP);
  readonly #layerNames = new CappedCounter(NAME_CAP);
  readonly #strategies = new CappedCounter(NAME_CAP);
  readonly #channels = new CappedCounter(NAME_CAP);
  readonly #cer = new RateTally();

  add(interaction: Interaction): void {
    if (interaction.metadata.distractor_applied === true) this.#interactions++;
    const type = interaction.metadata.distractor_type;
    if (typeof type === "string" && type !== "") this.#types.add(type);
    for (const message of interaction.messages) {
      if (message.role === "user") this.#addUserMessage(message);
    }
  }

  #addUserMessage(message: Message): void {
    this.#userMessages++;
    const metadata = message.metadata ?? {};
    if (metadata.was_noised !== true) return;
    this.#noised++;
    const noise = (metadata.noise ?? {}) as Record<string, unknown>;
    if (typeof noise.layer === "string" && noise.layer !== "") this.#layers.add(noise.layer);
    for (const name of strings(noise.layers)) this.#layerNames.add(name);
    const strategies = new Set(strings(noise.applied_strategies));
    const semantic = noise.semantic as { strategy?: unknown; verdict?: { passed?: unknown } } | undefined;
    if (semantic && typeof semantic === "object") {
      this.#semantic++;
      if (semantic.verdict?.passed === true) this.#verified++;
      if (typeof semantic.strategy === "string") strategies.add(semantic.strategy);
    }
    for (const strategy of strategies) this.#strategies.add(strategy);
    if (typeof noise.channel === "string") this.#channels.add(noise.channel);
    if (Array.isArray(noise.edits)) this.#edits += noise.edits.length;
    if (typeof metadata.clean_content === "string")
      this.#cer.add(characterErrorRate(metadata.clean_content, message.content));
  }

  summary(): NoiseStats {
    const all = (counter: CappedCounter) => counter.top(NAME_CAP).values;
    return {
      user_messages: this.#userMessages,
      noised_messages: this.#noised,
      noised_share: this.#userMessages > 0 ? round(this.#noised / this.#userMessages, 4) : 0,
      interactions_with_noise: this.#interactions,
      distractor_types: all(this.#types),
      layers: all(this.#layers),
      layer_names: all(this.#layerNames),
      strategies: all(this.#strategies),
      channels: all(this.#channels),
      edits: this.#edits,
      semantic_rewrites: this.#semantic,
      semantic_verified: this.#verified,
      character_error_rate: this.#cer.summary(),
    };
  }
}
