// A cluster-wide admission for one endpoint: the requests- and tokens-per-minute buckets live in
// Redis, so every worker sharing that Redis takes permits from one budget and together they stay
// under the endpoint's `rate_limit` — 10 workers against one key do not send 10× the cap, as ten
// in-process budgets (src/limits/endpoint-budget.ts) would.
//
// It implements the pipeline's Admission (src/limits/types.ts), so callModel uses it unchanged.
// Within a process, waiting calls sit in a priority queue (WaitQueue, as in EndpointBudget) and one
// Redis round trip at a time asks for the head's permit: a thousand waiting calls cost one request
// to Redis per grant and per wake-up, not a thousand polls. Redis answers either "taken" or how
// long to wait, and one timer wakes the queue then.
//
// What the answers teach is shared too: a 429's Retry-After becomes a pause every process honours
// (the "pause until" key), x-ratelimit-* limits become learned limits for endpoints without a
// configured one, and x-ratelimit-remaining lowers the shared level. Usage corrects the token
// reservation (prompt estimate + completion limit) as the local budget does.
//
// When Redis cannot be reached, waiting calls keep waiting (asking again every retryMs) rather
// than fail: a Redis restart pauses the run, it does not fail conversations.
import type { Redis } from "ioredis";
import { Observable, type Subscriber } from "rxjs";
import { DEFAULT_MAX_RETRY_AFTER_MS, type RateLimitConfig } from "../limits/endpoint-budget.js";
import type { Admission, CallOutcome, CallTicket, Release } from "../limits/types.js";
import { type Waiter, WaitQueue } from "../limits/wait-queue.js";
import { ProviderError } from "../providers/errors.js";
import type { RateLimitInfo } from "../schema/usage.js";
import { chainAdmissions } from "./chained-admission.js";
import {
  ACQUIRE_LUA,
  ADJUST_LUA,
  LEARN_LUA,
  PAUSE_LUA,
  PAUSED_FOR_LUA,
} from "./shared-rate-limit-scripts.js";

export type { RateLimitConfig };

export interface SharedAdmissionOptions {
  /** Prefix of the Redis keys. Default "convosim:rl:". */
  prefix?: string;
  /** Burst of the buckets, in seconds of the limit (as the local budget). Default 0.25. */
  burstSeconds?: number;
  /** The longest Retry-After published as a shared pause (call_retries.max_retry_after). */
  maxPauseMs?: number;
  /** How long learned limits are kept in Redis without a fresh answer confirming them. Default 10 min. */
  learnedTtlMs?: number;
  /** Wait before asking Redis again after a failed command (Redis restarting). Default 250 ms. */
  retryMs?: number;
  /** Told about every failed Redis command (the admission itself keeps waiting and retries). */
  onRedisError?: (error: unknown) => void;
  /**
   * With no limit at all (none configured, none learned, no pause), calls start without asking
   * Redis for this long after Redis last said so. Default 500 ms: a pause or a limit learned by
   * another worker reaches this one within that time, and an unlimited endpoint costs a Redis
   * round trip per 500 ms instead of one per call.
   */
  openForMs?: number;
}

/** The Redis keys of one endpoint's shared budget. */
export interface SharedBudgetKeys {
  requests: string;
  tokens: string;
  pause: string;
  learned: string;
}

/**
 * The keys of `endpointKey`'s budget. The endpoint key goes inside a {hash tag} (braces in it
 * removed), so the four keys share a slot on a Redis Cluster, where one script may only touch
 * keys of one slot. Endpoint keys name the key's variable, never the key itself.
 */
export function sharedBudgetKeys(endpointKey: string, prefix = "convosim:rl:"): SharedBudgetKeys {
  const base = `${prefix}{${endpointKey.replace(/[{}]/g, "")}}:`;
  return {
    requests: `${base}requests`,
    tokens: `${base}tokens`,
    pause: `${base}pause`,
    learned: `${base}learned`,
  };
}

