// Optional: rewrite each task's original_query in the persona's voice with a configured
// model (the reference's initial_query vs original_query). Off, initial_query stays
// adapted_query ?? original_query as the source set it.
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
import { describePersona, personaGuidance } from "../conversation/persona-text.js";
import type { PriceTable } from "../conversation/pricing.js";
import { seedFrom } from "../conversation/random.js";
import { loadTemplate, renderTemplate } from "../conversation/templates.js";
import type { Admission } from "../limits/types.js";
import type { ChatModel } from "../providers/types.js";
import type { Task } from "../schema/persona.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
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

export interface StyleTransferOptions {
  model: ChatModel;
  /** Template path; default prompts/style_transfer.md. */
  template?: string | undefined;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  concurrency: number;
  callRetry: CallRetryPolicy;
  prices: PriceTable;
  scheduler?: SchedulerLike;
  events?: ConversationEvents;
  cache?: ConversationCache;
  admissionFor?: (model: ChatModel) => Admission | undefined;
  /** The run's stop (a first Ctrl-C): no call starts after it, and waits end at once. */
  stopSignal?: AbortSignal;
}

/** Strips quotes and labels small models like to wrap a rewrite in. */
function cleanRewrite(text: string): string {
  return text
    .trim()
    .replace(/^(rewritten request|request|user)\s*:\s*/i, "")
    .replace(/^"(.*)"$/s, "$1")
    .trim();
}

export function styleTransfer(options?: StyleTransferOptions): OperatorFunction<Task, Task> {
  if (!options) return map((task) => task);
  const template = loadTemplate(options.template ?? "style_transfer");
  const scheduler = options.scheduler ?? asyncScheduler;
  const rewrite = (task: Task): Observable<Task> => {
    // After the stop no new call starts; the conversation step then lets the task go.
    if (isStopped(options.stopSignal)) return of(task);
    const prompt = renderTemplate(template, {
      persona_description: describePersona(task.persona_features),
      persona_guidance: personaGuidance(task.persona_features),
      original_query: task.original_query,
    });
    const request = {
      messages: [{ role: "user" as const, content: prompt }],
      temperature: options.temperature ?? 0.8,
      maxTokens: options.maxTokens ?? 256,
      seed: seedFrom(task.seed, "style_transfer"),
      speakerLabels: { user: "Request", assistant: "Rewritten" },
    };
    return callModel(options.model, request, {
      retry: options.callRetry,
      scheduler,
      jitterSeed: seedFrom(task.seed, "style_transfer_retry"),
      ...callEvents("style_transfer", options.model, options.events),
      ...cacheOption(options.cache, options.model),
      ...withAdmission(options.admissionFor?.(options.model)),
      ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
    }).pipe(
      map((result): Task => {
        const record = usageRecord("style_transfer", result, options.prices);
        options.events?.onCall?.(record);
        const styled = cleanRewrite(result.text);
        // An empty rewrite carries no voice; keep the original rather than send nothing.
        return {
          ...task,
          initial_query: styled === "" ? task.original_query : styled,
          prior_usage: [...(task.prior_usage ?? []), record],
        };
      }),
      catchError((error: unknown) =>
        of({
          ...task,
          preflight_error: {
            // Saved as the conversation's failure reason: scrubbed like every reason.
            reason: scrubSecrets(
              `style transfer failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
            error_kind: (error as { kind?: string }).kind ?? "unknown",
          },
        }),
      ),
    );
  };
  return mergeMap(rewrite, options.concurrency);
}
