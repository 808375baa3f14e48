// A deterministic, scripted ChatModel FOR TESTS. It is never chosen implicitly: only a config that
// says provider "fake" (or code that constructs it) gets one. With a scheduler, complete$() runs
// its latency in that scheduler's time, so marble tests of the pipeline run in virtual time.
import { asyncScheduler, defer, map, Observable, type SchedulerLike, throwError, timer } from "rxjs";
import type { ModelConfig } from "../schema/config.js";
import { estimatePromptTokens, estimateTokens } from "./estimate.js";
import { scriptedReply } from "./scripted-replies.js";
import type { ChatModel, ChatRequest, ChatResult } from "./types.js";

/** A reply, or an Error the call fails with (e.g. a ProviderError to exercise retries). */
export type FakeReply = string | Error;
export type FakeResponder = (request: ChatRequest, callIndex: number) => FakeReply;

export interface FakeChatModelOptions {
  /** A function of (request, call index), or replies used in order (a call past the end fails). */
  respond?: FakeResponder | readonly FakeReply[];
  /** Latency of every call in ms (virtual ms when a scheduler is given). Default 0. */
  latencyMs?: number;
  /** Drives complete$()'s latency; complete() always uses real time. */
  scheduler?: SchedulerLike;
  provider?: string;
  model?: string;
  /** Keep every request in `calls` (default true). Off for long runs, which would grow without bound. */
  recordCalls?: boolean;
}

/** `reply <callIndex> to: <first 40 chars of the last message>`: easy to assert on. */
export function echoResponder(request: ChatRequest, callIndex: number): string {
  const last = request.messages[request.messages.length - 1];
  return `reply ${callIndex} to: ${(last?.content ?? "").slice(0, 40)}`;
}

/** Content-derived replies, role-aware (see scripted-replies.ts); the default of provider "fake". */
export function scriptedResponder(request: ChatRequest): string {
  return scriptedReply(request.messages);
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error("the model call was aborted");
  error.name = "AbortError";
  return error;
}

export class FakeChatModel implements ChatModel {
  readonly provider: string;
  readonly model: string;
  /** Every request received, in call order (retries included). */
  readonly calls: ChatRequest[] = [];
  readonly #respond: FakeResponder;
  readonly #latencyMs: number;
  readonly #scheduler: SchedulerLike | undefined;

  constructor(options: FakeChatModelOptions = {}) {
    this.provider = options.provider ?? "fake";
    this.model = options.model ?? "fake-model";
    this.#latencyMs = Math.max(0, options.latencyMs ?? 0);
    this.#scheduler = options.scheduler;
    this.#recordCalls = options.recordCalls ?? true;
    const respond = options.respond ?? echoResponder;
    if (typeof respond === "function") {
      this.#respond = respond;
    } else {
      const script = [...respond];
      this.#respond = (_request, index) =>
        script[index] ??
        new Error(
          `FakeChatModel script exhausted: ${script.length} replies scripted, call ${index + 1} made`,
        );
    }
  }

  #callCount = 0;
  readonly #recordCalls: boolean;

  get callCount(): number {
    return this.#callCount;
  }

  /** Records the call and produces its outcome (a result, or the Error to fail with). */
  #next(request: ChatRequest): ChatResult | Error {
    const index = this.#callCount++;
    if (this.#recordCalls) this.calls.push(request);
    let reply: FakeReply;
    try {
      reply = this.#respond(request, index);
    } catch (error) {
      reply = error instanceof Error ? error : new Error(String(error));
    }
    if (reply instanceof Error) return reply;
    return {
      text: reply,
      usage: {
        prompt_tokens: estimatePromptTokens(request.messages),
        completion_tokens: estimateTokens(reply),
      },
      finishReason: "stop",
      provider: this.provider,
      model: this.model,
    };
  }

  complete(request: ChatRequest): Promise<ChatResult> {
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const outcome = this.#next(request);
    const settle = (resolve: (r: ChatResult) => void, reject: (e: unknown) => void) =>
      outcome instanceof Error ? reject(outcome) : resolve(outcome);
    if (this.#latencyMs === 0) return new Promise(settle);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(handle);
        reject(abortReason(signal as AbortSignal));
      };
      const handle = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        settle(resolve, reject);
      }, this.#latencyMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Each subscription is one call (so a retry by resubscription is counted and recorded again).
   * Unsubscribing cancels the pending latency; an aborted signal fails the call.
   */
  complete$(request: ChatRequest): Observable<ChatResult> {
    return defer(() => {
      const signal = request.signal;
      if (signal?.aborted) return throwError(() => abortReason(signal));
      const outcome = this.#next(request);
      const delayed = timer(this.#latencyMs, this.#scheduler ?? asyncScheduler).pipe(
        map(() => {
          if (outcome instanceof Error) throw outcome;
          return outcome;
        }),
      );
      if (!signal) return delayed;
      return new Observable<ChatResult>((subscriber) => {
        const onAbort = () => subscriber.error(abortReason(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        const inner = delayed.subscribe(subscriber);
        return () => {
          signal.removeEventListener("abort", onAbort);
          inner.unsubscribe();
        };
      });
    });
  }
}

/** The model behind provider "fake" in a config: scripted, role-aware replies, no latency. */
export function createFakeChatModel(config: ModelConfig): FakeChatModel {
  return new FakeChatModel({
    provider: "fake",
    model: config.model,
    respond: scriptedResponder,
    recordCalls: false,
  });
}
