/** Token counts of one model call, as the provider reported them (or estimated when it did not). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Prompt tokens served from the provider's prompt cache, where reported. */
  cached_tokens?: number;
}

/** What a provider's x-ratelimit-* (or anthropic-ratelimit-*) response headers said. */
export interface RateLimitInfo {
  limitRequests?: number;
  remainingRequests?: number;
  /** Milliseconds until the request budget is full again. */
  resetRequestsMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  resetTokensMs?: number;
}
