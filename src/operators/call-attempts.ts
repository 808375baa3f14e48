// The layers of one model call — response cache, retry with backoff, the stop check before each
// attempt, the endpoint's admission, the attempt, the failed-call hook — fused into a single
// observable. Composed from RxJS operators (defer, tap, retry, a stop wrapper, admitted(), the
// attempt) they cost eight subscriptions and their subscriber objects per call, which profiling
// showed as a measurable share of convosim's own CPU per call; here one subscription holds a few
// closures. The behaviour is that composition's, step for step (call-model.ts says what each
// layer means; the marble tests in test/operators pin it): the same order of hooks, releases and
// emissions, the same synchronous paths (a synchronous cache hit emits at subscription), and the
// same teardown (an unsubscribe withdraws a queued admission, drops a call in flight and returns
// its slot).
import { Observable, type Subscriber, type Unsubscribable } from "rxjs";
import { type ModelIdentity, responseKey } from "../cache/key.js";
import { type CachedResult, type ResponseCache, replayed } from "../cache/types.js";
import type { Admission, CallTicket, Release } from "../limits/types.js";
import { ProviderError } from "../providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../providers/types.js";
import { StopRequested } from "./stop.js";

export interface AttemptPlan {
  model: ChatModel;
  request: ChatRequest;
  /** The request as sent (with the run's signals), for a model answering by promise. */
  sent: ChatRequest;
  stopSignal: AbortSignal | undefined;
  /** Already wrapped so the stop ends its wait (stoppableAdmission), when there is a stop signal. */
  admission: Admission | undefined;
  ticket: CallTicket | undefined;
  onFailedCall: ((error: ProviderError) => void) | undefined;
  /** Retries after the first attempt. */
  retries: number;
  /**
   * What follows failed attempt number `attempt` (1-based): an error to end with, or the wait
   * before the next attempt (its first value starts it; its completion ends the call, as RxJS's
   * retry does).
   */
  afterFailure(error: unknown, attempt: number): { fail: unknown } | { wait: Observable<unknown> };
  cache:
    | { store: ResponseCache; identity: ModelIdentity; accept: (result: ChatResult) => boolean }
    | undefined;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}

export function callAttempts(plan: AttemptPlan): Observable<ChatResult> {
  return new Observable<ChatResult>((subscriber) => {
    const run = new CallRun(plan, subscriber);
    run.start();
    return () => run.teardown();
  });
}

/** One subscription's state: which attempt is live, and what to undo on teardown. */
class CallRun {
  readonly #plan: AttemptPlan;
  readonly #out: Subscriber<ChatResult>;
  /** Failed attempts so far (RxJS retry's count). */
  #failed = 0;
  /** Bumped per attempt and on teardown: a promise settling for an older one is dropped. */
  #generation = 0;
  #closed = false;
  #key: string | undefined;
  #waiting: Unsubscribable | undefined;
  #call: Unsubscribable | undefined;
  #delay: Unsubscribable | undefined;
  #release: Release | undefined;

  constructor(plan: AttemptPlan, out: Subscriber<ChatResult>) {
    this.#plan = plan;
    this.#out = out;
  }

  start(): void {
    const { cache } = this.#plan;
    if (!cache) {
      this.#attempt();
      return;
    }
    // The key at subscription, so a resubscription (a retried step) looks up again.
    let found: CachedResult | undefined | Promise<CachedResult | undefined>;
    try {
      this.#key = responseKey(cache.identity, this.#plan.request);
      found = cache.store.get(this.#key);
    } catch (error) {
      this.#out.error(error);
      return;
    }
    if (!isPromise(found)) {
      this.#onLookup(found);
      return;
    }
    // Answered later: as from(promise) would, a rejection is the call's error.
    found.then(
      (value) => {
        if (!this.#closed) this.#onLookup(value);
      },
      (error: unknown) => {
        if (!this.#closed) this.#out.error(error);
      },
    );
  }

  teardown(): void {
    this.#closed = true;
    this.#generation++;
    this.#endAttempt();
    this.#delay?.unsubscribe();
    this.#delay = undefined;
  }

  /** A hit (that the caller accepts) is emitted; anything else makes the call. */
  #onLookup(found: CachedResult | undefined): void {
    const cache = this.#plan.cache;
    if (found && cache) {
      let result: ChatResult;
      let accepted: boolean;
      try {
        result = replayed(found);
        accepted = cache.accept(result);
      } catch (error) {
        this.#out.error(error);
        return;
      }
      if (accepted) {
        this.#out.next(result);
        this.#out.complete();
        return;
      }
    }
    this.#attempt();
  }

  /** Admission's queue withdrawn, the call dropped, the slot returned (once) — admitted()'s teardown. */
  #endAttempt(): void {
    const waiting = this.#waiting;
    const call = this.#call;
    this.#waiting = undefined;
    this.#call = undefined;
    waiting?.unsubscribe();
    call?.unsubscribe();
    this.#settle({});
  }

  #settle(outcome: Parameters<Release>[0]): void {
    const pending = this.#release;
    this.#release = undefined;
    pending?.(outcome);
  }

