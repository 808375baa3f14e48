// One model call as an observable, with the only per-call retry policy in convosim:
// transient failures (429, 5xx, timeouts, dropped connections, malformed bodies) are
// retried with capped exponential backoff and jitter, never sooner than Retry-After.
import { type Observable, type SchedulerLike, timer } from "rxjs";
import type { ModelIdentity, ResponseCache } from "../cache/index.js";
import type { PriceTable } from "../conversation/pricing.js";
import { randomStream } from "../conversation/random.js";
import { DEFAULT_MAX_RETRY_AFTER_MS } from "../limits/endpoint-budget.js";
import { callTicket } from "../limits/endpoint-budgets.js";
import type { Admission, CallTicket } from "../limits/types.js";
import { isEmptyReply, isTransient, ProviderError } from "../providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../providers/types.js";
import type { UsageRecord } from "../schema/interaction.js";
import { callAttempts } from "./call-attempts.js";
import { StopRequested, stoppableAdmission, stoppableWait } from "./stop.js";

export interface CallRetryPolicy {
  /** Retries after the first attempt. */
  count: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Longest Retry-After waited for (call_retries.max_retry_after); beyond it the call fails at
   * once rather than stalling a slot for an hour. Default DEFAULT_MAX_RETRY_AFTER_MS (60 s).
   */
  maxRetryAfterMs?: number;
}

/** A 429 whose Retry-After is over the ceiling, as the failure it becomes: not retried. */
function overCeiling(error: ProviderError, ceilingMs: number): ProviderError {
  const asked = Math.round((error.retryAfterMs ?? 0) / 1000);
  return new ProviderError(
    "endpoint_down",
    `${error.message} (Retry-After ${asked} s is over call_retries.max_retry_after, ${Math.round(ceilingMs / 1000)} s)`,
    {
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
    },
  );
}

/**
 * Delay before retry number `attempt` (1-based): "equal jitter" — half the capped
 * exponential step plus a random half, so retries spread out but never collapse to 0.
 * A server's Retry-After is a floor.
 */
export function backoffDelayMs(
  error: unknown,
  attempt: number,
  policy: CallRetryPolicy,
  random: () => number,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = step / 2 + random() * (step / 2);
  const retryAfter = error instanceof ProviderError ? error.retryAfterMs : undefined;
  return retryAfter === undefined ? jittered : Math.max(jittered, retryAfter);
}

export interface CallOptions {
  retry: CallRetryPolicy;
  scheduler: SchedulerLike;
  /** Seeds the jitter so runs are reproducible. */
  jitterSeed: number;
  /** Told about every retry, e.g. for progress counts. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /**
   * Told about every attempt that failed after reaching the server (an HTTP error, a body cut
   * short, a timeout): a call made, so it counts in the run's calls and the usage record.
   */
  onFailedCall?: (error: ProviderError) => void;
  /**
   * The response cache, outermost: a hit makes no call, waits for no admission and retries
   * nothing; only a final success is stored (and only if `accept` agrees).
   */
  cache?: { store: ResponseCache; identity: ModelIdentity; accept?: (result: ChatResult) => boolean };
  /** Admission control of the model's endpoint: every attempt waits for it (rate-limit.ts). */
  admission?: Admission;
  /** Priority and token reservation of this call; default priority 0. */
  ticket?: CallTicket;
  /** Aborts the request in flight (the run's hard stop). */
  signal?: AbortSignal;
  /**
   * The run's stop (a first Ctrl-C): no attempt starts after it, and the admission wait and
   * retry backoff end at once with StopRequested; a request already sent finishes (stop.ts).
   */
  stopSignal?: AbortSignal;
  /**
   * False: an empty reply fails the call at once instead of being retried with the same request
   * (the conversation re-asks with a varied one). Default true.
   */
  retryEmptyReplies?: boolean;
}

/**
 * A model call with its cache, retries, stop check and admission (call-attempts.ts runs them as
 * one observable). `signal` (the run's abort signal) cancels the request in flight; a plain
 * unsubscribe only drops its result. One signal per run rather than an AbortController per
 * call: creating and firing those was a measurable share of convosim's CPU per call.
 *
 * The layers, outermost first: the response cache (a hit makes no call); the retry (transient
 * failures, capped exponential backoff with jitter, never sooner than Retry-After, at most
 * `retry.count` times); the stop check (after the stop no attempt starts); the endpoint's
 * admission (every attempt, retries included, waits for it and reports back); the attempt, whose
 * failures that reached the server are told to onFailedCall.
 */
