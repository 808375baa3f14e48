// --verbose: one line per HTTP request a hosted provider makes — method, endpoint, status,
// time to the response headers, and Retry-After when the server sent one — for debugging a
// provider. It wraps the fetch the SDK uses, so every attempt (retries included) is a line of
// its own, and nothing in it can carry a key: request headers are never read, and the URL goes
// through scrubSecrets like every printed text.
import { scrubSecrets } from "../shared/redact-secrets.js";

export type CallLogger = (line: string) => void;

let current: CallLogger | undefined;

/** Turns the call log on (a function taking each line) or off (undefined), for the process. */
export function setCallLogger(logger: CallLogger | undefined): void {
  current = logger;
}

/** The logger models created now should use, if any. */
export function callLogger(): CallLogger | undefined {
  return current;
}

function urlOf(input: Parameters<typeof fetch>[0]): string {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  return input.url;
}

/** `inner`, with a line logged for each request when it answers or fails. */
export function loggingFetch(inner: typeof fetch, log: CallLogger): typeof fetch {
  return async (input, init) => {
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const target = scrubSecrets(urlOf(input));
    const started = performance.now();
    const took = () => `${Math.round(performance.now() - started)} ms`;
    try {
      const response = await inner(input, init);
      const retryAfter = response.headers.get("retry-after");
      log(
        `call ${method} ${target} → ${response.status} in ${took()}${retryAfter ? ` (Retry-After ${retryAfter})` : ""}`,
      );
      return response;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log(`call ${method} ${target} → failed after ${took()}: ${scrubSecrets(reason)}`);
      throw error;
    }
  };
}
