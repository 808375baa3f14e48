// Turn rules. A turn is one user message plus one assistant reply. Each conversation draws
// its target from [min_turns, max_turns] (seeded) unless the task gives one; the user may
// end it only once min_turns are done, and it always ends at its target (≤ max_turns).
import type { StopReason } from "../schema/interaction.js";
import { randomInt, randomStream } from "./random.js";

export interface TurnLimits {
  minTurns: number;
  maxTurns: number;
}

export function drawTargetTurns(seed: number, limits: TurnLimits, given?: number): number {
  if (given !== undefined) return Math.max(limits.minTurns, Math.min(limits.maxTurns, given));
  return randomInt(randomStream(seed, "target_turns"), limits.minTurns, limits.maxTurns);
}

/** After an assistant reply: the reason to end now, or undefined to ask the user for more. */
export function stopAfterReply(
  completedTurns: number,
  targetTurns: number,
  limits: TurnLimits,
): StopReason | undefined {
  if (completedTurns >= limits.maxTurns) return "max_turns";
  if (completedTurns >= targetTurns) return "target_turns";
  return undefined;
}

/** The user may say it is satisfied only once min_turns are complete. */
export function userMayStop(completedTurns: number, limits: TurnLimits): boolean {
  return completedTurns >= limits.minTurns;
}

/**
 * feedback_probability: the chance that a follow-up reacts to the last answer (feedback)
 * rather than moving on (follow-up question). One seeded draw per follow-up turn.
 */
export function followUpIntent(
  seed: number,
  turn: number,
  feedbackProbability: number,
): "feedback" | "followup" {
  return randomStream(seed, "feedback", turn)() < feedbackProbability ? "feedback" : "followup";
}