type Reply = (string | number)[];
/** The scripts, registered on the client with defineCommand (EVALSHA, EVAL once when missing). */
interface SharedRateLimitCommands {
  convosimRateAcquire(...args: (string | number)[]): Promise<Reply>;
  convosimRateAdjust(...args: (string | number)[]): Promise<number>;
  convosimRateLearn(...args: (string | number)[]): Promise<number>;
  convosimRatePause(...args: (string | number)[]): Promise<number>;
  convosimRatePausedFor(...args: (string | number)[]): Promise<number>;
}

function withCommands(redis: Redis): Redis & SharedRateLimitCommands {
  const commands = redis as Redis & Partial<SharedRateLimitCommands>;
  if (commands.convosimRateAcquire === undefined) {
    redis.defineCommand("convosimRateAcquire", { numberOfKeys: 4, lua: ACQUIRE_LUA });
    redis.defineCommand("convosimRateAdjust", { numberOfKeys: 4, lua: ADJUST_LUA });
    redis.defineCommand("convosimRateLearn", { numberOfKeys: 4, lua: LEARN_LUA });
    redis.defineCommand("convosimRatePause", { numberOfKeys: 1, lua: PAUSE_LUA });
    redis.defineCommand("convosimRatePausedFor", { numberOfKeys: 1, lua: PAUSED_FOR_LUA });
  }
  return commands as Redis & SharedRateLimitCommands;
}

interface Lease extends Waiter {
  readonly tokens: number;
  subscriber: Subscriber<Release> | undefined;
  /** A tokens-per-minute limit applied when it was granted: its usage corrects the reservation. */
  tokensCharged: boolean;
}

/** Counters for progress lines and tests. */
export interface SharedAdmissionStats {
  granted: number;
  waiting: number;
  /** Shared pauses this process published (429s with a Retry-After). */
  pausesPublished: number;
  redisErrors: number;
}

export class SharedAdmission implements Admission {
  readonly endpointKey: string;
  readonly keys: SharedBudgetKeys;
  readonly #redis: Redis & SharedRateLimitCommands;
  /** Configured rpm, tpm (0: none, the learned one applies) and the burst, as the scripts take them. */
  readonly #limitArgs: [number, number, number];
  readonly #maxPauseMs: number;
  readonly #learnedTtlMs: number;
  readonly #retryMs: number;
  readonly #onRedisError: ((error: unknown) => void) | undefined;
  readonly #queue = new WaitQueue<Lease>();
  /** A Redis round trip for the head of the queue is under way. */
  #asking = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  /** Until then (performance.now()), no limit applies: calls are granted without asking Redis. */
  #openUntil = 0;
  readonly #openForMs: number;
  #granted = 0;
  #pausesPublished = 0;
  #redisErrors = 0;

  constructor(
    redis: Redis,
    endpointKey: string,
    limits: RateLimitConfig = {},
    options: SharedAdmissionOptions = {},
  ) {
    this.#redis = withCommands(redis);
    this.endpointKey = endpointKey;
    this.keys = sharedBudgetKeys(endpointKey, options.prefix);
    const burstSeconds = options.burstSeconds ?? 0.25;
    if (!(burstSeconds > 0)) throw new RangeError(`burstSeconds must be positive, got ${burstSeconds}`);
    // 0 tells the scripts "not configured": the learned limit (if any) applies.
    this.#limitArgs = [positiveOrZero(limits.rpm), positiveOrZero(limits.tpm), burstSeconds];
    this.#maxPauseMs = options.maxPauseMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.#learnedTtlMs = options.learnedTtlMs ?? 10 * 60_000;
    this.#retryMs = options.retryMs ?? 250;
    this.#onRedisError = options.onRedisError;
    this.#openForMs = options.openForMs ?? 500;
  }

  admit(ticket: CallTicket): Observable<Release> {
    return new Observable<Release>((subscriber) => {
      const lease: Lease = {
        priority: ticket.priority,
        seq: this.#queue.nextSeq(),
        withdrawn: false,
        tokens: Number.isFinite(ticket.tokens) ? Math.max(0, Math.ceil(ticket.tokens)) : 0,
        subscriber,
        tokensCharged: false,
      };
      this.#queue.push(lease);
      this.#pump();
      return () => {
        if (lease.subscriber === undefined) return; // granted already
        lease.subscriber = undefined;
        this.#queue.withdraw(lease);
      };
    });
  }

