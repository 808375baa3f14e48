// Admission control: per-endpoint budgets that decide when a model call may start.
export { ConcurrencyWindow, type ConcurrencyWindowOptions, RateMeter } from "./adaptive.js";
export {
  type BudgetOptions,
  type BudgetPause,
  type BudgetSnapshot,
  DEFAULT_MAX_RETRY_AFTER_MS,
  EndpointBudget,
  type LimitSource,
  type RateLimitConfig,
} from "./endpoint-budget.js";
export {
  callTicket,
  EndpointBudgets,
  type EndpointBudgetsOptions,
  endpointKeyOf,
} from "./endpoint-budgets.js";
export {
  DOWN_AFTER,
  type EndpointDown,
  type EndpointDownKind,
  EndpointHealth,
  endpointHost,
  endpointParts,
} from "./endpoint-health.js";
export { Pace, type PaceOptions } from "./pace.js";
export { TokenBucket } from "./token-bucket.js";
export type { Admission, CallOutcome, CallTicket, RateLimitInfo, Release } from "./types.js";
export { type Waiter, WaitQueue } from "./wait-queue.js";
