// Interaction and Message with the reference's fields (snake_case on disk), plus what
// convosim records on top: stop reason, usage per call, and the failure record.
import type { Usage } from "./usage.js";

export type Role = "user" | "assistant";

export interface Message {
  role: Role;
  content: string;
  timestamp: string;
  metadata: Record<string, unknown>;
}

export type StopReason =
  /** The simulated user said it was satisfied (only possible once min_turns is reached). */
  | "user_satisfied"
  /** The conversation reached the turn count drawn for it. */
  | "target_turns"
  /** The conversation reached max_turns. */
  | "max_turns";

export interface InteractionMetadata {
  created_at: string;
  completed_at: string;
  distractor_applied: boolean;
  assistant_model: { provider: string; model: string };
  user_model: { provider: string; model: string };
  stop_reason: StopReason;
  target_turns: number;
  sample_index: number;
  seed: number;
  /** Token usage of every model call made for this interaction, in order. */
  usage: UsageRecord[];
  [key: string]: unknown;
}

export interface UsageRecord extends Usage {
  /** Which part of the pipeline made the call. */
  operation: "assistant_response" | "user_feedback" | "style_transfer" | "query_generation" | string;
  provider: string;
  model: string;
  /** What this run paid: 0 for a reply replayed from the response cache. */
  cost_usd: number;
  /** True when the reply came from the response cache: no model call was made. */
  replayed?: boolean;
}

export interface Interaction {
  interaction_id: string;
  persona_id: string;
  persona_features: Record<string, unknown>;
  query_id: string;
  original_query: string;
  initial_query: string;
  messages: Message[];
  num_turns: number;
  metadata: InteractionMetadata;
}

/** A conversation that could not be completed: emitted, recorded, never saved as a success. */
export interface FailureRecord {
  status: "failed";
  interaction_id: string;
  persona_id: string;
  query_id: string;
  reason: string;
  /** Error class: rate_limit, server, timeout, connection, malformed, auth, … */
  error_kind: string;
  attempts: number;
  /** Turns completed before the failure (kept for diagnosis, not as training data). */
  completed_turns: number;
  failed_at: string;
  usage: UsageRecord[];
}

export type ConversationResult =
  | { kind: "interaction"; interaction: Interaction }
  | { kind: "failure"; failure: FailureRecord };
