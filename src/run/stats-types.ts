// The shape of `convosim stats --json` (and of computeStats()). Fields are only ever added:
// scripts and the benchmarks read the older ones.
import type { NoiseStats } from "./stats-noise.js";
import type { PersonaStats } from "./stats-personas.js";
import type { Counts, Distribution } from "./stats-tally.js";
import type { SimulatedUserStats } from "./stats-user-sim.js";

export interface ModelUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
  /** Calls answered from the response cache (no model call, no cost in this run). */
  replayed: number;
}

export interface RunStats {
  interactions: number;
  failed: number;
  success_rate: number;
  /** Turns histogram: interactions per num_turns. */
  turns: Counts;
  average_turns: number;
  stop_reasons: Counts;
  /** "provider/model" of the assistant → interactions. */
  assistant_models: Counts;
  /** "provider/model" of the simulated user → interactions. */
  user_models: Counts;
  /** Message lengths in characters, by role (user: the text the assistant saw). */
  message_lengths: { user: Distribution; assistant: Distribution };
  persona_features: PersonaStats;
  noise: NoiseStats;
  /** Re-asks and guard rejections, the stop judge, user-turn lengths by style, asking share,
   *  distinct-n and near-duplicate conversations (stats-user-sim.ts). */
  simulated_user: SimulatedUserStats;
  failures_by_kind: Counts;
  /** First line of each failure's reason (top 20, the rest under "(other)"). */
  failures_by_reason: Counts;
  /** failures.ndjson lines that could not be read. */
  unreadable_failure_lines: number;
  /** Interaction files that could not be read (not JSON, not an interaction, a directory): not counted. */
  unreadable_files: number;
  /** Keyed "role provider/model", e.g. "assistant_response openai/gpt-4o-mini". */
  usage: Record<string, ModelUsage>;
  /** Keyed "provider/model", all roles together. */
  usage_by_model: Record<string, ModelUsage>;
  /** Keyed by role (operation): assistant_response, user_feedback, style_transfer, … */
  usage_by_role: Record<string, ModelUsage>;
  total_tokens: { prompt: number; completion: number; cached: number };
  total_cost_usd: number;
}
