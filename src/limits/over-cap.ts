// When the 429s of an endpoint that sends no rate-limit headers say it is over a cap, rather than
// a server shedding a call now and then (endpoint-budget.ts acts on the answer).

/**
 * With no rate known or estimated, 429s for at least this share of the calls admitted over the
 * last second, and at least OVER_CAP_MIN_REFUSALS of them, mean the endpoint is over a cap (over
 * a cap, every call beyond it is refused, so they come within milliseconds); fewer are a server
 * shedding load. A share of a small sample is no evidence: at 5 % and no minimum, one scattered
 * 429 among the opening's first calls (or two in a second at 60 calls/s) read as a cap, and the
 * pace was set from the few calls the client itself had let through — a fault storm with 3 %
 * scattered 429s crawled at 3 calls/s, where 8 s were enough.
 */
const OVER_CAP_SHARE = 0.1;
const OVER_CAP_MIN_REFUSALS = 5;

/**
 * Once a rate is known or estimated (the endpoint was found over a cap before), the pace sits
 * near that cap and a new wave is told at once: each 429 waited for is one more refused call.
 */
const OVER_CAP_SHARE_PACED = 0.05;

export interface RecentRefusals {
  /** A rate is known or estimated (the endpoint was found over a cap before). */
  paced: boolean;
  /** 429s over the last second. */
  refusals: number;
  /** Those 429s as a share of the calls admitted over the same second. */
  refusedShare: number;
}

/** Whether the last second's 429s say the endpoint is over a cap. */
export function refusalsSayOverCap(recent: RecentRefusals): boolean {
  if (recent.paced) return recent.refusedShare >= OVER_CAP_SHARE_PACED;
  return recent.refusals >= OVER_CAP_MIN_REFUSALS && recent.refusedShare >= OVER_CAP_SHARE;
}

/** Below this span the calls admitted since the first 429 are too few to tell a rate. */
const REFILL_MIN_SPAN_MS = 20;
/**
 * Past this span the measure is no longer the opening's: it would take in the pause for a
 * Retry-After, in which the client sent nothing while the server refilled.
 */
const REFILL_MAX_SPAN_MS = 1000;
/**
 * A few calls tell a rate only roughly: it is read high by this many calls, so that an unlucky
 * handful does not set the pace far below the cap (from there it rises back only slowly).
 */
const REFILL_SLACK = 1;

/**
 * What an endpoint accepted from its first 429 on: the rate its cap refills at. The rate accepted
 * since the first admission (what an estimate was made from before) counts the full bucket the
 * server started with as rate: against a 50-deep bucket refilling at 50/s it read 9,100 rpm after
 * an opening at 100 calls/s, 33,000 rpm at 400/s, and the pace then came down about 10 % per
 * 429. It is measured over the admissions from the first refused call's to the latest one's:
 * calls admitted in that span and not refused count as accepted, as 429s come back first. Calls
 * admitted all at once (a burst, no ramp) span no time and tell no rate.
 */
export class AcceptedSinceRefusal {
  #from: { ordinal: number; admittedAt: number } | undefined;
  #refused = 0;

  /** The call admitted as the `ordinal`-th, at `admittedAt`, was refused. */
  refused(ordinal: number, admittedAt: number): void {
    // A 429 for a call admitted long after the first one counted starts the measure over: a
    // scattered 429 early in a run must not keep a cap met later from being measured.
    if (this.#from !== undefined && admittedAt - this.#from.admittedAt > REFILL_MAX_SPAN_MS) {
      this.#from = undefined;
      this.#refused = 0;
    }
    // Out of order, an earlier call's 429 moves the start back: every 429 counted so far is later.
    if (this.#from === undefined || ordinal < this.#from.ordinal) this.#from = { ordinal, admittedAt };
    this.#refused++;
  }

  /**
   * Calls per minute accepted from the first 429's call on, `admitted` calls having been admitted
   * in all, the latest at `lastAdmittedAt`; undefined when the span is too short to say.
   */
  perMinute(admitted: number, lastAdmittedAt: number): number | undefined {
    if (this.#from === undefined) return undefined;
    const span = lastAdmittedAt - this.#from.admittedAt;
    if (span < REFILL_MIN_SPAN_MS || span > REFILL_MAX_SPAN_MS) return undefined;
    const accepted = Math.max(0, admitted - this.#from.ordinal - this.#refused);
    return ((accepted + REFILL_SLACK) * 60_000) / span;
  }
}
