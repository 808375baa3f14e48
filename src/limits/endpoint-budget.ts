// One endpoint's admission control (one provider endpoint and key): every model call asks here
// before each attempt and reports how it went. What decides when a call may start:
//
// - a pause for as long as a 429's Retry-After says (this endpoint only) when the endpoint is
//   over a cap: the answer's rate-limit headers say nothing remains, or enough (over-cap.ts) of
//   the last second's calls were refused. Scattered 429s (a server shedding a call now and then)
//   make only their own call wait — callModel's retry never comes back before its Retry-After —
//   and, with no limit known, move no rate either: curator-style pauses of everything on every
//   429 collapsed a run with 3 % of them from seconds to minutes;
// - the requests-per-minute and tokens-per-minute buckets, paced smoothly at limit/60 per second
//   with a burst of a fraction of a second. The limits come from the config (`rate_limit`, which
//   wins), else from the x-ratelimit-* headers of the answers, else from an estimate made at the
//   first 429 out of what the endpoint actually delivered, then from the spacing of the waves of
//   429s (cap-spacing.ts), held just below;
// - with no rate known at all: the opening ramp (opening-ramp.ts), a rate doubling every 200 ms
//   while calls wait for it, so that a cap is met by a trickle rather than a burst; and a
//   concurrency window that halves the calls in flight on a wave of 429s nothing was accepted in;
// - until the endpoint has answered once (firstContactAlone), one call at a time — for as long as
//   that call may still come back refused (firstContactGraceMs): a wrong key or a dead endpoint
//   then costs one request, not one per conversation;
// - the endpoint's health (endpoint-health.ts): once it is given up on (down, key refused, a
//   Retry-After over the ceiling) every call is refused at once, without a request.
//
// How 429s move the pace lives in pace.ts. 429s answering calls admitted before the last cut
// belong to the same wave and do not cut again, so one burst cannot collapse the pace.
//
// Nothing sleeps: waiting callers sit in a priority queue and a single scheduler timer (only while
// someone waits) wakes the queue when the next one may go.
import { asyncScheduler, Observable, type SchedulerLike, type Subscription, throwError } from "rxjs";
import { ProviderError } from "../providers/errors.js";
import type { RateLimitInfo } from "../schema/usage.js";
import { ConcurrencyWindow, RateMeter } from "./adaptive.js";
import { CapSpacing } from "./cap-spacing.js";
import {
  ADMITTED,
  type BudgetOptions,
  type BudgetPause,
  type BudgetSnapshot,
  DEFAULT_MAX_RETRY_AFTER_MS,
  FIRST_CONTACT_GRACE_MS,
  type Lease,
  RELEASED,
  WAITING,
} from "./endpoint-budget-types.js";
import { type EndpointDown, EndpointHealth, endpointHost } from "./endpoint-health.js";
import { FirstContactGate } from "./first-contact-gate.js";
import { OpeningRamp } from "./opening-ramp.js";
import { AcceptedSinceRefusal, refusalsSayOverCap } from "./over-cap.js";
import { type LimitSource, Pace, type RateLimitConfig } from "./pace.js";
import { TokenBucket } from "./token-bucket.js";
import type { Admission, CallOutcome, CallTicket, Release } from "./types.js";
import { WaitQueue } from "./wait-queue.js";

export {
  type BudgetOptions,
  type BudgetPause,
  type BudgetSnapshot,
  DEFAULT_MAX_RETRY_AFTER_MS,
  FIRST_CONTACT_GRACE_MS,
} from "./endpoint-budget-types.js";
export type { LimitSource, RateLimitConfig };

/**
 * A wave whose spacing measure is at least this share of the cap measured before is the pace
 * stepping over a known boundary (it probes upward), not the cap falling: no endpoint pause.
 */
const PROBE_STEP_SHARE = 0.8;

/** A span measures the cap only if the client sent at least this share of its pace in it. */
const BOUND_SHARE = 0.85;

/** The client-side burst while the rate is estimated, in seconds of it (see #burst). */
const ESTIMATED_BURST_SECONDS = 0.05;

/** True when rate-limit headers are present and none says the quota is spent. */
function quotaLeft(info: RateLimitInfo | undefined): boolean {
  if (info?.remainingRequests === undefined && info?.remainingTokens === undefined) return false;
  return (info.remainingRequests ?? 1) > 0 && (info.remainingTokens ?? 1) > 0;
}

