// The shapes of an endpoint's admission (endpoint-budget.ts): its options, what a progress
// line reads from it (snapshot, pause), the default Retry-After ceiling, and a call's lease.
import type { SchedulerLike, Subscriber } from "rxjs";
import type { ConcurrencyWindowOptions } from "./adaptive.js";
import type { EndpointDown } from "./endpoint-health.js";
import type { OpeningRampOptions } from "./opening-ramp.js";
import type { LimitSource, PaceOptions, RateLimitConfig } from "./pace.js";
import type { Release } from "./types.js";
import type { Waiter } from "./wait-queue.js";

export interface BudgetOptions extends PaceOptions {
  scheduler?: SchedulerLike;
  /** Configured limits (they win over learned ones). */
  limit?: RateLimitConfig;
  /** Burst of the client-side buckets, in seconds of the limit. Default 0.25. */
  burstSeconds?: number;
  /** The adaptive window used while no rate is known. */
  window?: ConcurrencyWindowOptions;
  /** The opening ramp paced by while nothing is known (opening-ramp.ts); false: none. */
  ramp?: OpeningRampOptions | false;
  /**
   * The Retry-After ceiling (call_retries.max_retry_after), default DEFAULT_MAX_RETRY_AFTER_MS.
   * A longer Retry-After takes the endpoint out of the run instead of pausing it: the other
   * conversations must not hang for an hour behind a quota that will not come back.
   */
  maxPauseMs?: number;
  /** Connection failures in a row that take the endpoint out of the run; default DOWN_AFTER. */
  downAfter?: number;
  /**
   * Until the endpoint first answers, one call at a time (a run's budgets turn it on; default
   * off): a wrong key or a dead endpoint then costs one request instead of one per slot.
   */
  firstContactAlone?: boolean;
  /**
   * With firstContactAlone: the lone first call holds the others back until it is answered or
   * has been in flight this long, default FIRST_CONTACT_GRACE_MS. A server refuses a key (or a
   * request) before it generates anything, so a refusal comes back within a round trip; a call
   * still out after that is being answered, and waiting for a whole reply would only idle the run.
   */
  firstContactGraceMs?: number;
}

/** Default of BudgetOptions.firstContactGraceMs. */
export const FIRST_CONTACT_GRACE_MS = 150;

/** Default of call_retries.max_retry_after: the longest Retry-After a run waits for. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** Why calls to an endpoint wait, when they wait for time (not for a free slot). */
export interface BudgetPause {
  /** "rate limited by api.openai.com (Retry-After)", "pacing at 60 rpm for 127.0.0.1:8000 (configured)". */
  reason: string;
  remainingMs: number;
  /** Calls waiting behind it. */
  waiting: number;
}

export interface BudgetSnapshot {
  key: string;
  inFlight: number;
  waiting: number;
  admitted: number;
  rateLimited: number;
  /** The pace in requests per minute and where it came from; undefined while only the window governs. */
  rpm?: { value: number; source: LimitSource };
  tpm?: { value: number; source: LimitSource };
  /** The adaptive window, while it governs. */
  concurrency?: number;
  /** The opening ramp's calls per second, while it paces (no rate known yet). */
  ramp?: number;
  pausedForMs: number;
  /** Why and for how long the next call waits, while calls wait for time. */
  pause?: BudgetPause;
  /** Set once the endpoint is given up on for this run. */
  down?: EndpointDown;
}

/** Where a call stands in the budget: waiting for admission, admitted, or released. */
export const WAITING = 0;
export const ADMITTED = 1;
export const RELEASED = 2;

/** One call's place in the budget, from its wait for admission to its release. */
export interface Lease extends Waiter {
  readonly tokens: number;
  subscriber: Subscriber<Release> | undefined;
  state: number;
  /** Admission order and the tokens admitted before this one: what the server saw after it. */
  ordinal: number;
  tokenMark: number;
  admittedAt: number;
}
