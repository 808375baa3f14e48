// The main job, assembled from the public pieces exactly as a user would compose them:
// personas ─► tasks ─► skip finished ─► styleTransfer ─► converseAll ─► supplement rounds ─► sinks.
import {
  concat,
  defer,
  EMPTY,
  filter,
  fromEvent,
  lastValueFrom,
  type Observable,
  type OperatorFunction,
  of,
  take,
  takeUntil,
  tap,
} from "rxjs";
import { openResponseCache, type ResponseCache } from "../cache/index.js";
import { InputError } from "../config/errors.js";
import type { NoiseHook } from "../conversation/noise-hook.js";
import type { EndpointDown } from "../limits/endpoint-health.js";
import type { DistractorStats } from "../noise/distractor-stats.js";
import { admit } from "../operators/admit.js";
import { converseAll, type RunEvents } from "../operators/converse-all.js";
import { neverStarted, type ProgressSnapshot, ProgressTracker } from "../operators/progress.js";
import { scenarioGeneration } from "../operators/scenario-generation.js";
import { styleTransfer } from "../operators/style-transfer.js";
import { QuotaTracker, supplementRounds } from "../operators/supplement.js";
import type { ConvosimConfig } from "../schema/config.js";
import type { ConversationResult, FailureRecord, UsageRecord } from "../schema/interaction.js";
import type { Persona, Task } from "../schema/persona.js";
import { FileAppender } from "../sinks/append.js";
import { filesSink } from "../sinks/files-sink.js";
import { outputPaths } from "../sinks/layout.js";
import { ndjsonLine, ndjsonSink } from "../sinks/ndjson-sink.js";
import { loadCompletedForRun } from "../sinks/quarantine.js";
import { type TrainingCollector, trainingCollectorSink } from "../sinks/training.js";
import { helperLedgerLine, interruptedLedgerLine, type UsageLedgerLine } from "../sinks/usage-ledger.js";
import { Backpressure } from "../sources/backpressure.js";
import type { PersonaInputSource } from "../sources/open.js";
import { readPersonas } from "../sources/read-personas.js";
import { personaTasks, toTasks } from "../sources/tasks.js";
import { Budget, type BudgetLimits, spentInOutput, withinBudget } from "./budget.js";
import { ReservationEstimator } from "./estimate-observed.js";
import { type FailureCount, FailureCounter } from "./failure-counts.js";
import { lockOutputFolder } from "./output-folder-lock.js";
import { preflightOutputFolder, preflightResponseCache } from "./preflight.js";
import { buildRuntime, type RuntimeOptions, runtimeDistractor } from "./runtime.js";
import { summaryTotals } from "./summary-totals.js";

export interface GenerateOptions extends RuntimeOptions {
  config: ConvosimConfig;
  /** Personas: an observable, or a file path / stream / async iterable of JSONL, JSON or YAML. */
  personas: Observable<Persona> | PersonaInputSource;
  /** Name of the persona source in error messages (e.g. "stdin"). */
  personasName?: string;
  /** A persona source (not an Observable) without a single persona is an InputError ("no personas in …"). */
  requirePersonas?: boolean;
  /** Output folder (the reference's layout); re-running on it resumes. */
  out?: string;
  /** Where NDJSON goes when there is no output folder (stdout when piping). */
  ndjson?: NodeJS.WritableStream | string;
  /** At most this many conversations (tasks) in this run. */
  limit?: number;
  /**
   * Aborting (a first Ctrl-C or SIGTERM) starts no new conversation or call and ends every wait
   * at once; conversations in flight end at their next model call, unsaved (a rerun redoes them,
   * replaying their calls from the cache), their spend written to DIR/usage.ndjson.
   */
  stopSignal?: AbortSignal;
  /** Aborting cancels in-flight calls too (a second Ctrl-C). Saved files and the ledger stay consistent. */
  abortSignal?: AbortSignal;
  /** Called once, when stopSignal fires, with the counts at that moment. */
  onStop?: (snapshot: ProgressSnapshot) => void;
  collector?: TrainingCollector;
  /** Noise on user messages; default: the distractor of config.distractor (when enabled). */
  noise?: NoiseHook;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /**
   * One-line notices about the output folder: unreadable interaction files moved to
   * DIR/quarantine/, a stale lock taken over. Default: written to stderr.
   */
  onNotice?: (line: string) => void;
  progressIntervalMs?: number;
  /** Called with every result after it is saved. */
  onResult?: (result: ConversationResult) => void;
  /**
   * The response cache: by default the shared on-disk cache (docs/cache.md) in `cacheDir` or the
   * default folder; `false` turns it off (`--no-cache`); or a cache of your own.
   */
  cache?: ResponseCache | false;
  cacheDir?: string;
  /** Stop admitting conversations before this would be passed (cumulative per output folder). */
  budget?: BudgetLimits;
}

