// Admission control: the contract between the pipeline and whatever decides when a model
// call may start (token buckets, learned limits, adaptive concurrency). The pipeline asks
// before every attempt and reports how it went; nothing sleeps inside a provider.
import type { Observable } from "rxjs";
import type { RateLimitInfo, Usage } from "../schema/usage.js";

export type { RateLimitInfo };

export interface CallTicket {
  /**
   * Higher goes first. Conversations already in flight ask with their turn number, so they get
   * their next turn before new conversations start (prompt caches stay warm, partial work is
   * not stranded).
   */
  priority: number;
  /** Reserved before the call: prompt estimate + max_completion_tokens. */
  tokens: number;
}

export interface CallOutcome {
  /** Reported usage: the reservation is corrected (refunded) with it. */
  usage?: Usage;
  /** The failure, if the attempt failed (a 429 slows the budget down; others do not). */
  error?: unknown;
  rateLimit?: RateLimitInfo;
}

/** Settles one admitted call; calling it more than once has no further effect. */
export type Release = (outcome: CallOutcome) => void;

export interface Admission {
  /**
   * Emits one Release when the call may start, then completes. Unsubscribing before that
   * withdraws the request. Once admitted, the caller must call Release when the attempt is over:
   * with its outcome, or with an empty outcome when it was abandoned (the slot is returned,
   * nothing is learned). The observable has completed by then, so it cannot notice an abandoned
   * call by itself; the `admitted()` operator (src/operators/rate-limit.ts) does all of this.
   */
  admit(ticket: CallTicket): Observable<Release>;
}
