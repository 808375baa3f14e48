// Optional: a scenario for each task whose query brought none, written by a configured model
// before the conversation starts (like style transfer). A reply with no usable scenario, or a
// call that fails, leaves the task to the scenario derived from its query; the attempt is
// paid for and recorded either way.
import {
  asyncScheduler,
  catchError,
  map,
  mergeMap,
  type Observable,
  type OperatorFunction,
  of,
  type SchedulerLike,
} from "rxjs";
import type { PriceTable } from "../conversation/pricing.js";
import { seedFrom } from "../conversation/random.js";
import type { ScenarioGenerator } from "../conversation/scenario-generator.js";
import type { Admission } from "../limits/types.js";
import type { Task } from "../schema/persona.js";
import {
  type CallRetryPolicy,
  cacheOption,
  callEvents,
  callModel,
  usageRecord,
  withAdmission,
} from "./call-model.js";
import type { ConversationCache, ConversationEvents } from "./converse.js";
import { isStopped } from "./stop.js";

export interface ScenarioGenerationOptions {
  generator: ScenarioGenerator;
  concurrency: number;
  callRetry: CallRetryPolicy;
  prices: PriceTable;
  scheduler?: SchedulerLike;
  events?: ConversationEvents;
  cache?: ConversationCache;
  admissionFor?: (model: ScenarioGenerator["model"]) => Admission | undefined;
  /** The run's stop (a first Ctrl-C): no call starts after it, and waits end at once. */
  stopSignal?: AbortSignal;
}

export function scenarioGeneration(options?: ScenarioGenerationOptions): OperatorFunction<Task, Task> {
  if (!options) return map((task) => task);
  const { generator } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const write = (task: Task): Observable<Task> => {
    // After the stop no new call starts; the conversation step then lets the task go.
    if (task.scenario || isStopped(options.stopSignal)) return of(task);
    const request = generator.buildRequest(
      task.persona_features,
      task.original_query,
      seedFrom(task.seed, "scenario"),
    );
    return callModel(generator.model, request, {
      retry: options.callRetry,
      scheduler,
      jitterSeed: seedFrom(task.seed, "scenario_retry"),
      ...callEvents("scenario_generation", generator.model, options.events),
      // Only a reply that holds a scenario is worth replaying.
      ...cacheOption(options.cache, generator.model, (result) => generator.parse(result.text) !== undefined),
      ...withAdmission(options.admissionFor?.(generator.model)),
      ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
    }).pipe(
      map((result): Task => {
        const record = usageRecord("scenario_generation", result, options.prices);
        options.events?.onCall?.(record);
        const scenario = generator.parse(result.text);
        return {
          ...task,
          ...(scenario ? { scenario } : {}),
          prior_usage: [...(task.prior_usage ?? []), record],
        };
      }),
      // The scenario is an aid, not a requirement: without one the query is the goal.
      catchError(() => of(task)),
    );
  };
  return mergeMap(write, options.concurrency);
}
