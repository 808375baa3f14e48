// What a provider's rate-limit response headers say, as one RateLimitInfo: the admission control
// (src/limits/) adopts learned limits when the config gives none, and keeps its buckets in step
// with what the server reports as remaining. Parsing lives here, beside the providers that own
// the wire formats; the budgets never see a header.
//
// OpenAI (and most OpenAI-compatible gateways):
//   x-ratelimit-limit-requests / -remaining-requests / -reset-requests ("1s", "6m0s", "20ms")
//   x-ratelimit-limit-tokens   / -remaining-tokens   / -reset-tokens
// Anthropic:
//   anthropic-ratelimit-requests-{limit,remaining,reset} (reset as an RFC 3339 time)
//   anthropic-ratelimit-tokens-{…}, else anthropic-ratelimit-input-tokens-{…}
import type { RateLimitInfo } from "../schema/usage.js";
import { redactUrls } from "../shared/redact-secrets.js";

export type HeaderGetter = (name: string) => string | null | undefined;

const UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|us|µs|h|m|s)/g;

/** A Go-style duration as OpenAI sends it ("1s", "6m0s", "20ms", "1h2m3.5s") in ms; a bare number is seconds. */
export function parseDurationMs(text: string | null | undefined): number | undefined {
  if (text == null) return undefined;
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const bare = Number(trimmed);
  if (Number.isFinite(bare)) return Math.max(0, bare * 1000);
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(DURATION_PART)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
    consumed += match[0].length;
  }
  // Anything left over ("soon", "1 minute") is not a duration we understand.
  return consumed === trimmed.length ? total : undefined;
}

/** An absolute time (RFC 3339, as Anthropic sends it) as ms from `now`, never negative. */
export function parseResetTimeMs(text: string | null | undefined, now: number): number | undefined {
  if (text == null || text.trim() === "") return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function count(text: string | null | undefined): number | undefined {
  if (text == null || text === "") return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Builds the info from whichever fields are present; undefined when none are. */
function collect(fields: RateLimitInfo): RateLimitInfo | undefined {
  let info: RateLimitInfo | undefined;
  for (const key of Object.keys(fields) as Array<keyof RateLimitInfo>) {
    const value = fields[key];
    if (value === undefined) continue;
    info ??= {};
    info[key] = value;
  }
  return info;
}

/** OpenAI's x-ratelimit-* headers; undefined when the server sent none (most self-hosted servers). */
export function parseOpenAIRateLimit(get: HeaderGetter): RateLimitInfo | undefined {
  const limitRequests = get("x-ratelimit-limit-requests");
  const limitTokens = get("x-ratelimit-limit-tokens");
  const remainingRequests = get("x-ratelimit-remaining-requests");
  // A server may say only what remains (a gateway's 429 with "remaining: 0"): that the quota is
  // spent is worth knowing even without the limit.
  if (limitRequests == null && limitTokens == null && remainingRequests == null) return undefined;
  return collect({
    limitRequests: count(limitRequests),
    remainingRequests: count(remainingRequests),
    resetRequestsMs: parseDurationMs(get("x-ratelimit-reset-requests")),
    limitTokens: count(limitTokens),
    remainingTokens: count(get("x-ratelimit-remaining-tokens")),
    resetTokensMs: parseDurationMs(get("x-ratelimit-reset-tokens")),
  });
}

/**
 * Anthropic's anthropic-ratelimit-* headers. The combined tokens-* family is preferred; where only
 * the input-tokens-* family is sent, it stands for the token limit (convosim reserves prompt plus
 * completion tokens against it, which errs on the safe side). Output-token limits are not used.
 */
export function parseAnthropicRateLimit(
  get: HeaderGetter,
  now: number = Date.now(),
): RateLimitInfo | undefined {
  const limitRequests = get("anthropic-ratelimit-requests-limit");
  let tokens = "anthropic-ratelimit-tokens";
  let limitTokens = get(`${tokens}-limit`);
  if (limitTokens == null) {
    tokens = "anthropic-ratelimit-input-tokens";
    limitTokens = get(`${tokens}-limit`);
  }
  if (limitRequests == null && limitTokens == null) return undefined;
  return collect({
    limitRequests: count(limitRequests),
    remainingRequests: count(get("anthropic-ratelimit-requests-remaining")),
    resetRequestsMs: parseResetTimeMs(get("anthropic-ratelimit-requests-reset"), now),
    limitTokens: count(limitTokens),
    remainingTokens: count(get(`${tokens}-remaining`)),
    resetTokensMs: parseResetTimeMs(get(`${tokens}-reset`), now),
  });
}

/** Either family: what an error answer of either SDK carries (the error mapping is shared). */
export function parseRateLimitHeaders(
  get: HeaderGetter,
  now: number = Date.now(),
): RateLimitInfo | undefined {
  return parseOpenAIRateLimit(get) ?? parseAnthropicRateLimit(get, now);
}

/**
 * Which budget a hosted model's calls count against: provider, endpoint and the name of the key
 * variable — never the key itself. Models on one endpoint and key share it.
 */
export function httpEndpointKey(
  provider: string,
  baseUrl: string | undefined,
  apiKeyEnv: string | undefined,
): string {
  // Credentials in the URL are masked: the key is named in progress lines, summaries and the
  // run summary's endpointsDown, and one endpoint is one budget whoever logs in to it.
  const url = redactUrls((baseUrl ?? "").replace(/\/+$/, "").toLowerCase());
  return `${provider}|${url}|${apiKeyEnv ?? ""}`;
}
