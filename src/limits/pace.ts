// The pace of one endpoint: which requests and tokens per minute its buckets refill at, where
// those numbers come from, and how 429s move them.
//
// - configured (`rate_limit` in the config) wins; else learned from x-ratelimit-* headers; else,
//   for requests, estimated from the 429s of a server that sends no headers.
// - A new wave of 429s under a known limit cuts the pace to 90%, recovering linearly to 100% at
//   2% per second: someone else may be spending the same key, or the provider enforces the limit
//   over a shorter window than ours.
// - Estimated: at the first wave, 90% of what the endpoint accepted over the last second (an
//   upper bound: the server's opening burst is in it), probing upward by 2% per second, faster the
//   longer no 429 comes. From the second wave on, the spacing of the waves measures the cap itself
//   (cap-spacing.ts): the pace then holds just below it (98%) and probes upward only slowly, so
//   that it steps over the boundary seldom — each step costs a 429 or two — instead of sawing
//   between 90% and 115% of the cap with a handful of 429s every few seconds.
import type { RateLimitInfo } from "../schema/usage.js";

/** A model config's `rate_limit`. */
export interface RateLimitConfig {
  rpm?: number | undefined;
  tpm?: number | undefined;
}

export type LimitSource = "configured" | "learned" | "estimated";

export interface PaceOptions {
  /** Pace multiplier after a wave of 429s under a known limit. Default 0.9. */
  knownDecrease?: number;
  /** How fast that multiplier returns to 1, per second. Default 0.02. */
  recoveryPerSecond?: number;
  /** Estimated rate after a wave of 429s: this share of what the endpoint accepted. Default 0.9. */
  estimateDecrease?: number;
  /** How fast an estimated rate probes upward while it is the bottleneck, per second. Default 0.02. */
  probePerSecond?: number;
  /** Share of a cap measured from the spacing of 429s to hold at. Default 0.98. */
  holdShare?: number;
  /**
   * Right after a wave the pace starts from this share of the measured cap and climbs back to the
   * hold share at `recoveryPerSecond`: the server's bucket is empty then, and refilling it by a
   * few calls keeps calls that arrive unevenly (a loaded machine, a network) from being refused
   * — each such refusal would measure the pace itself and pull the cap down. Default 0.9.
   */
  cushionShare?: number;
  /** How fast the pace probes above a measured cap while it is the bottleneck, per second. Default 0.003. */
  holdProbePerSecond?: number;
}

/** Never estimate below one request every ten seconds. */
const MIN_ESTIMATE_RPM = 6;

/** A measure at least this share of the last one is "a little lower" (see onNewWave). */
const CLOSE_MEASURE = 0.9;

const smaller = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

export class Pace {
  readonly #options: PaceOptions;
  #configured: RateLimitConfig;
  #learned: RateLimitConfig = {};
  #estimatedRpm: number | undefined;
  /** The cap measured from the spacing of two waves of 429s (cap-spacing.ts), once there is one. */
  #measuredRpm: number | undefined;
  /** The last wave measured less than the one before (and was not believed, if close). */
  #lastMeasureLower = false;
  /** Multiplier on known limits: cutFactor at cutAt (the last new wave), recovering linearly. */
  #cutFactor = 1;
  #cutAt = Number.NEGATIVE_INFINITY;

  constructor(limit: RateLimitConfig = {}, options: PaceOptions = {}) {
    this.#configured = { rpm: limit.rpm, tpm: limit.tpm };
    this.#options = options;
  }

