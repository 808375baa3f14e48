// The pace of one endpoint: which requests and tokens per minute its buckets refill at, where
// those numbers come from, and how 429s move them.
//
// - configured (`rate_limit` in the config) wins; else learned from x-ratelimit-* headers; else,
//   for requests, estimated at the first 429 from what the endpoint accepted over the last second.
// - A new wave of 429s under a known limit cuts the pace to 90%, recovering linearly to 100% at
//   2% per second: someone else may be spending the same key, or the provider enforces the limit
//   over a shorter window than ours.
// - An estimated rate is cut to 90% of what was accepted, and probes upward while it is the
//   bottleneck — by 2% per second at first, faster the longer no 429 comes (a cubic-like probe),
//   so an estimate cut too deep recovers in seconds.
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
}

/** Never estimate below one request every ten seconds. */
const MIN_ESTIMATE_RPM = 6;

const smaller = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

export class Pace {
  readonly #options: PaceOptions;
  #configured: RateLimitConfig;
  #learned: RateLimitConfig = {};
  #estimatedRpm: number | undefined;
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
    return known !== undefined ? known * this.#factor(now) : this.#estimatedRpm;
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

  /**
   * The first 429 of a new wave. `acceptedRpm`: admissions minus refusals over the last second.
   * False when there was nothing to go on (no limit known and nothing accepted): the caller's
   * concurrency window cuts instead.
   */
  onNewWave(acceptedRpm: number, now: number): boolean {
    const factor = this.#factor(now); // read before cutAt moves
    this.#cutAt = now;
    if (this.known) {
      this.#cutFactor = Math.max(0.1, factor * (this.#options.knownDecrease ?? 0.9));
      return true;
    }
    if (!(acceptedRpm > 0)) return this.#estimatedRpm !== undefined;
    const basis = smaller(this.#estimatedRpm, acceptedRpm) as number;
    this.#estimatedRpm = Math.max(MIN_ESTIMATE_RPM, basis * (this.#options.estimateDecrease ?? 0.9));
    return true;
  }

  /** A later 429 of the same wave: refines an estimate downward as the wave's refusals come in. */
  onSameWave(acceptedRpm: number): void {
    if (this.known || this.#estimatedRpm === undefined || !(acceptedRpm > 0)) return;
    const next = acceptedRpm * (this.#options.estimateDecrease ?? 0.9);
    if (next < this.#estimatedRpm) this.#estimatedRpm = Math.max(MIN_ESTIMATE_RPM, next);
  }

  /** `elapsedMs` spent with the estimated rate as the bottleneck: raise it. */
  probe(elapsedMs: number, now: number): void {
    if (!this.estimating || elapsedMs <= 0) return;
    const sinceCut = Number.isFinite(this.#cutAt) ? now - this.#cutAt : 0;
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
