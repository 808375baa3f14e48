// One budget per endpoint, created on first use. Models on one endpoint and key (the simulated
// user and an assistant on the same account, two pool entries on one gateway) share a budget,
// because the provider counts their calls together; models elsewhere have their own, so a 429 on
// one endpoint never holds back another.
import type { SchedulerLike } from "rxjs";
import { estimatePromptTokens } from "../providers/estimate.js";
import type { ChatModel, ChatRequest } from "../providers/types.js";
import {
  type BudgetOptions,
  type BudgetSnapshot,
  EndpointBudget,
  type RateLimitConfig,
} from "./endpoint-budget.js";
import type { EndpointDown } from "./endpoint-health.js";
import type { CallTicket } from "./types.js";

export type EndpointBudgetsOptions = Omit<BudgetOptions, "limit"> & { scheduler?: SchedulerLike };

/** Which budget a model's calls count against: its endpoint key, else provider|model. */
export function endpointKeyOf(model: Pick<ChatModel, "provider" | "model" | "endpointKey">): string {
  return model.endpointKey ?? `${model.provider}|${model.model}`;
}

/**
 * The ticket of one call: its priority (higher first; a conversation passes its turn number so
 * that conversations further along go first) and the tokens reserved for it — the prompt
 * estimate plus the completion limit (the request's maxTokens, else `defaultMaxTokens`).
 */
export function callTicket(request: ChatRequest, priority: number, defaultMaxTokens = 0): CallTicket {
  return {
    priority,
    tokens: estimatePromptTokens(request.messages) + (request.maxTokens ?? defaultMaxTokens),
  };
}

export class EndpointBudgets {
  readonly #budgets = new Map<string, EndpointBudget>();
  readonly #options: EndpointBudgetsOptions;

  constructor(options: EndpointBudgetsOptions = {}) {
    this.#options = options;
  }

  /**
   * The budget of `model`'s endpoint. `limit` is that model's configured `rate_limit`; when
   * several models on one endpoint configure different limits, the smaller value of each field
   * wins (the provider enforces one limit for the endpoint and key).
   */
  for(model: Pick<ChatModel, "provider" | "model" | "endpointKey">, limit?: RateLimitConfig): EndpointBudget {
    const key = endpointKeyOf(model);
    let budget = this.#budgets.get(key);
    if (budget === undefined) {
      budget = new EndpointBudget(key, { ...this.#options, ...(limit ? { limit } : {}) });
      this.#budgets.set(key, budget);
    } else budget.configure(limit);
    return budget;
  }

  /** The budget under `key`, if one was created. */
  get(key: string): EndpointBudget | undefined {
    return this.#budgets.get(key);
  }

  /** The endpoints given up on in this run (down, key refused), in the order they were created. */
  down(): EndpointDown[] {
    const down: EndpointDown[] = [];
    for (const budget of this.#budgets.values()) if (budget.down) down.push(budget.down);
    return down;
  }

  /** Every endpoint's state, for progress lines and benchmarks. */
  snapshot(): BudgetSnapshot[] {
    return [...this.#budgets.values()].map((budget) => budget.snapshot());
  }
}
