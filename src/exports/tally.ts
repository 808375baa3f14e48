// What an export wrote, counted as it streams: the stderr summary line and the dataset card
// are built from this. Everything here is a counter or a capped map, except the persona ids,
// which grow with personas (not with conversations) so a split can report how many it holds.
import type { Interaction } from "../schema/interaction.js";
import type { ExportMessage } from "./variant.js";

/** Distinct values kept per persona feature; further values are counted under OTHER. */
const VALUE_CAP = 100;
export const OTHER = "(other)";

export interface SplitCount {
  conversations: number;
  personas: number;
}

export interface FeatureCoverage {
  /** Exported conversations whose persona has this feature. */
  present: number;
  /** Value → conversations (up to VALUE_CAP values, the rest under "(other)"). */
  values: Record<string, number>;
}

export interface ExportTallySnapshot {
  conversations: number;
  personas: number;
  splits: Record<string, SplitCount>;
  messages: { user: number; assistant: number };
  turns: { total: number; min: number; max: number };
  stop_reasons: Record<string, number>;
  assistant_models: Record<string, number>;
  user_models: Record<string, number>;
  /** Conversations whose metadata.distractor_applied is true. */
  distractor_applied: number;
  noised_user_messages: number;
  /** Noised user messages by the noise layer their record names (metadata.noise.layer). */
  noise_layers: Record<string, number>;
  features: Record<string, FeatureCoverage>;
}

const bump = (counts: Map<string, number>, key: string, by = 1): void => {
  counts.set(key, (counts.get(key) ?? 0) + by);
};

const sortedRecord = (counts: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

const modelName = (model: { provider?: string; model?: string } | undefined): string =>
  model ? `${model.provider ?? "?"}/${model.model ?? "?"}` : "unknown";

export class ExportTally {
  #conversations = 0;
  readonly #personas = new Set<string>();
  readonly #splits = new Map<string, { conversations: number; personas: Set<string> }>();
  #user = 0;
  #assistant = 0;
  #turns = 0;
  #minTurns = Number.POSITIVE_INFINITY;
  #maxTurns = 0;
  readonly #stops = new Map<string, number>();
  readonly #assistants = new Map<string, number>();
  readonly #users = new Map<string, number>();
  #distractor = 0;
  #noised = 0;
  readonly #layers = new Map<string, number>();
  readonly #features = new Map<string, { present: number; values: Map<string, number> }>();

  /** Counts one written conversation (its messages as exported) in `split`. */
  add(interaction: Interaction, messages: readonly ExportMessage[], split: string): void {
    this.#conversations += 1;
    this.#personas.add(interaction.persona_id);
    let part = this.#splits.get(split);
    if (!part) {
      part = { conversations: 0, personas: new Set() };
      this.#splits.set(split, part);
    }
    part.conversations += 1;
    part.personas.add(interaction.persona_id);
    for (const message of messages) {
      if (message.role === "user") {
        this.#user += 1;
        if (message.was_noised) this.#noised += 1;
      } else this.#assistant += 1;
    }
    for (const message of interaction.messages) {
      if (message.metadata?.was_noised !== true) continue;
      const noise = message.metadata.noise as { layer?: unknown } | undefined;
      const layer = typeof noise?.layer === "string" ? noise.layer : "unknown";
      // Layer names come from a fixed catalogue; the cap guards against a custom hook's free text.
      bump(this.#layers, this.#layers.has(layer) || this.#layers.size < VALUE_CAP ? layer : OTHER);
    }
    const turns = Number.isFinite(interaction.num_turns) ? interaction.num_turns : 0;
    this.#turns += turns;
    this.#minTurns = Math.min(this.#minTurns, turns);
    this.#maxTurns = Math.max(this.#maxTurns, turns);
    const meta = interaction.metadata;
    bump(this.#stops, String(meta?.stop_reason ?? "unknown"));
    bump(this.#assistants, modelName(meta?.assistant_model));
    bump(this.#users, modelName(meta?.user_model));
    if (meta?.distractor_applied === true) this.#distractor += 1;
    for (const [key, value] of Object.entries(interaction.persona_features ?? {})) {
      if (value === undefined || value === null) continue;
      let feature = this.#features.get(key);
      if (!feature) {
        feature = { present: 0, values: new Map() };
        this.#features.set(key, feature);
      }
      feature.present += 1;
      const text = typeof value === "string" ? value : JSON.stringify(value);
      bump(feature.values, feature.values.has(text) || feature.values.size < VALUE_CAP ? text : OTHER);
    }
  }

  /** Makes sure a split appears (with zero counts) even when nothing landed in it. */
  declareSplit(split: string): void {
    if (!this.#splits.has(split)) this.#splits.set(split, { conversations: 0, personas: new Set() });
  }

  snapshot(): ExportTallySnapshot {
    return {
      conversations: this.#conversations,
      personas: this.#personas.size,
      splits: Object.fromEntries(
        [...this.#splits].map(([name, part]) => [
          name,
          { conversations: part.conversations, personas: part.personas.size },
        ]),
      ),
      messages: { user: this.#user, assistant: this.#assistant },
      turns: {
        total: this.#turns,
        min: this.#conversations > 0 ? this.#minTurns : 0,
        max: this.#maxTurns,
      },
      stop_reasons: sortedRecord(this.#stops),
      assistant_models: sortedRecord(this.#assistants),
      user_models: sortedRecord(this.#users),
      distractor_applied: this.#distractor,
      noised_user_messages: this.#noised,
      noise_layers: sortedRecord(this.#layers),
      features: Object.fromEntries(
        [...this.#features]
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([key, feature]) => [key, { present: feature.present, values: sortedRecord(feature.values) }]),
      ),
    };
  }
}