export interface RunSummary {
  done: number;
  failed: number;
  /** Finished by an earlier run on the same output folder. */
  skipped: number;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
  elapsedMs: number;
  /** The first failures (up to 20), for the end-of-run message. */
  failures: FailureRecord[];
  /** Every failure of the run counted by error_kind and normalised reason, most frequent first. */
  failureCounts: FailureCount[];
  /** True when a stop or abort signal ended the run early. */
  interrupted: boolean;
  /** Conversations the signal ended before they finished: not saved, their spend in the ledger. */
  interruptedConversations: number;
  /** Replies replayed from the response cache (no model call made). */
  replayed: number;
  /** True when the budget stopped admitting conversations (the rest are not done). */
  budgetExhausted: boolean;
  /** "budget reached: $4.97 of $5.00 spent", when a budget was set. */
  budgetSummary?: string;
  /** What the distractor of config.distractor did (messages noised, verifier verdicts, fallbacks). */
  distractor?: DistractorStats;
  /** Endpoints given up on in this run (down, key refused): the run stopped starting conversations. */
  endpointsDown: EndpointDown[];
  /** Conversations not started because an endpoint was given up on (not saved: a rerun does them). */
  notStarted: number;
}

/** The persona rule that needs the config: with query generation off, a persona must bring queries. */
export function requireQueries(enabled: boolean, file?: string): (persona: Persona) => void {
  return (persona) => {
    if (!enabled && persona.queries.length === 0) {
      throw new InputError({
        ...(file ? { file } : {}),
        field: "queries",
        message: `persona "${persona.persona_id}" has no queries`,
        hint: "give it queries, or enable interaction_generation.query_generation",
      });
    }
  };
}

export async function generate(options: GenerateOptions): Promise<RunSummary> {
  // One run per output folder (docs/outputs.md), held before anything else: a second run on the
  // folder fails here, having made no call.
  const notice = options.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  // An --out or --cache-dir that cannot be written fails before the lock and any call.
  if (options.out) await preflightOutputFolder(options.out);
  if (options.cacheDir && options.cache === undefined)
    await preflightResponseCache({ dir: options.cacheDir }, () => {});
  const lock = options.out ? await lockOutputFolder(options.out, notice) : undefined;
  try {
    return await generateHoldingLock(options, notice);
  } finally {
    await lock?.release();
  }
}