  stats(): SharedAdmissionStats {
    return {
      granted: this.#granted,
      waiting: this.#queue.size,
      pausesPublished: this.#pausesPublished,
      redisErrors: this.#redisErrors,
    };
  }

  /**
   * Adds configured limits (several models on one endpoint: the smaller value wins per field,
   * as EndpointBudget.configure; the provider enforces one limit for the endpoint and key).
   */
  configure(limits: RateLimitConfig | undefined): void {
    const smaller = (current: number, added: number | undefined) => {
      const value = positiveOrZero(added);
      return value === 0 ? current : current === 0 ? value : Math.min(current, value);
    };
    this.#limitArgs[0] = smaller(this.#limitArgs[0], limits?.rpm);
    this.#limitArgs[1] = smaller(this.#limitArgs[1], limits?.tpm);
    if (this.#limitArgs[0] > 0 || this.#limitArgs[1] > 0) this.#openUntil = 0;
  }

  /** Pauses the endpoint for every process sharing this Redis; returns how long the pause lasts. */
  async publishPause(ms: number): Promise<number> {
    const pause = Math.max(0, Math.min(ms, this.#maxPauseMs));
    this.#pausesPublished++;
    this.#openUntil = 0; // from now on, ask again: the pause holds here too
    return Number(await this.#redis.convosimRatePause(this.keys.pause, Math.ceil(pause)));
  }

  /** Milliseconds the shared pause still lasts (0: none). */
  async pausedForMs(): Promise<number> {
    return Number(await this.#redis.convosimRatePausedFor(this.keys.pause));
  }

  /** Shares what an answer's x-ratelimit-* headers say: limits learned, remaining lowers the level. */
  async learn(info: RateLimitInfo): Promise<void> {
    if (info.limitRequests !== undefined || info.limitTokens !== undefined) this.#openUntil = 0;
    await this.#redis.convosimRateLearn(
      ...this.#scriptKeys(),
      ...this.#limitArgs,
      positiveOrZero(info.limitRequests),
      positiveOrZero(info.limitTokens),
      this.#learnedTtlMs,
      info.remainingRequests ?? -1,
      info.remainingTokens ?? -1,
    );
  }

  /** Stops asking Redis: calls still waiting are never admitted (a worker shutting down). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ── admission ────────────────────────────────────────────────────────────────────────────

  /** Asks Redis for the head of the queue's permit; grants it, or sleeps until it may ask again. */
  #pump(): void {
    if (this.#asking || this.#timer !== undefined || this.#closed) return;
    if (this.#openUntil > performance.now()) {
      // No limit applies (Redis said so a moment ago): every waiting call starts now.
      for (let head = this.#queue.shift(); head !== undefined; head = this.#queue.shift()) this.#grant(head);
      return;
    }
    const head = this.#queue.peek();
    if (head === undefined) return;
    this.#asking = true;
    this.#redis.convosimRateAcquire(...this.#scriptKeys(), ...this.#limitArgs, head.tokens).then(
      (reply) => {
        this.#asking = false;
        const taken = Number(reply[0]) === 1;
        if (!taken) return this.#sleep(Math.max(1, Number(reply[1])));
        if (head.withdrawn || head.subscriber === undefined) {
          // Withdrawn while Redis was answering: the permit goes back to the cluster.
          this.#refund(1, head.tokens);
        } else {
          // Not shift(): a caller of higher priority may have arrived during the round trip, and
          // this permit was sized for `head`.
          this.#queue.withdraw(head);
          head.tokensCharged = Number(reply[2]) === 1;
          this.#grant(head);
        }
        if (Number(reply[3]) === 1) this.#openUntil = performance.now() + this.#openForMs;
        this.#pump();
      },
      (error: unknown) => {
        this.#asking = false;
        this.#redisErrors++;
        this.#onRedisError?.(error);
        this.#sleep(this.#retryMs);
      },
    );
  }

  #sleep(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, ms);
  }

  #grant(lease: Lease): void {
    this.#granted++;
    const subscriber = lease.subscriber!;
    lease.subscriber = undefined;
    let settled = false;
    subscriber.next((outcome: CallOutcome) => {
      if (settled) return;
      settled = true;
      this.#settle(lease, outcome);
    });
    subscriber.complete();
  }

  // ── outcomes ─────────────────────────────────────────────────────────────────────────────

  /** Reports an attempt's outcome to Redis in the background; a failure there loses only a correction. */
  #settle(lease: Lease, outcome: CallOutcome): void {
    const report = (work: Promise<unknown>) =>
      work.catch((error: unknown) => {
        this.#redisErrors++;
        this.#onRedisError?.(error);
      });
    const error = outcome.error;
    const rateLimit = outcome.rateLimit ?? (error instanceof ProviderError ? error.rateLimit : undefined);
    if (rateLimit) report(this.learn(rateLimit));
    if (outcome.usage) {
      // The reservation was prompt estimate + completion limit; the answer says what it cost.
      const used = outcome.usage.prompt_tokens + outcome.usage.completion_tokens;
      if (lease.tokensCharged && lease.tokens !== used) this.#refund(0, lease.tokens - used);
    } else if (error instanceof ProviderError && error.kind === "rate_limit") {
      // A 429 whose own headers say quota remains was refused for another reason (overload):
      // only that call waits. Otherwise every process pauses for its Retry-After.
      if (error.retryAfterMs !== undefined && !quotaLeft(rateLimit))
        report(this.publishPause(error.retryAfterMs));
    }
    // Other failures keep their reservation: providers count failed requests against the limit.
    // So does an abandoned call (an empty outcome): it may have reached the server already.
  }

  #refund(requests: number, tokens: number): void {
    this.#redis
      .convosimRateAdjust(...this.#scriptKeys(), ...this.#limitArgs, requests, tokens)
      .catch((error: unknown) => {
        this.#redisErrors++;
        this.#onRedisError?.(error);
      });
  }

  #scriptKeys(): [string, string, string, string] {
    return [this.keys.requests, this.keys.tokens, this.keys.pause, this.keys.learned];
  }
}

