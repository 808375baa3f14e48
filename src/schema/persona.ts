// A persona as the reference's batch API takes it: features plus the queries to ask.
import { z } from "zod";
import type { ScenarioRecord, UsageRecord } from "./interaction.js";

/** A list of facts, written as one string, a list, or a map (keys become "key: value"). */
const FactList = z
  .union([z.string().min(1), z.array(z.string().min(1)), z.record(z.string(), z.unknown())])
  .transform((value): string[] => {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value;
    return Object.entries(value).map(
      ([key, fact]) => `${key}: ${typeof fact === "string" ? fact : JSON.stringify(fact)}`,
    );
  });

/**
 * What the simulated user is after and knows (docs/simulated-user.md). Every key optional;
 * without a scenario the query alone is the goal.
 */
export const ScenarioInput = z.strictObject({
  goal: z.string().min(1).optional(),
  expected_outcome: z.string().min(1).optional(),
  /** Facts the user has and reveals only when they matter or are asked for. */
  known: FactList.optional(),
  /** Things the user does not know: asked, it says so instead of inventing. */
  unknown: FactList.optional(),
  constraints: FactList.optional(),
});
export type ScenarioInput = z.output<typeof ScenarioInput>;

/** persona_id and query_id alike: text, or a number (kept as its decimal text, e.g. 42 → "42"). */
const Id = z.union([z.string().min(1), z.number()]).transform(String);

export const QueryInput = z.strictObject({
  query_id: Id.optional(),
  original_query: z.string().min(1, "original_query must not be empty"),
  /** A query already adapted to the persona; used as the opening message when style transfer is off. */
  adapted_query: z.string().min(1).optional(),
  scenario: ScenarioInput.optional(),
});
export type QueryInput = z.infer<typeof QueryInput>;

const PersonaFeatures = z.record(z.string(), z.unknown());

/** As read from a file: `features` is accepted as a synonym of `persona_features`. */
export const PersonaInput = z
  .strictObject({
    persona_id: Id,
    persona_features: PersonaFeatures.optional(),
    features: PersonaFeatures.optional(),
    system_prompt: z.string().optional(),
    queries: z.array(QueryInput).default([]),
  })
  .transform(({ features, persona_features, ...rest }) => ({
    ...rest,
    persona_features: persona_features ?? features ?? {},
  }));
export type PersonaInput = z.input<typeof PersonaInput>;
export type Persona = z.output<typeof PersonaInput>;

/** One conversation to run: a persona, one query, and which sample of that query this is. */
export interface Task {
  /** Stable id from (persona, query, sample index): the same task keeps its id across runs. */
  readonly interaction_id: string;
  readonly persona_id: string;
  readonly persona_features: Record<string, unknown>;
  readonly system_prompt?: string;
  readonly query_id: string;
  readonly original_query: string;
  /** The opening message before noise: the styled or adapted query, else original_query. */
  readonly initial_query: string;
  readonly sample_index: number;
  /** Seed for everything random in this conversation (model choice, turns, noise). */
  readonly seed: number;
  /** The scenario given with the query, or written by the scenario generator. */
  readonly scenario?: ScenarioRecord;
  /** Turns wanted; drawn from [min_turns, max_turns] when not given. */
  readonly target_turns?: number;
  /** Set when the query came from the query generator in a supplement round. */
  readonly supplement_round?: number;
  /** Calls already paid for this task before the conversation (style transfer). */
  readonly prior_usage?: readonly UsageRecord[];
  /** A step before the conversation failed; the conversation becomes a failure record. */
  readonly preflight_error?: { readonly reason: string; readonly error_kind: string };
}