  /** Adds configured limits: the smaller value wins per field (one endpoint, one provider limit). */
  configure(limit: RateLimitConfig): void {
    this.#configured = {
      rpm: smaller(this.#configured.rpm, limit.rpm),
      tpm: smaller(this.#configured.tpm, limit.tpm),
    };
  }

  /** Limits from response headers. Models on one key may report different ones: the smallest is kept. */
  learn(info: RateLimitInfo): void {
    if (info.limitRequests !== undefined && info.limitRequests > 0)
      this.#learned.rpm = smaller(this.#learned.rpm, info.limitRequests);
    if (info.limitTokens !== undefined && info.limitTokens > 0)
      this.#learned.tpm = smaller(this.#learned.tpm, info.limitTokens);
  }

  /** A limit is configured or learned (the adaptive window steps aside once any rate is known). */
  get known(): boolean {
    return this.#knownRpm() !== undefined || this.#knownTpm() !== undefined;
  }

  get estimating(): boolean {
    return this.#knownRpm() === undefined && this.#estimatedRpm !== undefined;
  }

  /** Requests per minute to pace at, undefined while none is known or estimated. */
  rpm(now: number): number | undefined {
    const known = this.#knownRpm();
    if (known !== undefined) return known * this.#factor(now);
    const estimated = this.#estimatedRpm;
    const measured = this.#measuredRpm;
    if (estimated === undefined || measured === undefined) return estimated;
    // The cushion after a wave (cushionShare), climbing back to the hold share.
    const climbed = ((this.#options.recoveryPerSecond ?? 0.02) * (now - this.#cutAt)) / 1000;
    const cushion = measured * ((this.#options.cushionShare ?? 0.9) + climbed);
    return cushion < estimated ? Math.max(MIN_ESTIMATE_RPM, cushion) : estimated;
  }

  tpm(now: number): number | undefined {
    const known = this.#knownTpm();
    return known === undefined ? undefined : known * this.#factor(now);
  }

  rpmSource(): LimitSource | undefined {
    if (this.#configured.rpm !== undefined) return "configured";
    if (this.#learned.rpm !== undefined) return "learned";
    return this.#estimatedRpm === undefined ? undefined : "estimated";
  }

  tpmSource(): LimitSource | undefined {
    if (this.#configured.tpm !== undefined) return "configured";
    return this.#learned.tpm === undefined ? undefined : "learned";
  }

  /** The cap measured from the spacing of 429s, once two waves were far enough apart. */
  get measuredRpm(): number | undefined {
    return this.estimating ? this.#measuredRpm : undefined;
  }

  /**
   * The first 429 of a new wave. `acceptedRpm`: admissions minus refusals over the last second.
   * `spacedRpm`: what the server accepted since the previous wave (cap-spacing.ts), when that
   * span was long enough to measure. False when there was nothing to go on (no limit known and
   * nothing accepted): the caller's concurrency window cuts instead.
   */
  onNewWave(acceptedRpm: number, now: number, spacedRpm?: number): boolean {
    const factor = this.#factor(now); // read before cutAt moves
    this.#cutAt = now;
    if (this.known) {
      this.#cutFactor = Math.max(0.1, factor * (this.#options.knownDecrease ?? 0.9));
      return true;
    }
    if (this.#measuredRpm !== undefined && !(spacedRpm !== undefined && spacedRpm > 0)) {
      // Nothing measured this time (a wave too soon after the last, or a span the pace did not
      // bind): the cap stays, the cushion starts over from this wave.
      return true;
    }
    if (spacedRpm !== undefined && spacedRpm > 0) {
      // The cap itself, or a little less (cap-spacing.ts): hold just below it. A measure a little
      // lower than the last is believed the second time in a row only — a call arriving late
      // can be refused with the server's bucket not quite empty, and that measures the pace, not
      // the cap — but a much lower one at once: the key may be shared, the cap may have dropped.
      const previous = this.#measuredRpm;
      const lower = previous !== undefined && spacedRpm < previous;
      const doubt = lower && spacedRpm >= CLOSE_MEASURE * previous && !this.#lastMeasureLower;
      this.#lastMeasureLower = lower;
      const measured = doubt ? (previous as number) : spacedRpm;
      this.#measuredRpm = measured;
      this.#estimatedRpm = Math.max(MIN_ESTIMATE_RPM, measured * (this.#options.holdShare ?? 0.98));
      return true;
    }
    if (!(acceptedRpm > 0)) return this.#estimatedRpm !== undefined;
    const basis = smaller(this.#estimatedRpm, acceptedRpm) as number;
    this.#estimatedRpm = Math.max(MIN_ESTIMATE_RPM, basis * (this.#options.estimateDecrease ?? 0.9));
    return true;
  }

  /**
   * A later 429 of the same wave: refines an estimate downward as the wave's refusals come in.
   * Not once a cap is measured: over the last second of a wave the server accepted its whole
   * burst, so that figure says nothing new, and a late refusal refines the spacing instead
   * (`onSpacingRefined`).
   */
  onSameWave(acceptedRpm: number): void {
    if (this.known || this.#estimatedRpm === undefined || this.#measuredRpm !== undefined) return;
    if (!(acceptedRpm > 0)) return;
    const next = acceptedRpm * (this.#options.estimateDecrease ?? 0.9);
    if (next < this.#estimatedRpm) this.#estimatedRpm = Math.max(MIN_ESTIMATE_RPM, next);
  }

  /** A late 429 lowered the last spacing measure: so much less was accepted in its span. */
  onSpacingRefined(spacedRpm: number): void {
    if (!this.estimating || this.#measuredRpm === undefined || !(spacedRpm < this.#measuredRpm)) return;
    this.#measuredRpm = spacedRpm;
    const hold = Math.max(MIN_ESTIMATE_RPM, spacedRpm * (this.#options.holdShare ?? 0.98));
    if (hold < (this.#estimatedRpm as number)) this.#estimatedRpm = hold;
  }

  /**
   * `elapsedMs` spent with the estimated rate as the bottleneck: raise it, faster the longer no
   * 429 came. Below a measured cap the pace is where it should be; above, the probe is slow.
   */
  probe(elapsedMs: number, now: number): void {
    if (!this.estimating || elapsedMs <= 0) return;
    const sinceCut = Number.isFinite(this.#cutAt) ? now - this.#cutAt : 0;
    if (this.#measuredRpm !== undefined) {
      const perSecond = (this.#options.holdProbePerSecond ?? 0.003) * (1 + sinceCut / 10_000);
      this.#estimatedRpm = (this.#estimatedRpm as number) * (1 + (perSecond * elapsedMs) / 1000);
      return;
    }
    const perSecond = (this.#options.probePerSecond ?? 0.02) * (1 + sinceCut / 5000);
    this.#estimatedRpm = (this.#estimatedRpm as number) * (1 + (perSecond * elapsedMs) / 1000);
  }

  #knownRpm(): number | undefined {
    return this.#configured.rpm ?? this.#learned.rpm;
  }

  #knownTpm(): number | undefined {
    return this.#configured.tpm ?? this.#learned.tpm;
  }

  #factor(now: number): number {
    if (this.#cutFactor >= 1) return 1;
    const recovered =
      this.#cutFactor + ((this.#options.recoveryPerSecond ?? 0.02) * (now - this.#cutAt)) / 1000;
    if (recovered < 1) return recovered;
    this.#cutFactor = 1;
    return 1;
  }
}