/** True when rate-limit headers are present and none says the quota is spent. */
function quotaLeft(info: RateLimitInfo | undefined): boolean {
  if (info?.remainingRequests === undefined && info?.remainingTokens === undefined) return false;
  return (info.remainingRequests ?? 1) > 0 && (info.remainingTokens ?? 1) > 0;
}

function positiveOrZero(value: number | undefined): number {
  return value !== undefined && value > 0 ? value : 0;
}

/**
 * The admission of `endpointKey` shared through `redis` by every process using it, under
 * `limits` (the endpoint's `rate_limit`; without one, the limits learned from x-ratelimit-*
 * headers, and until then only shared pauses). One client per process is enough: the scripts
 * are registered on it once.
 */
export function sharedAdmissionFor(
  redis: Redis,
  endpointKey: string,
  limits: RateLimitConfig = {},
  options: SharedAdmissionOptions = {},
): SharedAdmission {
  return new SharedAdmission(redis, endpointKey, limits, options);
}

/**
 * One shared admission per endpoint key in a process, created on first use (as EndpointBudgets
 * does locally): models on one endpoint and key share it, and their configured limits combine.
 */
export class SharedAdmissions {
  readonly #redis: Redis;
  readonly #options: SharedAdmissionOptions;
  readonly #byEndpoint = new Map<string, SharedAdmission>();

  constructor(redis: Redis, options: SharedAdmissionOptions = {}) {
    this.#redis = redis;
    this.#options = options;
  }

  for(endpointKey: string, limits?: RateLimitConfig): SharedAdmission {
    let admission = this.#byEndpoint.get(endpointKey);
    if (admission === undefined) {
      admission = new SharedAdmission(this.#redis, endpointKey, limits, this.#options);
      this.#byEndpoint.set(endpointKey, admission);
    } else admission.configure(limits);
    return admission;
  }

  /**
   * What a worker puts in front of each model's call: its local budget first (endpoint health,
   * first contact), then the endpoint's cluster-wide budget (chained-admission.ts).
   */
  wrap(local: Admission, endpointKey: string, limits?: RateLimitConfig): Admission {
    return chainAdmissions(local, this.for(endpointKey, limits));
  }

  /** Stops every admission's Redis polling (a worker shutting down). */
  close(): void {
    for (const admission of this.#byEndpoint.values()) admission.close();
  }
}
