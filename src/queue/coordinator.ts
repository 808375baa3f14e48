// `convosim generate --queue`: this process becomes the coordinator. It streams tasks into the
// queue with backpressure (at most `window` queued or running at once), admits them under the
// run's budget (the coordinator is the cluster's one admission point, so a budget holds for all
// workers together), collects each job's result, saves it through the same files sink as a local
// run, and only then removes the job: a result is acknowledged once it is on disk.
// Job ids are interaction ids, so a task is never queued twice; a rerun on the same DIR skips
// what is saved and picks up jobs an earlier coordinator left in Redis (finished or not).
import { EMPTY, filter, fromEvent, lastValueFrom, type Observable, of, take, takeUntil, tap } from "rxjs";
import { PriceTable } from "../conversation/pricing.js";
import { admit } from "../operators/admit.js";
import { type ProgressSnapshot, ProgressTracker } from "../operators/progress.js";
import { Budget, type BudgetLimits, spentInOutput, withinBudget } from "../run/budget.js";
import { ReservationEstimator } from "../run/estimate-observed.js";
import { FailureCounter } from "../run/failure-counts.js";
import type { RunSummary } from "../run/generate.js";
import { lockOutputFolder } from "../run/output-folder-lock.js";
import { preflightOutputFolder } from "../run/preflight.js";
import { summaryTotals } from "../run/summary-totals.js";
import type { ConvosimConfig } from "../schema/config.js";
import type { ConversationResult, FailureRecord } from "../schema/interaction.js";
import type { Persona } from "../schema/persona.js";
import { filesSink } from "../sinks/files-sink.js";
import { loadCompletedForRun } from "../sinks/quarantine.js";
import { Backpressure } from "../sources/backpressure.js";
import type { PersonaInputSource } from "../sources/open.js";
import { readPersonas } from "../sources/read-personas.js";
import { toTasks } from "../sources/tasks.js";
import { probeRedis, type QueueConnection } from "./connection.js";
import { openRemoteConversations, type RemoteConversations } from "./remote-converse.js";

export interface CoordinateOptions {
  connection: QueueConnection;
  config: ConvosimConfig;
  personas: Observable<Persona> | PersonaInputSource;
  personasName?: string;
  /** The output folder: the reference's layout, exactly as a local run writes it. */
  out: string;
  limit?: number;
  /** Tasks queued or running at once; default 2 × max_workers (never the whole input). */
  window?: number;
  /** --budget-usd / --budget-tokens, for the whole cluster. */
  budget?: BudgetLimits;
  /** Stops queueing; results not yet back stay in Redis for a rerun to collect. */
  stopSignal?: AbortSignal;
  /** How often finished jobs are looked for beside the event stream (default 5 s). */
  sweepMs?: number;
  onNotice?: (line: string) => void;
  /** Called with every result after it is saved. */
  onResult?: (result: ConversationResult) => void;
  /** The cluster's progress, every progressIntervalMs (default 1 s) and once at the end. */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  progressIntervalMs?: number;
}

export interface CoordinateSummary extends RunSummary {
  /** Tasks added to the queue by this coordinator. */
  queued: number;
  /** Jobs still on workers when a stop signal ended the coordinator (a rerun collects them). */
  leftInQueue: number;
}

export async function coordinate(options: CoordinateOptions): Promise<CoordinateSummary> {
  const notice = options.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  await probeRedis(options.connection); // unreachable: exit 2 before the folder is touched
  await preflightOutputFolder(options.out);
  const lock = await lockOutputFolder(options.out, notice);
  try {
    const remote = await openRemoteConversations(options.connection, {
      config: options.config,
      onNotice: notice,
      ...(options.sweepMs !== undefined ? { sweepMs: options.sweepMs } : {}),
    });
    try {
      return await collect(options, remote, notice);
    } finally {
      await remote.close();
    }
  } finally {
    await lock.release();
  }
}

async function collect(
  options: CoordinateOptions,
  remote: RemoteConversations,
  notice: (line: string) => void,
): Promise<CoordinateSummary> {
  const ig = options.config.interaction_generation;
  const window = options.window ?? 2 * ig.max_workers;
  const backpressure = new Backpressure(window);
  const completed = await loadCompletedForRun(options.out, notice);
  const progress = new ProgressTracker();
  const failures: FailureRecord[] = [];
  const failureCounts = new FailureCounter();
  let queued = 0;
  const budget = new Budget(
    options.budget ?? {},
    options.budget ? await spentInOutput(options.out) : undefined,
  );
  const prices = new PriceTable(options.config.pricing);
  const estimator = budget.limited ? new ReservationEstimator(options.config, prices) : undefined;
  const budgetGate = withinBudget(
    budget,
    (task) => (estimator as ReservationEstimator).conversation(task),
    () => backpressure.released(),
    options.stopSignal,
  );
  const stop$ = options.stopSignal
    ? options.stopSignal.aborted
      ? of(true)
      : fromEvent(options.stopSignal, "abort")
    : EMPTY;
  const personas$ =
    typeof options.personas === "object" && "subscribe" in options.personas
      ? options.personas
      : readPersonas(options.personas, {
          backpressure,
          requireAny: true,
          ...(options.personasName ? { name: options.personasName } : {}),
        });
  const reporter = options.onProgress
    ? progress.snapshots(options.progressIntervalMs ?? 1000).subscribe(options.onProgress)
    : undefined;
  try {
    await lastValueFrom(
      personas$.pipe(
        toTasks({
          seed: ig.seed,
          samplesPerQuery: ig.samples_per_query,
          ...(ig.queries_per_persona !== undefined ? { queriesPerPersona: ig.queries_per_persona } : {}),
        }),
        options.limit !== undefined ? take(options.limit) : (tasks) => tasks,
        filter((task) => {
          if (!completed.has(task.interaction_id)) return true;
          progress.skipped();
          return false;
        }),
        admit(backpressure),
        budgetGate,
        takeUntil(stop$),
        tap(() => {
          queued++;
          progress.onStart();
        }),
        remote.converse(window, () => backpressure.released()),
        // What is not back when the signal lands stays in Redis, finished or not: a rerun saves it.
        takeUntil(stop$),
        tap((result) => {
          // The workers' calls, counted as their conversation comes back.
          const usage =
            result.kind === "interaction"
              ? (result.interaction.metadata.usage ?? [])
              : (result.failure.usage ?? []);
          for (const record of usage) {
            progress.onCall(record);
            budget.record(record);
            estimator?.observe(record);
          }
        }),
        filesSink(options.out),
        // Acknowledged only now, with the result on disk: a coordinator killed before this line
        // finds the job still in Redis on its rerun and saves it then.
        remote.acknowledge(),
        tap((result) => {
          progress.onFinish(result);
          budget.settle(result);
          backpressure.released();
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
  }
  const s = progress.snapshot();
  options.onProgress?.(s);
  return {
    ...summaryTotals(s),
    failures,
    failureCounts: failureCounts.counts(),
    interrupted: options.stopSignal?.aborted === true,
    interruptedConversations: 0,
    endpointsDown: [],
    budgetExhausted: budget.exhausted,
    ...(budget.limited ? { budgetSummary: budget.describe() } : {}),
    queued,
    leftInQueue: remote.pending,
  };
}