async function generateHoldingLock(
  options: GenerateOptions,
  notice: (line: string) => void,
): Promise<RunSummary> {
  const ig = options.config.interaction_generation;
  const runtime = await buildRuntime(options.config, options);
  const progress = new ProgressTracker();
  const anyEndpointDown = () => runtime.budgets.down().length > 0;
  progress.watchEndpoints(() => runtime.budgets.snapshot(), anyEndpointDown); // pauses, endpoints given up on
  // Once an endpoint is given up on (down, key refused) no new conversation starts; a rerun does
  // them. They are counted as not started, never saved as failures.
  const endpointsUp = filter<Task>(() => {
    if (runtime.budgets.down().length === 0) return true;
    progress.refusedBeforeStart();
    return false;
  });
  const quota = ig.query_generation.enabled ? new QuotaTracker() : undefined;
  const completed = options.out ? await loadCompletedForRun(options.out, notice) : undefined;
  const cache =
    options.cache === false
      ? undefined
      : (options.cache ?? openResponseCache(options.cacheDir ? { dir: options.cacheDir } : {}));
  const conversationCache = cache ? { store: cache, identityOf: runtime.identityOf } : undefined;
  // The distractor of config.distractor, unless the caller brought a noise hook of its own.
  const distractor = options.noise
    ? undefined
    : runtimeDistractor(options.config, runtime, {
        ...(cache ? { cache } : {}),
        ...(options.abortSignal ? { signal: options.abortSignal } : {}),
        ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
        ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      });
  const noise = options.noise ?? distractor;
  const budget = new Budget(
    options.budget ?? {},
    options.out && options.budget ? await spentInOutput(options.out) : undefined,
  );
  // Reservations from the completion sizes this run observes (the worst case until it has).
  const estimator = budget.limited ? new ReservationEstimator(options.config, runtime.prices) : undefined;
  // Enough buffered work to keep every slot busy, never the whole input.
  const backpressure = new Backpressure(ig.max_workers + Math.max(16, ig.max_workers));
  // After the backpressure count: a task waiting for room in the budget holds its slot.
  const budgetGate = withinBudget(
    budget,
    (task) => (estimator as ReservationEstimator).conversation(task),
    () => backpressure.released(),
    options.stopSignal,
  );
  const failures: FailureRecord[] = [];
  const failureCounts = new FailureCounter();
  // A signal that fired before the run began (Ctrl-C during start-up) stops it all the same.
  const stop$ = options.stopSignal
    ? options.stopSignal.aborted
      ? of(true)
      : fromEvent(options.stopSignal, "abort")
    : EMPTY;
  // Counts as they are the moment the signal lands (synchronously: nothing starts in between).
  const onStop = options.onStop;
  if (onStop && options.stopSignal && !options.stopSignal.aborted)
    options.stopSignal.addEventListener("abort", () => onStop(progress.snapshot()), { once: true });
  const stopped = () => options.stopSignal?.aborted === true || options.abortSignal?.aborted === true;
  let interruptedConversations = 0;

  const events: RunEvents = {
    onStart: () => progress.onStart(),
    onFinish: (result) => {
      progress.onFinish(result);
      budget.settle(result);
      if (result.kind === "interaction") quota?.record(result.interaction.persona_id, true);
      else quota?.record(result.failure.persona_id, false);
    },
    onCall: (record) => {
      progress.onCall(record);
      budget.record(record);
      estimator?.observe(record);
    },
    onCallRetry: (error, delayMs) => progress.onCallRetry(error, delayMs),
    onInterrupted: (conversation) => {
      progress.onInterrupted(conversation);
      budget.release(conversation.interaction_id); // its calls stay spent; its hold is freed
      if (conversation.started) interruptedConversations++;
      // Not saved, not a failure (a rerun redoes it), but paid for: the ledger keeps its spend.
      if (conversation.usage.length > 0) ledgerAppend(interruptedLedgerLine(conversation));
    },
  };
  // Query-generation calls belong to no conversation, so no interaction's usage holds them: they
  // get ledger lines of their own in DIR/usage.ndjson (a budget rerun counts them as spent), as
  // do conversations a stop signal ended.
  const helperLedger = options.out ? new FileAppender(outputPaths(options.out).usage) : undefined;
  // close() waits for every append; a failed one is kept and fails the run after it, like a
  // failed interaction write would, rather than vanish.
  let ledgerError: { error: unknown } | undefined;
  function ledgerAppend(line: UsageLedgerLine): void {
    helperLedger?.append(ndjsonLine(line)).catch((error: unknown) => {
      ledgerError ??= { error };
    });
  }
  const supplementEvents = {
    ...events,
    onQueryGenerationCall: (personaId: string, round: number, record: UsageRecord) => {
      ledgerAppend(helperLedgerLine(`query_generation:${personaId}:${round}`, personaId, [record]));
    },
  };
  const taskOptions = {
    seed: ig.seed,
    samplesPerQuery: ig.samples_per_query,
    ...(ig.queries_per_persona !== undefined ? { queriesPerPersona: ig.queries_per_persona } : {}),
  };
  const conversations = converseAll({
    pool: runtime.pool,
    user: runtime.user,
    limits: { minTurns: ig.min_turns, maxTurns: ig.max_turns },
    ...(noise ? { noise } : {}),
    callRetry: runtime.callRetry,
    maxRetries: ig.max_retries,
    retryDelayMs: ig.retry_delay * 1000,
    prices: runtime.prices,
    concurrency: ig.max_workers,
    backpressure,
    events,
    ...(options.abortSignal ? { signal: options.abortSignal } : {}),
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
    ...(conversationCache ? { cache: conversationCache } : {}),
    admissionFor: runtime.admissionFor,
    assistantReasks: ig.assistant_model.max_reasks,
    ...(runtime.judge ? { judge: runtime.judge } : {}),
    ...(runtime.verifier ? { verifier: runtime.verifier } : {}),
  });
  // What every helper step before the conversation shares: concurrency, retries, prices, cache.
  const helperStep = {
    concurrency: ig.max_workers,
    callRetry: runtime.callRetry,
    prices: runtime.prices,
    events,
    ...(conversationCache ? { cache: conversationCache } : {}),
    admissionFor: runtime.admissionFor,
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
  };
  const scenarios = scenarioGeneration(
    runtime.scenarioGenerator ? { generator: runtime.scenarioGenerator, ...helperStep } : undefined,
  );
  const styled = styleTransfer(
    runtime.styleModel
      ? { model: runtime.styleModel, template: ig.style_transfer.prompt_template, ...helperStep }
      : undefined,
  );
  const notDone = filter<Task>((task) => {
    if (!completed?.has(task.interaction_id)) return true;
    progress.skipped();
    quota?.alreadyDone(task.persona_id);
    return false;
  });

  const personas$: Observable<Persona> =
    typeof options.personas === "object" && "subscribe" in options.personas
      ? options.personas
      : readPersonas(options.personas, {
          backpressure,
          ...(options.personasName ? { name: options.personasName } : {}),
          ...(options.requirePersonas ? { requireAny: true } : {}),
        });

  const tasks$ = personas$.pipe(
    takeUntil(stop$),
    tap(requireQueries(ig.query_generation.enabled, options.personasName)),
    tap((persona) => {
      if (!quota) return;
      const scheduled = personaTasks(persona, taskOptions).length;
      // The quota counts interactions: queries wanted (queries_per_persona, else those given) × samples.
      const wanted = Math.max(1, ig.queries_per_persona ?? persona.queries.length) * ig.samples_per_query;
      quota.register(persona, scheduled, wanted);
    }),
    toTasks(taskOptions),
  );
  // (Two pipes: RxJS types at most nine operators in one.)
  const main$ = tasks$.pipe(
    options.limit !== undefined ? take(options.limit) : (tasks) => tasks,
    notDone,
    endpointsUp,
    admit(backpressure, options.stopSignal),
    budgetGate,
    styled,
    scenarios,
    conversations,
  );
  const supplements$ =
    quota && runtime.queryGenerator
      ? supplementRounds({
          tracker: quota,
          generator: runtime.queryGenerator,
          maxRounds: ig.max_supplement_rounds,
          concurrency: ig.max_workers,
          callRetry: runtime.callRetry,
          prices: runtime.prices,
          seed: ig.seed,
          events: supplementEvents,
          ...(conversationCache ? { cache: conversationCache } : {}),
          admissionFor: runtime.admissionFor,
          ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
          run: (personas, round) =>
            personas.pipe(
              toTasks({ ...taskOptions, supplementRound: round }),
              notDone,
              endpointsUp,
              admit(backpressure, options.stopSignal),
              styled,
              scenarios,
              conversations,
            ),
        })
      : EMPTY;

  const sink: OperatorFunction<ConversationResult, ConversationResult> = options.out
    ? filesSink(options.out, options.collector ? { collector: options.collector } : {})
    : ndjsonSink(options.ndjson ?? process.stdout);
  const extraSinks =
    options.out === undefined && options.collector
      ? trainingCollectorSink(options.collector)
      : (r$: Observable<ConversationResult>) => r$;
  const abort$ = options.abortSignal ? fromEvent(options.abortSignal, "abort") : EMPTY;

  const reporter = options.onProgress
    ? progress.snapshots(options.progressIntervalMs ?? 1000).subscribe(options.onProgress)
    : undefined;
  try {
    await lastValueFrom(
      concat(
        main$,
        // The signal may land after the last persona was read: asked when the main pass ends.
        defer(() =>
          stopped() || budget.exhausted || runtime.budgets.down().length > 0 ? EMPTY : supplements$,
        ),
      ).pipe(
        takeUntil(abort$),
        // Refused before any call by an endpoint given up on: not a failure to save (see above).
        filter((result) => result.kind !== "failure" || !neverStarted(result.failure, anyEndpointDown())),
        sink,
        extraSinks,
        tap((result) => {
          if (result.kind === "failure") {
            if (failures.length < 20) failures.push(result.failure);
            failureCounts.add(result.failure);
          }
          options.onResult?.(result);
        }),
      ),
      { defaultValue: undefined },
    );
  } finally {
    reporter?.unsubscribe();
    await helperLedger?.close();
    await cache?.close(); // pending cache writes land before the run ends
    await runtime.close();
  }
  if (ledgerError) throw ledgerError.error;
  const s = progress.snapshot();
  options.onProgress?.(s);
  return {
    ...summaryTotals(s),
    failures,
    failureCounts: failureCounts.counts(),
    interrupted: stopped(),
    interruptedConversations,
    endpointsDown: runtime.budgets.down(),
    budgetExhausted: budget.exhausted,
    ...(budget.limited ? { budgetSummary: budget.describe() } : {}),
    ...(distractor ? { distractor: distractor.stats() } : {}),
  };
}
