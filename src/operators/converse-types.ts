// What a conversation needs from the run (ConverseDeps) and what it reports back
// (ConversationEvents): the contract of converse() and converseAll(), kept apart from the
// turn-by-turn logic in converse.ts so the operator's options read in one place.
import type { SchedulerLike } from "rxjs";
import type { ModelIdentity, ResponseCache } from "../cache/index.js";
import type { AssistantPool } from "../conversation/assistant-pool.js";
import type { NoiseHook } from "../conversation/noise-hook.js";
import type { PriceTable } from "../conversation/pricing.js";
import type { StopJudge } from "../conversation/stop-judge.js";
import type { TurnLimits } from "../conversation/turn-rules.js";
import type { TurnVerifier } from "../conversation/turn-verifier.js";
import type { UserSimulator } from "../conversation/user-simulator.js";
import type { Admission } from "../limits/types.js";
import type { ChatModel } from "../providers/types.js";
import type { UsageRecord } from "../schema/interaction.js";
import type { CallRetryPolicy } from "./call-model.js";

export interface ConversationEvents {
  /** Every model call that returned, with its usage and cost. */
  onCall?(record: UsageRecord): void;
  /** Every retry of a model call after a transient failure, and how long it waits first. */
  onCallRetry?(error: unknown, delayMs?: number): void;
  /**
   * A conversation the stop signal (or the hard abort) ended before it finished: it is neither
   * saved nor a failure, but its calls were paid for (the run writes them to the usage ledger).
   */
  onInterrupted?(conversation: InterruptedConversation): void;
}

/** What is left of a conversation the stop signal ended: who it was, and every call it paid for. */
export interface InterruptedConversation {
  interaction_id: string;
  persona_id: string;
  query_id: string;
  completed_turns: number;
  /** False for a task the stop signal kept from starting (its helper steps may have paid already). */
  started: boolean;
  usage: UsageRecord[];
}

/** The response cache as conversations use it: a store, and which identity a model has. */
export interface ConversationCache {
  store: ResponseCache;
  /** Undefined for a model the cache cannot tell apart from others: its calls are not cached. */
  identityOf(model: ChatModel): ModelIdentity | undefined;
}

export interface ConverseDeps {
  pool: AssistantPool;
  user: UserSimulator;
  limits: TurnLimits;
  noise?: NoiseHook;
  callRetry: CallRetryPolicy;
  /** Per conversation: failed steps retried (from the last good turn) before giving up. */
  maxRetries: number;
  retryDelayMs: number;
  prices: PriceTable;
  scheduler?: SchedulerLike;
  events?: ConversationEvents;
  /** Admission control per model endpoint (src/limits); absent: calls start at once. */
  admissionFor?: (model: ChatModel) => Admission | undefined;
  /** Aborts model calls in flight (the run's hard stop, e.g. a second Ctrl-C). */
  signal?: AbortSignal;
  /**
   * The run's stop (a first Ctrl-C or SIGTERM): a conversation ends at its next model call or
   * turn, every wait ends at once, requests already sent finish; the conversation is reported
   * through events.onInterrupted, neither saved nor failed (stop.ts).
   */
  stopSignal?: AbortSignal;
  cache?: ConversationCache;
  /** After each assistant reply from min_turns on: has the expected outcome been reached? */
  judge?: StopJudge;
  /** Checks each user turn that passed the guards (a model call per turn). */
  verifier?: TurnVerifier;
  /** Re-asks of an empty assistant reply (assistant_model.max_reasks); default 2. */
  assistantReasks?: number;
}
