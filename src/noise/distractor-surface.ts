// The distractor's view of the rule-based layers: applyNoise (their public entry) and the
// strategy names they act on, so that a strategy file can name them.
import type { NoiseResult } from "../schema/noise.js";
import { applyNoise, type NoiseOptions, STRATEGIES } from "./apply.js";

/** Rule-based noise of one message (L0–L3, L7); deterministic for its seed, turn and persona. */
export function surfaceNoise(
  text: string,
  personaFeatures: Readonly<Record<string, unknown>>,
  options: NoiseOptions,
): NoiseResult {
  return applyNoise(text, { ...personaFeatures }, options);
}

/** Names the rule-based layers act on: each strategy's own name and its reference name. */
export function surfaceStrategyNames(): string[] {
  const names = STRATEGIES.flatMap((s) => (s.reference ? [s.name, s.reference] : [s.name]));
  return [...new Set(names)];
}
