// The hook through which noise reaches user messages. The noise layers themselves come
// later; until then the identity hook keeps every message clean and says so honestly.

export interface NoiseInput {
  text: string;
  persona_features: Readonly<Record<string, unknown>>;
  interaction_id: string;
  /** 1-based turn of the user message being noised. */
  turn: number;
  is_initial: boolean;
  seed: number;
}

export interface NoiseOutcome {
  /** The text the assistant sees. */
  text: string;
  /** True only when the text was actually changed. */
  applied: boolean;
  /** Recorded in the message metadata under `noise` (layer, strategies, edits, …). */
  details?: Record<string, unknown>;
}

export type NoiseHook = (input: NoiseInput) => NoiseOutcome | Promise<NoiseOutcome>;

export const noNoise: NoiseHook = (input) => ({ text: input.text, applied: false });
