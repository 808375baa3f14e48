// Every provider maps its failures onto ProviderError so that one retry policy can decide
// what is transient (429, 5xx, timeouts, dropped connections, malformed bodies) and what is not.
import type { RateLimitInfo } from "../schema/usage.js";
import { scrubSecrets } from "../shared/redact-secrets.js";

export type ProviderErrorKind =
  | "rate_limit"
  | "server"
  | "timeout"
  | "connection"
  | "malformed"
  | "auth"
  | "bad_request"
  | "config"
  /** The endpoint was given up on for this run (connection failures in a row): no request made. */
  | "endpoint_down"
  | "unknown";

const TRANSIENT: ReadonlySet<ProviderErrorKind> = new Set([
  "rate_limit",
  "server",
  "timeout",
  "connection",
  "malformed",
]);

/**
 * Network codes of a host that does not exist: no retry within a run will find it. EAI_AGAIN (the
 * resolver did not answer in time) is not among them: it is transient.
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set(["ENOTFOUND", "BAD_PORT"]);

/** Codes of failures while connecting: the request never reached the server. */
const CONNECT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
  "BAD_PORT",
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
  /** The network error code of a connection failure (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET, …). */
  readonly code: string | undefined;
  readonly #reachedServer: boolean | undefined;

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
      code?: string;
      /** Whether the request got to the server, when the kind and code cannot tell. */
      reachedServer?: boolean;
    } = {},
  ) {
    // Every provider failure's text passes here: URL credentials, key-like query parameters and
    // the API keys in use are masked once, before the message can reach a file or a terminal.
    super(scrubSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProviderError";
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.requestId = options.requestId;
    this.rateLimit = options.rateLimit;
    this.emptyReply = options.emptyReply === true;
    this.code = options.code;
    this.#reachedServer = options.reachedServer;
  }

  get transient(): boolean {
    if (this.code !== undefined && PERMANENT_CODES.has(this.code)) return false;
    return TRANSIENT.has(this.kind);
  }

  /**
   * True when the request got to the server (an HTTP answer, a body cut short, a timeout): such a
   * call counts as made — in the run's calls and the conversation's usage — even though it failed.
   * False for failures while connecting and for calls refused before any request.
   */
  get reachedServer(): boolean {
    if (this.#reachedServer !== undefined) return this.#reachedServer;
    if (this.status !== undefined) return true;
    // A server error without a status is the local model's failed generation: it ran.
    if (this.kind === "malformed" || this.kind === "timeout" || this.kind === "server") return true;
    if (this.kind !== "connection") return false;
    // Without a code nothing says the request left ("fetch failed": bad port, a refused URL).
    return this.code !== undefined && !CONNECT_CODES.has(this.code);
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
