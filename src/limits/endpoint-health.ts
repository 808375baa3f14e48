// Whether an endpoint is worth calling at all. A run against an endpoint that is down (connection
// refused, host not found) or that refuses the key (401/403) used to send every conversation's
// calls anyway, each retried with backoff: a minute of retries and one failure line per
// conversation, with no reason on screen. The endpoint's admission asks here first and, once the
// endpoint is given up on, refuses every call at once, without a request.
//
// Given up on:
// - after DOWN_AFTER connection failures in a row before any answer (across conversations; an
//   answer of any kind in between resets the count), or at once for a host that does not exist;
// - at the first authentication failure (401/403): the same key fails every call;
// - at a Retry-After longer than the ceiling (call_retries.max_retry_after): the endpoint will not
//   take calls for longer than the run is willing to wait.
// Nothing is remembered across runs: a rerun tries the endpoint again.
import { ProviderError } from "../providers/errors.js";

/** Connection failures in a row (before any answer) that take an endpoint out of the run. */
export const DOWN_AFTER = 5;

export type EndpointDownKind = "endpoint_down" | "auth";

/** Why an endpoint was given up on, for the progress line and the end summary. */
export interface EndpointDown {
  /** The endpoint's base URL (or provider|model for models without one). */
  endpoint: string;
  kind: EndpointDownKind;
  /** "connection refused (ECONNREFUSED) after 5 attempts", "the key was refused (HTTP 401)". */
  reason: string;
}

/** What the endpoint key says about where calls go: its URL, and the key variable's name. */
export function endpointParts(key: string): { endpoint: string; keyEnv: string | undefined } {
  const parts = key.split("|");
  // provider|model (local, fake): no URL to name.
  if (parts.length < 3) return { endpoint: key, keyEnv: undefined };
  const [provider, url, keyEnv] = parts;
  return { endpoint: url || provider || key, keyEnv: keyEnv || undefined };
}

/** The host of an endpoint, for short messages ("rate limited by api.openai.com"). */
export function endpointHost(key: string): string {
  const { endpoint } = endpointParts(key);
  try {
    return new URL(endpoint).host || endpoint;
  } catch {
    return endpoint;
  }
}

const CODE_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EHOSTDOWN: "host down",
  UND_ERR_CONNECT_TIMEOUT: "connect timed out",
  BAD_PORT: "port refused by fetch",
};

function connectionWords(error: ProviderError): string {
  if (error.code === undefined) return "connection failed";
  return `${CODE_WORDS[error.code] ?? "connection failed"} (${error.code})`;
}

export class EndpointHealth {
  readonly #key: string;
  readonly #downAfter: number;
  readonly #maxRetryAfterMs: number;
  #failuresInARow = 0;
  #down: EndpointDown | undefined;

  constructor(key: string, options: { downAfter?: number; maxRetryAfterMs: number }) {
    this.#key = key;
    this.#downAfter = options.downAfter ?? DOWN_AFTER;
    this.#maxRetryAfterMs = options.maxRetryAfterMs;
  }

  /** Set once the endpoint is given up on; never cleared within a run. */
  get down(): EndpointDown | undefined {
    return this.#down;
  }

  /** The error a call refused by a given-up endpoint fails with (not transient: no retry). */
  refusal(): ProviderError | undefined {
    const down = this.#down;
    if (!down) return undefined;
    const what = down.kind === "auth" ? "refused the key" : "down";
    return new ProviderError(down.kind, `endpoint ${down.endpoint} ${what}: ${down.reason}`);
  }

  /** An answer of any kind: the endpoint is reachable. */
  onAnswer(): void {
    this.#failuresInARow = 0;
  }

  /** A failed attempt; returns true when it takes the endpoint out of the run. */
  onFailure(error: unknown): boolean {
    if (this.#down || !(error instanceof ProviderError)) return false;
    const { endpoint, keyEnv } = endpointParts(this.#key);
    if (error.kind === "auth") {
      const check = keyEnv ? `; check ${keyEnv}` : "";
      return this.#giveUp({
        endpoint,
        kind: "auth",
        reason: `authentication failed (HTTP ${error.status ?? "401/403"})${check}`,
      });
    }
    if (error.kind === "rate_limit" && (error.retryAfterMs ?? 0) > this.#maxRetryAfterMs) {
      const asked = Math.round((error.retryAfterMs ?? 0) / 1000);
      const ceiling = Math.round(this.#maxRetryAfterMs / 1000);
      return this.#giveUp({
        endpoint,
        kind: "endpoint_down",
        reason: `rate limited with Retry-After ${asked} s, over call_retries.max_retry_after (${ceiling} s)`,
      });
    }
    if (error.kind === "connection" && !error.reachedServer) {
      this.#failuresInARow++;
      // A host that does not exist will not appear within the run: no point in four more tries.
      if (!error.transient || this.#failuresInARow >= this.#downAfter) {
        const attempts = this.#failuresInARow;
        return this.#giveUp({
          endpoint,
          kind: "endpoint_down",
          reason: `${connectionWords(error)} after ${attempts} attempt${attempts === 1 ? "" : "s"}`,
        });
      }
      return false;
    }
    // Any other failure came with an answer (an HTTP status, a body): the endpoint is reachable.
    if (error.reachedServer) this.#failuresInARow = 0;
    return false;
  }

  #giveUp(down: EndpointDown): true {
    this.#down = down;
    return true;
  }
}
