// The stand-in server's traffic shaping: seeded latency distributions, seeded fault draws, and a
// token-bucket request limiter. Kept apart from the HTTP code so each piece is easy to read and
// to test on its own. All randomness is seeded: the same seed and request order give the same
// latencies and faults.
import { mulberry32, type Random, seedFrom } from "../src/conversation/random.js";

export type LatencySpec =
  | number
  | { kind: "fixed"; ms: number }
  | { kind: "uniform"; minMs: number; maxMs: number }
  /** Clamped at 0. */
  | { kind: "normal"; meanMs: number; sdMs: number }
  /** Heavy right tail like real model latency: median · e^(σ·z). */
  | { kind: "lognormal"; medianMs: number; sigma: number };

export interface FaultRates {
  /** Fraction answered 500 or 503 (each half the time). */
  serverErrorRate?: number;
  /** Fraction answered 429 with Retry-After (independent of the requests-per-minute cap). */
  rateLimitRate?: number;
  /** Retry-After of injected 429s, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** Fraction held open and never answered (the client's timeout must fire). */
  timeoutRate?: number;
  /** Fraction answered 200 with a broken body. */
  malformedRate?: number;
  /** Which broken body: invalid JSON, JSON without choices, or either (seeded). Default mixed. */
  malformedKind?: "invalid_json" | "no_choices" | "mixed";
}

export type Fault = "timeout" | "rate_limit" | "server_500" | "server_503" | "invalid_json" | "no_choices";

export function latencySampler(spec: LatencySpec | undefined, random: Random): () => number {
  if (spec === undefined) return () => 0;
  if (typeof spec === "number") return () => Math.max(0, spec);
  switch (spec.kind) {
    case "fixed":
      return () => Math.max(0, spec.ms);
    case "uniform":
      return () => spec.minMs + random() * Math.max(0, spec.maxMs - spec.minMs);
    case "normal":
      return () => Math.max(0, spec.meanMs + spec.sdMs * gaussian(random));
    case "lognormal":
      return () => spec.medianMs * Math.exp(spec.sigma * gaussian(random));
  }
}

/** Box–Muller: one standard normal draw. */
function gaussian(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) is avoided
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Draws at most one fault per request, from one uniform number against the summed rates. */
export function faultDrawer(rates: FaultRates, random: Random): () => Fault | undefined {
  const timeout = rates.timeoutRate ?? 0;
  const rateLimit = timeout + (rates.rateLimitRate ?? 0);
  const server = rateLimit + (rates.serverErrorRate ?? 0);
  const malformed = server + (rates.malformedRate ?? 0);
  if (malformed > 1 + 1e-9) throw new RangeError(`fault rates add up to ${malformed}, more than 1`);
  const kind = rates.malformedKind ?? "mixed";
  return () => {
    if (malformed === 0) return undefined;
    const r = random();
    if (r < timeout) return "timeout";
    if (r < rateLimit) return "rate_limit";
    if (r < server) return random() < 0.5 ? "server_500" : "server_503";
    if (r < malformed) {
      if (kind !== "mixed") return kind;
      return random() < 0.5 ? "invalid_json" : "no_choices";
    }
    return undefined;
  };
}

/** Independent seeded streams, so that changing latency settings never shifts the fault draws. */
export function seededStreams(seed: number): { latency: Random; faults: Random } {
  return { latency: mulberry32(seedFrom(seed, "latency")), faults: mulberry32(seedFrom(seed, "faults")) };
}

export interface Admission {
  ok: boolean;
  /** Headers in the style of OpenAI's x-ratelimit-* family. */
  headers: Record<string, string>;
  /** When refused: how long until one request is allowed again. */
  retryAfterMs?: number;
}

/**
 * Requests-per-minute cap as a token bucket. Providers quantize per-minute limits to shorter
 * windows (OpenAI documents 60 000 rpm being enforced as 1 000 per second), so the default burst
 * is one second's worth of requests rather than a whole minute's.
 */
export class TokenBucket {
  readonly #perMs: number;
  readonly #capacity: number;
  readonly #limit: string;
  #tokens: number;
  #last: number;

  constructor(
    readonly requestsPerMinute: number,
    burst: number = Math.max(1, Math.ceil(requestsPerMinute / 60)),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(requestsPerMinute > 0)) throw new RangeError("requestsPerMinute must be positive");
    this.#perMs = requestsPerMinute / 60_000;
    this.#capacity = Math.max(1, burst);
    this.#limit = String(requestsPerMinute);
    this.#tokens = this.#capacity;
    this.#last = this.now();
  }

  take(): Admission {
    const now = this.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    const ok = this.#tokens >= 1;
    if (ok) this.#tokens -= 1;
    const resetMs = (this.#capacity - this.#tokens) / this.#perMs;
    const headers: Record<string, string> = {
      "x-ratelimit-limit-requests": this.#limit,
      "x-ratelimit-remaining-requests": String(Math.floor(this.#tokens)),
      "x-ratelimit-reset-requests": `${(resetMs / 1000).toFixed(3)}s`,
    };
    if (ok) return { ok, headers };
    return { ok, headers, retryAfterMs: Math.ceil((1 - this.#tokens) / this.#perMs) };
  }

  reset(): void {
    this.#tokens = this.#capacity;
    this.#last = this.now();
  }
}