  #attempt(): void {
    const { admission, stopSignal } = this.#plan;
    // After the stop, an attempt (first or retry) never starts: no request is sent.
    if (stopSignal?.aborted) {
      this.#attemptFailed(new StopRequested());
      return;
    }
    const generation = ++this.#generation;
    // A model that cannot send yet (its thread still loading the SDK): admission is asked once it
    // can, or the endpoint's pacing and first-contact grace would run while nothing goes out.
    const notReady = this.#plan.model.ready?.();
    if (notReady) {
      // Ready or not (a model that failed to build), the attempt goes on: its call reports why.
      const go = () => {
        if (generation === this.#generation && !this.#closed) this.#attempt();
      };
      notReady.then(go, go);
      return;
    }
    if (!admission) {
      this.#send(generation);
      return;
    }
    const waiting = admission.admit(this.#plan.ticket as CallTicket).subscribe({
      next: (granted) => {
        if (generation !== this.#generation) return;
        this.#release = granted;
        this.#send(generation);
      },
      error: (error: unknown) => {
        if (generation === this.#generation) this.#attemptFailed(error);
      },
    });
    // Kept until the attempt ends (admitted() held it so); an attempt already over drops it now.
    if (generation === this.#generation && !this.#closed) this.#waiting = waiting;
    else waiting.unsubscribe();
  }

  #send(generation: number): void {
    const { model } = this.#plan;
    if (model.complete$) {
      const call = model.complete$(this.#plan.request).subscribe({
        next: (result) => {
          if (generation === this.#generation) this.#succeeded(result);
        },
        error: (error: unknown) => {
          if (generation === this.#generation) this.#callFailed(error);
        },
        complete: () => {
          if (generation === this.#generation) this.#completed();
        },
      });
      if (generation === this.#generation && !this.#closed) this.#call = call;
      else call.unsubscribe();
      return;
    }
    model.complete(this.#plan.sent).then(
      (result) => {
        if (generation !== this.#generation) return;
        this.#succeeded(result);
        if (generation === this.#generation) this.#completed();
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        const { stopSignal } = this.#plan;
        this.#callFailed(stopSignal?.aborted && error === stopSignal.reason ? new StopRequested() : error);
      },
    );
  }

  #succeeded(result: ChatResult): void {
    this.#settle(
      result.rateLimit ? { usage: result.usage, rateLimit: result.rateLimit } : { usage: result.usage },
    );
    const cache = this.#plan.cache;
    if (cache && this.#key !== undefined) {
      // Only a final success is stored, and only what the caller accepts.
      try {
        if (cache.accept(result)) cache.store.put(this.#key, result);
      } catch (error) {
        this.#generation++;
        this.#out.error(error); // the teardown ends the attempt
        return;
      }
    }
    this.#out.next(result);
  }

  /** The attempt completed: its slot returned, then the completion out (whose teardown ends the rest). */
  #completed(): void {
    this.#settle({});
    this.#generation++;
    this.#out.complete();
  }

  #callFailed(error: unknown): void {
    if (error instanceof ProviderError && error.reachedServer) this.#plan.onFailedCall?.(error);
    this.#settle({ error });
    this.#attemptFailed(error);
  }

  /**
   * RxJS retry's choice: the error out once the retries are spent, else the wait and again. As in
   * the composition, the failed attempt's subscriptions end after that choice is made.
   */
  #attemptFailed(error: unknown): void {
    this.#generation++;
    const waiting = this.#waiting;
    const call = this.#call;
    this.#waiting = undefined;
    this.#call = undefined;
    this.#retryOrFail(error);
    waiting?.unsubscribe();
    call?.unsubscribe();
  }

  #retryOrFail(error: unknown): void {
    if (this.#failed++ >= this.#plan.retries) {
      this.#out.error(error);
      return;
    }
    let next: ReturnType<AttemptPlan["afterFailure"]>;
    try {
      next = this.#plan.afterFailure(error, this.#failed);
    } catch (thrown) {
      this.#out.error(thrown); // as RxJS's retry: a delay function that throws ends the call
      return;
    }
    if ("fail" in next) {
      this.#out.error(next.fail);
      return;
    }
    let started = false;
    let delay: Unsubscribable | undefined;
    delay = next.wait.subscribe({
      next: () => {
        if (started) return;
        started = true;
        delay?.unsubscribe();
        this.#delay = undefined;
        if (!this.#closed) this.#attempt();
      },
      error: (waitError: unknown) => this.#out.error(waitError),
      complete: () => {
        if (!started) this.#out.complete();
      },
    });
    if (started) delay.unsubscribe();
    else if (!this.#closed) this.#delay = delay;
    else delay.unsubscribe();
  }
}
