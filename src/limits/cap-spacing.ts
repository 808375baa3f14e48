// The cap of a server that sends no rate-limit headers, read from the spacing of its 429s.
//
// A server enforcing a rate with a token bucket refuses a call only when its bucket is empty. So
// between two waves of 429s — the bucket empty at the first refused call of each — the server
// accepted exactly what it refilled: rate × time, less whatever overflowed if the bucket filled up
// in between. Calls accepted between the two first refusals, over the time between them, is
// therefore the server's rate (to within a call), or a bit less: never more. Counting starts at a
// wave and ends at the next one; the time is the calls' admission times, which the server sees
// shifted by a near-constant network delay, so the span holds.
//
// Refused calls within a span are not accepted ones: every refusal is tallied by its admission
// ordinal, including late 429s answering calls admitted before the wave that reported them.

/** Spans shorter than this say little (a few calls either way move the rate a lot). */
export const MIN_SPAN_MS = 1000;

export interface SpacingMeasure {
  /** Calls accepted per minute between the previous wave and this one. */
  rpm: number;
  spanMs: number;
  accepted: number;
  /** Calls admitted in the span, refused ones included: what the client sent. */
  sent: number;
}

export class CapSpacing {
  /** The last wave's first refused call: its admission ordinal and time. */
  #waveOrdinal = -1;
  #waveAt = Number.NaN;
  /** Ordinals of refusals at or after the last wave's start (bounded: pruned at every wave). */
  #refused: number[] = [];
  /** The last measure, refined downward by late refusals falling into its span. */
  #last: (SpacingMeasure & { from: number; to: number; fromAt: number }) | undefined;

  /** Tallies one refused call (any 429 counted against the cap), by its admission ordinal. */
  refused(ordinal: number): void {
    if (ordinal >= this.#waveOrdinal) this.#refused.push(ordinal);
    const last = this.#last;
    // A late 429 for a call in the span just measured: that call was not accepted after all.
    if (last && ordinal >= last.from && ordinal < last.to) {
      last.accepted = Math.max(0, last.accepted - 1);
      last.rpm = (last.accepted / last.spanMs) * 60_000;
    }
  }

  /**
   * A new wave starts with the refused call admitted as `ordinal` at `admittedAt` (already
   * tallied with refused()). Returns the rate accepted since the previous wave, when that span is
   * long enough to measure.
   */
  onWave(ordinal: number, admittedAt: number): SpacingMeasure | undefined {
    const from = this.#waveOrdinal;
    const fromAt = this.#waveAt;
    let refusedInSpan = 0;
    const kept: number[] = [];
    for (const o of this.#refused) {
      if (o < ordinal) refusedInSpan++;
      else kept.push(o);
    }
    this.#refused = kept;
    this.#waveOrdinal = ordinal;
    this.#waveAt = admittedAt;
    this.#last = undefined;
    const spanMs = admittedAt - fromAt;
    if (from < 0 || !(spanMs >= MIN_SPAN_MS)) return undefined;
    // The wave's own first refusal is `ordinal`, not in [from, ordinal); the previous wave's is.
    const sent = ordinal - from;
    const accepted = Math.max(0, sent - refusedInSpan);
    const measure = { rpm: (accepted / spanMs) * 60_000, spanMs, accepted, sent };
    this.#last = { ...measure, from, to: ordinal, fromAt };
    return { ...measure };
  }

  /** The last measure with late refusals taken off, while no newer wave came. */
  get latest(): SpacingMeasure | undefined {
    const last = this.#last;
    return last
      ? { rpm: last.rpm, spanMs: last.spanMs, accepted: last.accepted, sent: last.sent }
      : undefined;
  }
}