export class EndpointBudget implements Admission {
  readonly key: string;
  readonly #scheduler: SchedulerLike;
  readonly #burstSeconds: number;
  readonly #maxPauseMs: number;
  readonly #pace: Pace;
  readonly #queue = new WaitQueue<Lease>();
  readonly #window: ConcurrencyWindow;
  /** Paces admissions while no rate is known; undefined when turned off. */
  readonly #ramp: OpeningRamp | undefined;
  /** Admissions and 429s over the last second: what the endpoint accepted, for estimates. */
  readonly #admissions = new RateMeter();
  readonly #health: EndpointHealth;
  /** Until the endpoint first answers, one call at a time (firstContactAlone). */
  readonly #gate: FirstContactGate;
  readonly #refusals = new RateMeter();
  readonly #sinceRefusal = new AcceptedSinceRefusal();
  /** The cap of a server without rate-limit headers, from the spacing of its waves of 429s. */
  readonly #spacing = new CapSpacing();
  /** The current wave is the pace stepping over a cap it had measured (no endpoint pause). */
  #probeStep = false;
  #requests: TokenBucket | undefined;
  #tokens: TokenBucket | undefined;
  #inFlight = 0;
  #admitted = 0;
  #firstAdmissionAt = Number.NaN;
  #lastAdmissionAt = Number.NaN;
  #tokensAdmitted = 0;
  #rateLimited = 0;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  /** Leases admitted before this ordinal belong to the wave already cut for. */
  #cutOrdinal = -1;
  /** Since when the estimated rate has been the bottleneck (undefined: it is not). */
  #boundSince: number | undefined;
  #timer: Subscription | undefined;
  #timerDue = Number.POSITIVE_INFINITY;
  #pumping = false;
  #repump = false;