export function callModel(
  model: ChatModel,
  request: ChatRequest,
  options: CallOptions,
): Observable<ChatResult> {
  // Drawn from only when a call is retried, which most calls never are: made on first use.
  let jitter: (() => number) | undefined;
  const random = () => {
    jitter ??= randomStream(options.jitterSeed, "call_retry_jitter");
    return jitter();
  };
  const ceilingMs = options.retry.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const { stopSignal, signal, cache } = options;
  // The stop ends a wait inside the provider (the local model's queue) like the waits here.
  const sent =
    signal || stopSignal
      ? { ...request, ...(signal ? { signal } : {}), ...(stopSignal ? { waitSignal: stopSignal } : {}) }
      : request;
  const admission =
    options.admission && stopSignal ? stoppableAdmission(options.admission, stopSignal) : options.admission;
  return callAttempts({
    model,
    request,
    sent,
    stopSignal,
    admission,
    ticket: admission ? (options.ticket ?? callTicket(request, 0)) : undefined,
    onFailedCall: options.onFailedCall,
    retries: options.retry.count,
    afterFailure: (error, attempt) => {
      if (error instanceof ProviderError && (error.retryAfterMs ?? 0) > ceilingMs)
        return { fail: overCeiling(error, ceilingMs) };
      const emptyNotRetried = options.retryEmptyReplies === false && isEmptyReply(error);
      if (!isTransient(error) || emptyNotRetried) return { fail: error };
      if (stopSignal?.aborted) return { fail: new StopRequested() };
      const delayMs = backoffDelayMs(error, attempt, options.retry, random);
      options.onRetry?.(error, attempt, delayMs);
      return { wait: stoppableWait(timer(delayMs, options.scheduler), stopSignal) };
    },
    cache: cache
      ? { store: cache.store, identity: cache.identity, accept: cache.accept ?? acceptAll }
      : undefined,
  });
}

const acceptAll = () => true;

/** The cache part of CallOptions for a model, when a cache is on and knows the model. */
export function cacheOption(
  cache: { store: ResponseCache; identityOf(model: ChatModel): ModelIdentity | undefined } | undefined,
  model: ChatModel,
  accept?: (result: ChatResult) => boolean,
): Pick<CallOptions, "cache"> {
  const identity = cache?.identityOf(model);
  if (!cache || !identity) return {};
  return { cache: { store: cache.store, identity, ...(accept ? { accept } : {}) } };
}

/** The usage record of one returned call: priced, and free when it was replayed from the cache. */
export function usageRecord(
  operation: string,
  result: Pick<ChatResult, "provider" | "model" | "usage" | "cached">,
  prices: PriceTable,
): UsageRecord {
  const record: UsageRecord = {
    operation,
    provider: result.provider,
    model: result.model,
    ...result.usage,
    cost_usd: result.cached ? 0 : prices.cost(result.provider, result.model, result.usage),
  };
  if (result.cached) record.replayed = true;
  return record;
}

/**
 * The usage record of a call that reached the server and failed: a call made, with no tokens
 * (none were reported) and no cost (providers do not bill failed requests), marked `failed`.
 */
export function failedCallRecord(
  operation: string,
  model: Pick<ChatModel, "provider" | "model">,
  error: ProviderError,
): UsageRecord {
  return {
    operation,
    provider: model.provider,
    model: model.model,
    prompt_tokens: 0,
    completion_tokens: 0,
    cost_usd: 0,
    failed: error.kind,
  };
}

/** What a caller outside a conversation reports: calls made (failed ones included) and retries. */
export interface CallEvents {
  onCall?(record: UsageRecord): void;
  onCallRetry?(error: unknown, delayMs?: number): void;
}

/**
 * The hooks of a call made outside a conversation (style transfer, scenario and query generation):
 * every retry reported with its delay (the progress line shows long ones), and every attempt that
 * reached the server and failed counted as a call made.
 */
export function callEvents(
  operation: string,
  model: Pick<ChatModel, "provider" | "model">,
  events: CallEvents | undefined,
): Pick<CallOptions, "onRetry" | "onFailedCall"> {
  if (!events) return {};
  return {
    onRetry: (error, _attempt, delayMs) => events.onCallRetry?.(error, delayMs),
    onFailedCall: (error) => events.onCall?.(failedCallRecord(operation, model, error)),
  };
}

/** Admission at priority 0 (calls outside a conversation: style transfer, query generation). */
export function withAdmission(admission: Admission | undefined): Pick<CallOptions, "admission"> {
  return admission ? { admission } : {};
}
