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

export const STOP_REASONS = [
  "user_satisfied",
  "goal_reached",
  "user_gave_up",
  "target_turns",
  "max_turns",
  "user_sim_failed",
  "context_full",
] as const;

export type StopReason =
  /** The simulated user said it was satisfied (only possible once min_turns is reached). */
  | "user_satisfied"
  /** The stop judge found the scenario's expected outcome reached. */
  | "goal_reached"
  /** The simulated user said it is stuck or the request is out of scope (the give-up marker). */
  | "user_gave_up"
  /** The conversation reached the turn count drawn for it. */
  | "target_turns"
  /** The conversation reached max_turns. */
  | "max_turns"
  /** min_turns was met, then no usable user turn could be had: saved with the turns it has. */
  | "user_sim_failed"
  /** min_turns was met, and the next turn would not fit a model's context window. */
  | "context_full";

/** Turn guards that can be switched off in the config (docs/simulated-user.md). */
export const CONFIGURABLE_GUARDS = [
  "speaks_as_assistant",
  "speaker_label",
  "stage_direction",
  "prompt_leak",
  "wrapped",
  "repeats_user",
  "copies_assistant",
  "too_long",
  "truncated",
] as const;

/**
 * The names of the turn guards: why a simulated-user reply was rejected. `empty` cannot be
 * switched off; `stop_too_early` is a stop marker before min_turns; `verifier` the optional model check.
 */
export type GuardName = (typeof CONFIGURABLE_GUARDS)[number] | "empty" | "stop_too_early" | "verifier";

/** Every turn guard, in the order of docs/simulated-user.md (stats list them even when zero). */
export const GUARD_NAMES: readonly GuardName[] = [
  "empty",
  ...CONFIGURABLE_GUARDS,
  "stop_too_early",
  "verifier",
];

/** One rejected ask of the simulated user, kept in the accepted message's metadata. */
export interface UserRejection {
  guard: GuardName;
  /** A short human-readable reason (never the whole rejected text). */
  detail: string;
  /** The first characters of the rejected reply, for diagnosis. */
  excerpt: string;
}

/**
 * What convosim records on a simulated user's follow-up message (Message.metadata), besides
 * is_followup, intent and the noise fields:
 *   asks: number              calls it took (1 = the first reply was used)
 *   rejections: UserRejection[]   one per rejected ask, in order
 *   unwrapped?: "json" | "quotes" | "markup"   the reply was unwrapped before use
 *   continued_after_stop?: true  the user wanted to stop before min_turns and was asked to go on
 *   finish_reason: string
 * On an assistant message: refusal?: true, marker_stripped?: true, asks?: number (empty replies
 * re-asked). On the interaction (InteractionMetadata): scenario, judge_verdicts, user_simulator.
 */
export interface UserSimulatorSummary {
  /** Calls made for follow-ups, all asks included. */
  asks: number;
  /** Rejected asks by guard name. */
  rejections: Partial<Record<GuardName, number>>;
  /** How the simulated user was prompted: "chat" (roles flipped) or "transcript". */
  prompt_format: "chat" | "transcript";
}

/** The stop judge's verdict after one assistant reply. */
export interface JudgeVerdict {
  turn: number;
  reached: boolean;
  reason: string;
}

/** The scenario a conversation ran under (docs/simulated-user.md). */
export interface ScenarioRecord {
  goal?: string;
  expected_outcome?: string;
  known?: string[];
  unknown?: string[];
  constraints?: string[];
  /** input: given with the query; generated: by the scenario generator; derived: from the query alone. */
  source: "input" | "generated" | "derived";
}

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
  /** The scenario the simulated user played (absent on interactions saved before it existed). */
  scenario?: ScenarioRecord;
  /** The stop judge's verdicts, one per assistant reply it checked (only when the judge is on). */
  judge_verdicts?: JudgeVerdict[];
  /** Asks and rejections of the simulated user over the whole conversation. */
  user_simulator?: UserSimulatorSummary;
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
  /**
   * The error kind of a call that reached the server and failed (a 5xx, a body cut short, a
   * timeout): it was made, so it is counted, with no tokens and no cost.
   */
  failed?: string;
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
  /** When the simulated user failed: every rejected ask of the last turn, with its reason. */
  user_rejections?: UserRejection[];
}

export type ConversationResult =
  | { kind: "interaction"; interaction: Interaction }
  | { kind: "failure"; failure: FailureRecord };
