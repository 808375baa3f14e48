// A rate-limited endpoint in virtual time, for the admission tests: a request token bucket like the
// stand-in server's (rpm, one second of burst), seeded log-normal latency, 429 with Retry-After
// and (optionally) x-ratelimit-* info, and a driver that runs conversations through
// admitted() + a retry like callModel's. Deterministic and fast: 2 000 calls take milliseconds.
import {
  concatMap,
  defer,
  from,
  mergeMap,
  Observable,
  retry,
  type SchedulerLike,
  throwError,
  timer,
} from "rxjs";
import { mulberry32 } from "../../src/conversation/random.js";
import { callTicket } from "../../src/limits/endpoint-budgets.js";
import type { Admission } from "../../src/limits/types.js";
import { backoffDelayMs } from "../../src/operators/call-model.js";
import { admitted } from "../../src/operators/rate-limit.js";
import { isTransient, ProviderError } from "../../src/providers/errors.js";
import type { ChatModel, ChatRequest, ChatResult } from "../../src/providers/types.js";
import type { RateLimitInfo } from "../../src/schema/usage.js";

export interface EndpointSpec {
  rpm: number;
  /** Server bucket capacity; default one second's worth. */
  burst?: number;
  /** Median latency of an answered call, ms (log-normal, σ 0.3). Default 200. */
  latencyMs?: number;
  /** Send x-ratelimit-* style info with answers. Default true. */
  headers?: boolean;
  /** Retry-After rounded up to whole seconds, as a gateway's `Retry-After: 1` says. Default false (ms). */
  retryAfterWholeSeconds?: boolean;
  /**
   * Each request reaches the server after a seeded delay of up to this many ms (a loaded machine,
   * a network): requests sent evenly arrive unevenly. Default 0 (at once).
   */
  jitterMs?: number;
  /**
   * The server stalls (a starved event loop): every `everyMs` it takes nothing in for `forMs`, then
   * handles what arrived meanwhile all at once — its bucket holding no more than its burst.
   */
  stall?: { everyMs: number; forMs: number };
}

export class SimulatedEndpoint implements ChatModel {
  readonly provider = "sim";
  readonly model = "sim-model";
  readonly endpointKey = "sim|endpoint";
  ok = 0;
  throttled = 0;
  lastOkAt = 0;
  maxInFlight = 0;
  #inFlight = 0;
  readonly #perMs: number;
  readonly #capacity: number;
  #level: number;
  #last = 0;
  readonly #random = mulberry32(7);

  constructor(
    readonly spec: EndpointSpec,
    private readonly scheduler: SchedulerLike,
  ) {
    this.#perMs = spec.rpm / 60_000;
    this.#capacity = spec.burst ?? spec.rpm / 60;
    this.#level = this.#capacity;
  }

  complete(): Promise<ChatResult> {
    throw new Error("virtual time only: use complete$");
  }

  complete$(_request: ChatRequest): Observable<ChatResult> {
    const jitter = this.spec.jitterMs ?? 0;
    if (jitter <= 0 && this.spec.stall === undefined) return this.#arrive();
    return defer(() => {
      const arrival = this.scheduler.now() + this.#jitterRandom() * jitter;
      const stall = this.spec.stall;
      const phase = stall ? arrival % stall.everyMs : 0;
      const handled = stall && phase < stall.forMs ? arrival - phase + stall.forMs : arrival;
      return timer(handled - this.scheduler.now(), this.scheduler);
    }).pipe(concatMap(() => this.#arrive()));
  }

  readonly #jitterRandom = mulberry32(13);

  /** The request reaches the server: its bucket decides. */
  #arrive(): Observable<ChatResult> {
    return defer(() => {
      const now = this.scheduler.now();
      this.#level = Math.min(this.#capacity, this.#level + (now - this.#last) * this.#perMs);
      this.#last = now;
      const ok = this.#level >= 1;
      if (ok) this.#level -= 1;
      const info: RateLimitInfo | undefined =
        this.spec.headers === false
          ? undefined
          : { limitRequests: this.spec.rpm, remainingRequests: Math.max(0, Math.floor(this.#level)) };
      if (!ok) {
        this.throttled++;
        const exactMs = Math.ceil((1 - this.#level) / this.#perMs);
        const retryAfterMs = this.spec.retryAfterWholeSeconds
          ? Math.max(1, Math.ceil(exactMs / 1000)) * 1000
          : exactMs;
        return throwError(
          () =>
            new ProviderError("rate_limit", "429", {
              status: 429,
              retryAfterMs,
              ...(info ? { rateLimit: info } : {}),
            }),
        );
      }
      const u = 1 - this.#random();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#random());
      const latency = (this.spec.latencyMs ?? 200) * Math.exp(0.3 * z);
      this.#inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
      return new Observable<ChatResult>((subscriber) => {
        const action = this.scheduler.schedule(() => {
          this.#inFlight--;
          this.ok++;
          this.lastOkAt = this.scheduler.now();
          subscriber.next({
            text: "ok",
            usage: { prompt_tokens: 50, completion_tokens: 20 },
            finishReason: "stop",
            provider: this.provider,
            model: this.model,
            ...(info ? { rateLimit: info } : {}),
          });
          subscriber.complete();
        }, latency);
        return () => action.unsubscribe();
      });
    });
  }
}

export const REQUEST: ChatRequest = {
  messages: [{ role: "user", content: "x".repeat(200) }],
  maxTokens: 100,
};
const POLICY = { count: 8, baseDelayMs: 500, maxDelayMs: 30_000 };

export type Attempt = () => Observable<ChatResult>;

/** One call the way callModel will make it: every attempt is admitted, transient errors retried. */
export function admittedCall(
  admission: Admission,
  attempt: Attempt,
  turn: number,
  scheduler: SchedulerLike,
  random: () => number,
): Observable<ChatResult> {
  const ticket = callTicket(REQUEST, turn);
  return defer(() => attempt().pipe(admitted(admission, ticket))).pipe(
    retry({
      count: POLICY.count,
      delay: (error: unknown, n: number) =>
        isTransient(error)
          ? timer(backoffDelayMs(error, n, POLICY, random), scheduler)
          : throwError(() => error),
    }),
  );
}

/**
 * `conversations` × `turns` calls, `inFlight` conversations at a time, turns one after another,
 * turn t asking with priority t (conversations further along go first).
 */
export function conversations(
  admission: Admission,
  attempt: Attempt,
  scheduler: SchedulerLike,
  shape: { conversations: number; turns: number; inFlight: number },
): Observable<ChatResult> {
  const random = mulberry32(11);
  const turns = Array.from({ length: shape.turns }, (_, t) => t);
  const conversation = () =>
    from(turns).pipe(concatMap((t) => admittedCall(admission, attempt, t, scheduler, random)));
  return from(Array.from({ length: shape.conversations })).pipe(
    mergeMap(() => conversation(), shape.inFlight),
  );
}

/** Runs the conversations against a virtual-time model (flush the scheduler afterwards). */
export function runConversations(
  admission: Admission,
  model: ChatModel,
  scheduler: SchedulerLike,
  shape: { conversations: number; turns: number; inFlight: number },
): { failed: number } {
  const result = { failed: 0 };
  conversations(admission, () => model.complete$!(REQUEST), scheduler, shape).subscribe({
    error: () => result.failed++,
  });
  return result;
}
