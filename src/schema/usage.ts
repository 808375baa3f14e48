/** Token counts of one model call, as the provider reported them (or estimated when it did not). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Prompt tokens served from the provider's prompt cache, where reported. */
  cached_tokens?: number;
}