  constructor(key: string, options: BudgetOptions = {}) {
    this.key = key;
    this.#pace = new Pace(options.limit, options);
    this.#scheduler = options.scheduler ?? asyncScheduler;
    this.#burstSeconds = options.burstSeconds ?? 0.25;
    this.#maxPauseMs = options.maxPauseMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.#gate = new FirstContactGate(
      options.firstContactAlone === true,
      options.firstContactGraceMs ?? FIRST_CONTACT_GRACE_MS,
    );
    this.#health = new EndpointHealth(key, {
      maxRetryAfterMs: this.#maxPauseMs,
      ...(options.downAfter !== undefined ? { downAfter: options.downAfter } : {}),
    });
    this.#window = new ConcurrencyWindow(options.window);
    this.#ramp = options.ramp === false ? undefined : new OpeningRamp(options.ramp);
  }

  /** Adds configured limits (several models on one endpoint: the smaller value wins per field). */
  configure(limit: RateLimitConfig | undefined): void {
    if (limit) this.#pace.configure(limit);
  }

  /** Why the endpoint was given up on, once it was. */
  get down(): EndpointDown | undefined {
    return this.#health.down;
  }

  admit(ticket: CallTicket): Observable<Release> {
    const refusal = this.#health.refusal();
    if (refusal) return throwError(() => refusal);
    return new Observable<Release>((subscriber) => {
      const lease: Lease = {
        priority: ticket.priority,
        seq: this.#queue.nextSeq(),
        withdrawn: false,
        tokens: Math.max(0, ticket.tokens),
        subscriber,
        state: WAITING,
        ordinal: 0,
        tokenMark: 0,
        admittedAt: 0,
      };
      this.#queue.push(lease);
      this.#pump();
      return () => {
        if (lease.state !== WAITING) return;
        lease.subscriber = undefined;
        this.#queue.withdraw(lease);
        if (this.#queue.size === 0) this.#cancelTimer();
      };
    });
  }

  snapshot(): BudgetSnapshot {
    const now = this.#scheduler.now();
    this.#refreshRates(now);
    const snap: BudgetSnapshot = {
      key: this.key,
      inFlight: this.#inFlight,
      waiting: this.#queue.size,
      admitted: this.#admitted,
      rateLimited: this.#rateLimited,
      pausedForMs: Math.max(0, this.#pausedUntil - now),
    };
    const rpmSource = this.#pace.rpmSource();
    if (this.#requests && rpmSource) snap.rpm = { value: this.#requests.perMinute, source: rpmSource };
    const tpmSource = this.#pace.tpmSource();
    if (this.#tokens && tpmSource) snap.tpm = { value: this.#tokens.perMinute, source: tpmSource };
    if (this.#windowGoverns()) {
      snap.concurrency = this.#window.allowed;
      if (this.#ramp && !this.#ramp.done) snap.ramp = Math.round(this.#ramp.perSecond);
    }
    const pause = this.#pause(now);
    if (pause) snap.pause = pause;
    const down = this.#health.down;
    if (down) snap.down = down;
    return snap;
  }

  // ── admission ────────────────────────────────────────────────────────────────────────────

  /** Admits every waiter that may go now, in priority order; arms one timer for the next. */
  #pump(): void {
    if (this.#pumping) {
      this.#repump = true; // a release during a grant: the loop below goes round again
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#repump = false;
        const now = this.#scheduler.now();
        this.#refreshRates(now);
        for (;;) {
          const head = this.#queue.peek();
          if (head === undefined) {
            this.#boundSince = undefined;
            this.#ramp?.idle();
            this.#cancelTimer();
            break;
          }
          const wait = this.#waitMs(head, now);
          if (wait > 0) {
            if (wait !== Number.POSITIVE_INFINITY) this.#arm(now, wait);
            break;
          }
          this.#queue.shift();
          this.#grant(head, now);
        }
      } while (this.#repump);
    } finally {
      this.#pumping = false;
    }
  }

  /** 0 when `lease` may start now; Infinity when it waits for a release rather than for time. */
  #waitMs(lease: Lease, now: number): number {
    let wait = this.#pausedUntil - now;
    if (!this.#gate.open && this.#inFlight >= 1) {
      const gateWait = this.#gate.waitMs(now);
      if (gateWait > 0) return Math.max(wait, gateWait);
    }
    if (this.#windowGoverns()) {
      if (this.#inFlight >= this.#window.allowed) return Number.POSITIVE_INFINITY;
      const ramp = this.#ramp;
      if (ramp && !ramp.done && wait <= 0) {
        const rampWait = ramp.waitMs(now);
        if (rampWait > wait) wait = rampWait;
      }
    }
    if (this.#requests) {
      const requestWait = this.#requests.waitMs(1, now);
      if (requestWait > 0 && this.#pace.estimating) {
        // The estimate is the bottleneck: let it probe upward for the time it has been so.
        if (this.#boundSince !== undefined) {
          this.#pace.probe(now - this.#boundSince, now);
          this.#refreshRates(now);
        }
        this.#boundSince = now;
      }
      if (requestWait > wait) wait = requestWait;
    }
    if (this.#tokens) {
      const tokenWait = this.#tokens.waitMs(lease.tokens, now);
      if (tokenWait > wait) wait = tokenWait;
    }
    // Whole milliseconds: a timer of 0.3 ms would only spin.
    return wait <= 0 ? 0 : Math.ceil(wait);
  }

  #grant(lease: Lease, now: number): void {
    lease.state = ADMITTED;
    if (this.#admitted === 0) this.#firstAdmissionAt = now;
    this.#lastAdmissionAt = now;
    this.#gate.admitted(now, this.#inFlight);
    if (this.#windowGoverns()) this.#ramp?.take(now);
    lease.ordinal = this.#admitted++;
    lease.tokenMark = this.#tokensAdmitted;
    lease.admittedAt = now;
    this.#tokensAdmitted += lease.tokens;
    this.#inFlight++;
    this.#requests?.take(1, now);
    this.#tokens?.take(lease.tokens, now);
    this.#admissions.record(now);
    const subscriber = lease.subscriber!;
    lease.subscriber = undefined;
    subscriber.next((outcome: CallOutcome) => this.#settle(lease, outcome));
    subscriber.complete();
  }

  #arm(now: number, wait: number): void {
    const due = now + wait;
    if (this.#timer && this.#timerDue <= due) return; // an earlier wake-up re-checks anyway
    this.#cancelTimer();
    this.#timerDue = due;
    this.#timer = this.#scheduler.schedule(() => {
      this.#timer = undefined;
      this.#timerDue = Number.POSITIVE_INFINITY;
      this.#pump();
    }, wait);
  }

  #cancelTimer(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
  }

  // ── outcomes ─────────────────────────────────────────────────────────────────────────────

  #settle(lease: Lease, outcome: CallOutcome): void {
    if (lease.state !== ADMITTED) return;
    lease.state = RELEASED;
    const now = this.#scheduler.now();
    const binding = this.#inFlight >= this.#window.allowed || this.#queue.size > 0;
    this.#inFlight--;
    const error = outcome.error;
    if (outcome.usage || (error instanceof ProviderError && error.reachedServer)) {
      this.#gate.contacted();
      if (outcome.usage) this.#health.onAnswer();
    }
    if (error !== undefined && this.#health.onFailure(error)) {
      this.#refuseWaiting();
      return;
    }
    const rateLimit = outcome.rateLimit ?? (error instanceof ProviderError ? error.rateLimit : undefined);
    if (rateLimit) this.#learn(rateLimit, lease, now);
    if (outcome.usage) {
      // The reservation was prompt estimate + completion limit; the answer says what it cost.
      const used = outcome.usage.prompt_tokens + outcome.usage.completion_tokens;
      this.#tokens?.adjust(lease.tokens - used);
      if (this.#windowGoverns()) this.#window.onSuccess(binding);
    } else if (error instanceof ProviderError && error.kind === "rate_limit") {
      this.#onRateLimited(lease, error, now);
    }
    // Other failures keep their reservation: providers count failed requests against the limit.
    this.#pump();
  }

  /** The endpoint was given up on: every waiting call fails at once, without a request. */
  #refuseWaiting(): void {
    this.#cancelTimer();
    for (let lease = this.#queue.shift(); lease !== undefined; lease = this.#queue.shift()) {
      const subscriber = lease.subscriber;
      lease.subscriber = undefined;
      lease.state = RELEASED;
      const refusal = this.#health.refusal();
      if (refusal) subscriber?.error(refusal);
    }
  }

  /** Why the head of the queue waits for time, and how long: for the progress line. */
  #pause(now: number): BudgetPause | undefined {
    const waiting = this.#queue.size;
    if (waiting === 0) return undefined;
    const host = endpointHost(this.key);
    if (this.#pausedUntil > now) {
      return {
        reason: `rate limited by ${host} (Retry-After)`,
        remainingMs: this.#pausedUntil - now,
        waiting,
      };
    }
    if (this.#timer === undefined || this.#timerDue <= now) return undefined;
    const rpm = this.#requests ? ` at ${Math.round(this.#requests.perMinute)} rpm` : "";
    const source = this.#pace.rpmSource() ?? this.#pace.tpmSource();
    return {
      reason: `pacing${rpm} for ${host}${source ? ` (${source} limit)` : ""}`,
      remainingMs: this.#timerDue - now,
      waiting,
    };
  }

  #onRateLimited(lease: Lease, error: ProviderError, now: number): void {
    this.#rateLimited++;
    this.#refusals.record(now);
    const info = error.rateLimit;
    // The 429's own headers say quota remains: refused for another reason (overload, a cap on
    // concurrent requests). The call retries after its Retry-After; pace and pause stay as they are.
    if (quotaLeft(info)) return;
    this.#spacing.refused(lease.ordinal);
    this.#sinceRefusal.refused(lease.ordinal, lease.admittedAt);
    const exhausted = info?.remainingRequests === 0 || info?.remainingTokens === 0;
    const since = this.#firstAdmissionAt;
    const refused = this.#refusals.perMinute(now, since);
    const refill = this.#sinceRefusal.perMinute(this.#admitted, this.#lastAdmissionAt);
    const acceptedAll = this.#admissions.perMinute(now, since) - refused;
    const accepted = refill === undefined ? acceptedAll : Math.min(acceptedAll, refill);
    // A real share of the last second's calls refused: the endpoint is over a cap. Below it, a
    // server is shedding a call now and then, and only that call waits (for its Retry-After).
    // Probing above a cap measured from the spacing of 429s, the first 429 is the boundary:
    // waiting for a share of refusals would only add to them. Not below it: there a 429 is a
    // server shedding a call now and then, which must not be taken for a wave (nor pause anyone).
    const measured = this.#pace.measuredRpm;
    const overCap =
      exhausted ||
      (measured !== undefined && (this.#requests?.perMinute ?? 0) >= measured) ||
      refusalsSayOverCap({
        paced: this.#pace.estimating || this.#pace.known,
        refusals: this.#refusals.count(now),
        refusedShare: refused / Math.max(1e-9, this.#admissions.perMinute(now, since)),
      });
    // With no limit known, scattered 429s say nothing about a rate: no estimate, no cut, no pause.
    // Under a known limit every new wave cuts (the limit may be shared with someone else).
    if (!overCap && !this.#pace.known) return;
    // A new wave: this call was admitted after the last cut. The rest of a wave cuts nothing.
    const newWave = lease.ordinal >= this.#cutOrdinal;
    if (newWave) {
      const measuredBefore = this.#pace.measuredRpm;
      const paceBefore = this.#requests?.perMinute;
      let spaced = this.#pace.known ? undefined : this.#spacing.onWave(lease.ordinal, lease.admittedAt);
      // A span in which the client sent well below its pace (a starved event loop, too little
      // work) measures what was sent, not the cap: refusals then come from the server's side (a
      // stalled server answering a clump at once) and must not pull a measured cap down.
      if (
        spaced !== undefined &&
        measuredBefore !== undefined &&
        paceBefore !== undefined &&
        spaced.sent < BOUND_SHARE * ((paceBefore * spaced.spanMs) / 60_000)
      )
        spaced = undefined;
      // The cap is measured by this wave, and not far below where it was measured before (the
      // pace stepped over the boundary it probes for; the cap did not fall): the pace drops just
      // below the cap at once, the server's bucket then refills faster than the pace spends it,
      // and the other calls need not sit out a Retry-After a gateway rounds up to whole seconds.
      this.#probeStep =
        spaced !== undefined &&
        (measuredBefore === undefined || spaced.rpm >= PROBE_STEP_SHARE * measuredBefore);
      this.#cutOrdinal = this.#admitted;
      this.#boundSince = undefined;
      if (!this.#pace.onNewWave(accepted, now, spaced?.rpm)) this.#window.onRateLimited(this.#inFlight + 1); // + the refused call, settled just now
    } else {
      this.#pace.onSameWave(accepted);
      const refined = this.#spacing.latest;
      if (refined) this.#pace.onSpacingRefined(refined.rpm);
    }
    if (error.retryAfterMs !== undefined && overCap && !this.#probeStep) {
      const pause = Math.min(error.retryAfterMs, this.#maxPauseMs);
      this.#pausedUntil = Math.max(this.#pausedUntil, now + pause);
    }
    this.#refreshRates(now);
    this.#requests?.clamp(0, now); // the server has nothing left right now (a new bucket starts empty)
  }

  #learn(info: RateLimitInfo, lease: Lease, now: number): void {
    this.#pace.learn(info);
    this.#refreshRates(now);
    // "remaining" was counted when the server received this call; since then it has refilled for
    // the time elapsed and spent what was admitted after this call. Only ever lowers the level.
    const elapsed = now - lease.admittedAt;
    if (this.#requests && info.remainingRequests !== undefined) {
      const after = this.#admitted - lease.ordinal - 1;
      const refilled = (elapsed * this.#requests.perMinute) / 60_000;
      this.#requests.clamp(info.remainingRequests + refilled - after, now);
    }
    if (this.#tokens && info.remainingTokens !== undefined) {
      const after = this.#tokensAdmitted - lease.tokenMark - lease.tokens;
      const refilled = (elapsed * this.#tokens.perMinute) / 60_000;
      this.#tokens.clamp(info.remainingTokens + refilled - after, now);
    }
  }

  // ── rates ────────────────────────────────────────────────────────────────────────────────

  #windowGoverns(): boolean {
    return this.#requests === undefined && this.#tokens === undefined;
  }

  #burst(perMinute: number): number {
    // An estimated rate may be far off (the first one is) and its spacing measure counts calls
    // by the order they were admitted in: a burst reaching the server in another order, or
    // landing on its empty bucket, would blur both. Estimated, the burst is a twentieth of a second.
    const seconds = this.#pace.estimating
      ? Math.min(this.#burstSeconds, ESTIMATED_BURST_SECONDS)
      : this.#burstSeconds;
    return Math.max(1, (perMinute / 60) * seconds);
  }

  /** Brings the buckets in line with the pace (created on first need). */
  #refreshRates(now: number): void {
    const rpm = this.#pace.rpm(now);
    if (rpm !== undefined) this.#requests = this.#retune(this.#requests, rpm, now);
    const tpm = this.#pace.tpm(now);
    if (tpm !== undefined) this.#tokens = this.#retune(this.#tokens, tpm, now);
  }

  #retune(bucket: TokenBucket | undefined, perMinute: number, now: number): TokenBucket {
    if (bucket === undefined) return new TokenBucket(perMinute, this.#burst(perMinute), now);
    if (Math.abs(bucket.perMinute - perMinute) > 1e-9 * perMinute)
      bucket.setRate(perMinute, this.#burst(perMinute), now);
    return bucket;
  }
}
