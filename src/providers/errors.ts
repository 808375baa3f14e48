// Every provider maps its failures onto ProviderError so that one retry policy can decide
// what is transient (429, 5xx, timeouts, dropped connections, malformed bodies) and what is not.
import type { RateLimitInfo } from "../schema/usage.js";

export type ProviderErrorKind =
  | "rate_limit"
  | "server"
  | "timeout"
  | "connection"
  | "malformed"
  | "auth"
  | "bad_request"
  | "config"
  | "unknown";

const TRANSIENT: ReadonlySet<ProviderErrorKind> = new Set([
  "rate_limit",
  "server",
  "timeout",
  "connection",
  "malformed",
]);

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  /** From a Retry-After (or retry-after-ms) header, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  /** The rate-limit headers of the error answer (a 429 says how far over the limit the caller is). */
  readonly rateLimit: RateLimitInfo | undefined;
  /**
   * The model answered, with no text. Retrying the same request byte for byte rarely helps:
   * callers that can vary the request (a new seed, a hotter sample) re-ask instead.
   */
  readonly emptyReply: boolean;

  constructor(
    kind: ProviderErrorKind,
    message: string,
    options: {
      status?: number;
      retryAfterMs?: number;
      requestId?: string;
      rateLimit?: RateLimitInfo;
      cause?: unknown;
      emptyReply?: boolean;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProviderError";
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.requestId = options.requestId;
    this.rateLimit = options.rateLimit;
    this.emptyReply = options.emptyReply === true;
  }

  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }
}

/** The model answered with no text (see ProviderError.emptyReply). */
export function isEmptyReply(error: unknown): error is ProviderError {
  return error instanceof ProviderError && error.emptyReply;
}

/** True for errors worth retrying. Unknown errors (bugs) are not retried. */
export function isTransient(error: unknown): boolean {
  return error instanceof ProviderError && error.transient;
}

/** Parses Retry-After (seconds or HTTP date) and retry-after-ms into milliseconds. */
export function parseRetryAfter(
  header: (name: string) => string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const ms = header("retry-after-ms");
  if (ms != null && ms !== "" && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = header("retry-after");
  if (value == null || value === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
