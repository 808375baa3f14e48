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
