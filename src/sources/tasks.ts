// Personas → tasks: one task per (query × sample), each with an id and a seed that depend
// only on what the task is, never on when or in which order it was read. That is what lets
// a re-run skip the conversations it already has, and reproduce the others exactly.
import { createHash } from "node:crypto";
import { concatMap, type OperatorFunction } from "rxjs";
import { InputError } from "../config/errors.js";
import type { Persona, QueryInput, Task } from "../schema/persona.js";

export interface ToTasksOptions {
  /** The run's seed; every task's seed is derived from it and the task's id. */
  seed: number;
  /** Conversations per query (default 1); each sample has its own id and seed. */
  samplesPerQuery?: number;
  /** Use at most this many queries per persona (the first N); see quotaShortfall for fewer. */
  queriesPerPersona?: number;
  /** Marks tasks whose queries came from a supplement round. */
  supplementRound?: number;
}

const MAX_SAFE_ID = 64;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** A persona id made safe for file names: [A-Za-z0-9._-] kept, anything else → `_`, ≤ 64 chars. */
export function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, MAX_SAFE_ID);
}

/**
 * The query's own id, else `q_` + 12 hex of sha256(original_query): derived from the text so
 * that reordering a persona's queries does not renumber them.
 */
export function derivedQueryId(originalQuery: string): string {
  return `q_${sha256Hex(originalQuery).slice(0, 12)}`;
}

/** Query ids for a persona's queries, in order. Identical unnamed queries get `_2`, `_3`, … */
export function queryIds(queries: readonly QueryInput[]): string[] {
  const counts = new Map<string, number>();
  return queries.map((query) => {
    if (query.query_id !== undefined) return query.query_id;
    const base = derivedQueryId(query.original_query);
    const count = (counts.get(base) ?? 0) + 1;
    counts.set(base, count);
    return count === 1 ? base : `${base}_${count}`;
  });
}

/** The first query whose explicit query_id repeats an earlier one, if any. */
export function duplicateQueryId(
  queries: readonly QueryInput[],
): { index: number; firstIndex: number; id: string } | undefined {
  const firstSeen = new Map<string, number>();
  for (const [index, query] of queries.entries()) {
    if (query.query_id === undefined) continue;
    const first = firstSeen.get(query.query_id);
    if (first !== undefined) return { index, firstIndex: first, id: query.query_id };
    firstSeen.set(query.query_id, index);
  }
  return undefined;
}

/**
 * `interaction_<safe persona id>_<12 hex of sha256(persona_id \0 query_id \0 original_query \0 sample_index)>`.
 * The hash uses the raw persona id, so two ids that sanitise alike still get distinct ids.
 */
export function interactionId(
  personaId: string,
  queryId: string,
  originalQuery: string,
  sampleIndex: number,
): string {
  const digest = sha256Hex([personaId, queryId, originalQuery, String(sampleIndex)].join("\0"));
  return `interaction_${safeId(personaId)}_${digest.slice(0, 12)}`;
}

/** A task's seed: an unsigned 32-bit integer from sha256(global seed \0 interaction_id). */
export function taskSeed(globalSeed: number, id: string): number {
  return createHash("sha256").update(`${globalSeed}\0${id}`, "utf8").digest().readUInt32BE(0);
}

/**
 * How many interactions a persona is short of its quota: queriesPerPersona minus the queries
 * it brings (never negative). Without a quota the persona's own queries are the quota, so 0.
 * The supplement logic asks the query generator for this many new queries.
 */
export function quotaShortfall(persona: Pick<Persona, "queries">, queriesPerPersona?: number): number {
  if (queriesPerPersona === undefined) return 0;
  return Math.max(0, queriesPerPersona - persona.queries.length);
}

function checkCount(value: number | undefined, field: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new InputError({ field, message: `must be a whole number of at least 1 (got ${value})` });
  }
}

/** The tasks for one persona, in query order, samples of a query together. */
export function personaTasks(persona: Persona, options: ToTasksOptions): Task[] {
  const duplicate = duplicateQueryId(persona.queries);
  if (duplicate) {
    throw new InputError({
      field: `queries[${duplicate.index}].query_id`,
      message: `persona "${persona.persona_id}": duplicate query_id "${duplicate.id}" (also queries[${duplicate.firstIndex}])`,
    });
  }
  const samples = options.samplesPerQuery ?? 1;
  const queries =
    options.queriesPerPersona === undefined
      ? persona.queries
      : persona.queries.slice(0, options.queriesPerPersona);
  const ids = queryIds(queries);
  const tasks: Task[] = [];
  queries.forEach((query, position) => {
    const queryId = ids[position]!;
    for (let sample = 0; sample < samples; sample++) {
      const id = interactionId(persona.persona_id, queryId, query.original_query, sample);
      tasks.push({
        interaction_id: id,
        persona_id: persona.persona_id,
        persona_features: persona.persona_features,
        ...(persona.system_prompt !== undefined && { system_prompt: persona.system_prompt }),
        query_id: queryId,
        original_query: query.original_query,
        initial_query: query.adapted_query ?? query.original_query,
        sample_index: sample,
        seed: taskSeed(options.seed, id),
        ...(query.scenario !== undefined && { scenario: { ...query.scenario, source: "input" as const } }),
        ...(options.supplementRound !== undefined && { supplement_round: options.supplementRound }),
      });
    }
  });
  return tasks;
}

/** One task per query × sample, for every persona that flows through. */
export function toTasks(options: ToTasksOptions): OperatorFunction<Persona, Task> {
  if (!Number.isInteger(options.seed)) {
    throw new InputError({ field: "seed", message: `must be a whole number (got ${options.seed})` });
  }
  checkCount(options.samplesPerQuery, "samples_per_query");
  checkCount(options.queriesPerPersona, "queries_per_persona");
  return concatMap((persona: Persona) => personaTasks(persona, options));
}
