// Persona feature coverage: for each feature key, the share of personas that have a value
// and the most common values. Counted once per persona (a persona with three queries is one
// persona), so the only state that grows with the run is the set of persona ids seen.
import type { Interaction } from "../schema/interaction.js";
import { CappedCounter, type Counts, round } from "./stats-tally.js";

export interface FeatureCoverage {
  /** Personas with a non-empty value for this key. */
  personas: number;
  /** personas / all personas. */
  share: number;
  /** Distinct values seen (a lower bound once more than VALUE_CAP were seen). */
  distinct: number;
  /** The TOP_VALUES most common values (personas per value); the rest under "(other)". A list
   *  feature counts each element, so values may sum to more than `personas`. */
  values: Counts;
}

export interface PersonaStats {
  personas: number;
  features: Record<string, FeatureCoverage>;
  /** Feature keys beyond KEY_CAP, not broken down. */
  other_keys: number;
}

const TOP_VALUES = 20;
const VALUE_CAP = 1_000;
const KEY_CAP = 200;
const MAX_VALUE_LENGTH = 80;

const clip = (text: string) =>
  text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;

/** The values a feature holds, as short strings; empty when it holds nothing. */
export function featureValues(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return value.trim() === "" ? [] : [clip(value.trim())];
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return [String(value)];
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => featureValues(item)))];
  if (typeof value === "object") return Object.keys(value).length === 0 ? [] : [clip(JSON.stringify(value))];
  return [];
}

export class PersonaTally {
  readonly #seen = new Set<string>();
  readonly #keys = new Map<string, { personas: number; values: CappedCounter }>();
  readonly #otherKeys = new Set<string>();

  add(interaction: Interaction): void {
    if (this.#seen.has(interaction.persona_id)) return;
    this.#seen.add(interaction.persona_id);
    for (const [key, raw] of Object.entries(interaction.persona_features ?? {})) {
      const values = featureValues(raw);
      if (values.length === 0) continue;
      let entry = this.#keys.get(key);
      if (!entry) {
        if (this.#keys.size >= KEY_CAP) {
          if (this.#otherKeys.size < KEY_CAP) this.#otherKeys.add(key);
          continue;
        }
        entry = { personas: 0, values: new CappedCounter(VALUE_CAP) };
        this.#keys.set(key, entry);
      }
      entry.personas++;
      for (const value of values) entry.values.add(value);
    }
  }

  summary(): PersonaStats {
    const personas = this.#seen.size;
    const features: Record<string, FeatureCoverage> = {};
    const keys = [...this.#keys.entries()].sort(
      (a, b) => b[1].personas - a[1].personas || a[0].localeCompare(b[0]),
    );
    for (const [key, entry] of keys) {
      const { values, distinct } = entry.values.top(TOP_VALUES);
      features[key] = {
        personas: entry.personas,
        share: personas > 0 ? round(entry.personas / personas, 4) : 0,
        distinct,
        values,
      };
    }
    return { personas, features, other_keys: this.#otherKeys.size };
  }
}
