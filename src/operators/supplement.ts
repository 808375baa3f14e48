// Supplement rounds: personas that end a round short of their quota (failed
// conversations, or fewer queries than queries_per_persona) get new queries from the
// query generator and run again, up to max_supplement_rounds. Only personas still owed
// work are held in memory, so a long stream of personas stays bounded.
import {
  asyncScheduler,
  catchError,
  concat,
  defer,
  EMPTY,
  from,
  map,
  mergeMap,
  type Observable,
  of,
  type SchedulerLike,
} from "rxjs";
import type { PriceTable } from "../conversation/pricing.js";
import type { QueryGenerator } from "../conversation/query-generator.js";
import { seedFrom } from "../conversation/random.js";
import type { Admission } from "../limits/types.js";
import type { ChatModel } from "../providers/types.js";
import type { ConversationResult, UsageRecord } from "../schema/interaction.js";
import type { Persona } from "../schema/persona.js";
import {
  type CallRetryPolicy,
  cacheOption,
  callEvents,
  callModel,
  usageRecord,
  withAdmission,
} from "./call-model.js";
import type { ConversationCache, ConversationEvents } from "./converse.js";
import { isStopped, StopRequested } from "./stop.js";

interface Account {
  persona: Persona;
  quota: number;
  outstanding: number;
  succeeded: number;
}

export interface Shortfall {
  persona: Persona;
  needed: number;
}

/** Counts, per persona, the interactions owed and those delivered. */
export class QuotaTracker {
  private readonly accounts = new Map<string, Account>();
  private readonly short: Shortfall[] = [];

  /** A persona enters with `tasks` conversations scheduled against a quota of `quota`. */
  register(persona: Persona, tasks: number, quota: number): void {
    const account = { persona, quota, outstanding: tasks, succeeded: 0 };
    this.accounts.set(persona.persona_id, account);
    this.settle(account);
  }

  /** A task finished earlier (resume) counts as delivered. */
  alreadyDone(personaId: string): void {
    this.record(personaId, true);
  }

  record(personaId: string, success: boolean): void {
    const account = this.accounts.get(personaId);
    if (!account) return;
    account.outstanding--;
    if (success) account.succeeded++;
    this.settle(account);
  }

  /** Personas whose work is all finished and who are still short; taking them clears the list. */
  takeShortfalls(): Shortfall[] {
    return this.short.splice(0, this.short.length);
  }

  private settle(account: Account): void {
    if (account.outstanding > 0) return;
    this.accounts.delete(account.persona.persona_id);
    const needed = account.quota - account.succeeded;
    if (needed > 0) this.short.push({ persona: account.persona, needed });
  }
}

export interface SupplementOptions {
  tracker: QuotaTracker;
  generator: QueryGenerator;
  maxRounds: number;
  concurrency: number;
  callRetry: CallRetryPolicy;
  prices: PriceTable;
  seed: number;
  /** Runs the personas of one round (with only their new queries) through the same pipeline. */
  run: (personas: Observable<Persona>, round: number) => Observable<ConversationResult>;
  scheduler?: SchedulerLike;
  events?: ConversationEvents & {
    onQueryGenerationFailed?(personaId: string, error: unknown): void;
    /** A query-generation call returned: its usage belongs to no conversation, so it is told apart. */
    onQueryGenerationCall?(personaId: string, round: number, record: UsageRecord): void;
  };
  cache?: ConversationCache;
  admissionFor?: (model: ChatModel) => Admission | undefined;
  /** The run's stop (a first Ctrl-C): no round or query-generation call starts after it. */
  stopSignal?: AbortSignal;
}

/** Runs rounds 1..maxRounds after the main pass; emits the results of the new conversations. */
export function supplementRounds(options: SupplementOptions, round = 1): Observable<ConversationResult> {
  return defer(() => {
    const shortfalls = options.tracker.takeShortfalls();
    if (shortfalls.length === 0 || round > options.maxRounds || isStopped(options.stopSignal)) return EMPTY;
    const scheduler = options.scheduler ?? asyncScheduler;
    const withNewQueries = from(shortfalls).pipe(
      mergeMap((shortfall) => newQueries(shortfall, round, options, scheduler), options.concurrency),
    );
    return concat(options.run(withNewQueries, round), supplementRounds(options, round + 1));
  });
}

function newQueries(
  { persona, needed }: Shortfall,
  round: number,
  options: SupplementOptions,
  scheduler: SchedulerLike,
): Observable<Persona> {
  const existing = persona.queries.map((q) => q.original_query);
  const seed = seedFrom(options.seed, persona.persona_id, "query_generation", round);
  const request = options.generator.buildRequest(persona.persona_features, needed, existing, seed);
  return callModel(options.generator.options.model, request, {
    retry: options.callRetry,
    scheduler,
    jitterSeed: seed,
    ...callEvents("query_generation", options.generator.options.model, options.events),
    ...cacheOption(options.cache, options.generator.options.model),
    ...withAdmission(options.admissionFor?.(options.generator.options.model)),
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
  }).pipe(
    map((result) => {
      const record = usageRecord("query_generation", result, options.prices);
      options.events?.onCall?.(record);
      options.events?.onQueryGenerationCall?.(persona.persona_id, round, record);
      const queries = options.generator.parse(result.text, needed, existing);
      // The persona comes back holding only its new queries; it re-enters the tracker with them.
      const next: Persona = { ...persona, queries: queries.map((original_query) => ({ original_query })) };
      options.tracker.register(
        { ...persona, queries: [...persona.queries, ...next.queries] },
        queries.length,
        needed,
      );
      return next;
    }),
    catchError((error: unknown) => {
      if (error instanceof StopRequested) return EMPTY; // stopped, not failed: no queries this run
      options.events?.onQueryGenerationFailed?.(persona.persona_id, error);
      return of<Persona>({ ...persona, queries: [] });
    }),
  );
}
