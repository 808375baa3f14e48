// Cost of a model call from its token usage. Prices are USD per million tokens keyed
// "provider/model"; the config's `pricing` table extends and overrides the built-in one.
import type { PriceEntry } from "../schema/config.js";
import type { Usage } from "../schema/usage.js";

/**
 * A few well-known list prices (USD per million tokens, checked 2026). They change:
 * set your own under `pricing:` in the config. Unknown models cost 0 and are reported
 * as unpriced by `convosim stats`.
 */
export const BUILT_IN_PRICES: Readonly<Record<string, PriceEntry>> = {
  "openai/gpt-4o-mini": { input: 0.15, output: 0.6, cached_input: 0.075 },
  "openai/gpt-4o": { input: 2.5, output: 10, cached_input: 1.25 },
  "openai/gpt-4.1-mini": { input: 0.4, output: 1.6, cached_input: 0.1 },
  "openai/gpt-4.1": { input: 2, output: 8, cached_input: 0.5 },
  "anthropic/claude-3-5-haiku-latest": { input: 0.8, output: 4, cached_input: 0.08 },
  "anthropic/claude-sonnet-4-5": { input: 3, output: 15, cached_input: 0.3 },
  "openrouter/anthropic/claude-3.5-haiku": { input: 0.8, output: 4 },
  "openrouter/google/gemini-2.0-flash-exp": { input: 0, output: 0 },
};

export class PriceTable {
  private readonly prices: Map<string, PriceEntry>;

  constructor(overrides: Readonly<Record<string, PriceEntry>> = {}) {
    this.prices = new Map(Object.entries({ ...BUILT_IN_PRICES, ...overrides }));
  }

  price(provider: string, model: string): PriceEntry | undefined {
    return this.prices.get(`${provider}/${model}`);
  }

  /** Cached prompt tokens are billed at cached_input when known, else at the input price. */
  cost(provider: string, model: string, usage: Usage): number {
    if (provider === "local" || provider === "fake") return 0;
    const price = this.price(provider, model);
    if (!price) return 0;
    const cached = Math.min(usage.cached_tokens ?? 0, usage.prompt_tokens);
    const uncached = usage.prompt_tokens - cached;
    const dollars =
      uncached * price.input +
      cached * (price.cached_input ?? price.input) +
      usage.completion_tokens * price.output;
    return dollars / 1_000_000;
  }
}
