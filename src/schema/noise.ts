// The shared shape of noise: what one noised message records (NOISE.md, "What each noised
// message records") and the distractor's configurable knobs. The layers live in src/noise/;
// this file is only the contract between them, the pipeline, the CLI and the exports.
import { z } from "zod";

/** One change over the clean text. Applying every edit of a result gives the noisy text. */
export interface NoiseEdit {
  /** Offsets into the clean text (UTF-16 code units, as JavaScript strings index). */
  start: number;
  end: number;
  before: string;
  after: string;
  strategy: string;
}

/** The verdict of the semantic layers' verifier on one rewrite. */
export interface NoiseVerdict {
  passed: boolean;
  /** Why it failed (or notes on a pass): "no_gap", "invented_fact", … */
  reasons: string[];
  attempts: number;
}

export interface NoiseResult {
  original_text: string;
  noisy_text: string;
  /** True only when noisy_text differs from original_text. */
  changed: boolean;
  /** The reference's layer name of the main change ("surface_noise", "incomplete_information",
   *  "semantic_ambiguity"), or null when nothing changed. */
  layer: string | null;
  /** Every layer that changed something: "L0".."L7" names of NOISE.md, e.g. "L1_spelling". */
  layers: string[];
  applied_strategies: string[];
  /** Character edits for rule-based layers; empty for a semantic rewrite (see `semantic`). */
  edits: NoiseEdit[];
  /** The input channel chosen for the persona (desktop, mobile_autocorrect, mobile_raw, voice, paste). */
  channel?: string;
  /** Present when a semantic (model) layer rewrote the message. */
  semantic?: {
    strategy: string;
    rewrite: string;
    verdict: NoiseVerdict;
    /** What a good assistant should do: "ask_for_missing_slot", "ignore_distractor", … */
    target_behaviour: string;
    /** Every strategy of the rewrite, when several were combined (strategy joins them with "+"). */
    strategies?: string[];
    /** Every target behaviour, one per distinct behaviour of the strategies. */
    target_behaviours?: string[];
    /** The rewrite model's own account of what it left out, blurred or added. */
    gap?: string;
  };
}

/**
 * One row of the persona steering table: base rate × the multipliers of the traits the persona
 * has, capped. `set` replaces the base for a trait instead of multiplying it (the table's plain
 * numbers, e.g. all-lowercase 0.55 for casual). Every field optional so config can override one.
 */
export const SteeringRow = z.strictObject({
  base: z.number().min(0).optional(),
  cap: z.number().min(0).optional(),
  multipliers: z.record(z.string(), z.number().min(0)).optional(),
  set: z.record(z.string(), z.number().min(0)).optional(),
});
export type SteeringRow = z.infer<typeof SteeringRow>;

/** The reference's three layers and their default weights. */
export const LayerWeights = z.strictObject({
  surface_noise: z.number().min(0).default(0.5),
  incomplete_information: z.number().min(0).default(0.3),
  semantic_ambiguity: z.number().min(0).default(0.2),
});
export type LayerWeights = z.infer<typeof LayerWeights>;

/** A strategy's switch: a probability of being applied when its layer is chosen, or mandatory. */
export const StrategySetting = z.strictObject({
  enabled: z.boolean().default(true),
  probability: z.number().min(0).max(1).optional(),
  mandatory: z.boolean().default(false),
});
export type StrategySetting = z.infer<typeof StrategySetting>;

// ── The hook through which noise reaches user messages during generation ──────────────────
// Here (not in conversation/) so that noise/ can build hooks without importing upward;
// conversation/noise-hook.ts re-exports these names.

export interface NoiseInput {
  text: string;
  persona_features: Readonly<Record<string, unknown>>;
  interaction_id: string;
  /** 1-based turn of the user message being noised. */
  turn: number;
  is_initial: boolean;
  seed: number;
}

/** A model call made while noising one message: recorded as a UsageRecord of the interaction. */
export interface NoiseCall {
  /** "distractor" for the semantic layers' rewrite and verifier calls. */
  operation: string;
  provider: string;
  model: string;
  usage: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number };
  /** True when the reply was replayed from the response cache (no model call made). */
  cached?: boolean;
}

export interface NoiseOutcome {
  /** The text the assistant sees. */
  text: string;
  /** True only when the text was actually changed. */
  applied: boolean;
  /** Recorded in the message metadata under `noise` (layer, strategies, edits, …). */
  details?: Record<string, unknown>;
  /** Model calls made for this message (semantic layers), in order; paid for even when dropped. */
  calls?: NoiseCall[];
}

/** "rule_based" or "semantic": what the interaction's metadata.distractor_type says. */
export type DistractorType = "rule_based" | "semantic";

export type NoiseHook = ((input: NoiseInput) => NoiseOutcome | Promise<NoiseOutcome>) & {
  /** Which kind of distractor this hook is (absent: a hand-written hook, type not recorded). */
  readonly distractorType?: DistractorType;
};
