// The distractor's counters: what happened to every message it saw, so a run can say how much
// noise it really added, how often the verifier rejected a rewrite, and why semantic noise fell
// back to surface noise. Honest numbers, not configuration echoed back.

export interface DistractorStats {
  /** Messages handed to the distractor. */
  messages: number;
  /** Messages that passed the activation gate (activation_probability). */
  activated: number;
  /** Messages whose text actually changed. */
  changed: number;
  /** Layer chosen by layer_weights for activated messages (before any fallback). */
  chosen_layers: Record<string, number>;
  /** Layer that actually changed the text. */
  applied_layers: Record<string, number>;
  semantic: {
    /** Messages a semantic rewrite was tried for. */
    attempted: number;
    /** Rewrites the verifier accepted. */
    accepted: number;
    /** Messages whose every rewrite was rejected (dropped; the message fell back). */
    dropped: number;
    rewrite_calls: number;
    verifier_calls: number;
    verifier_passed: number;
    /** Verifier rejections (one per rejected attempt that reached the verifier). */
    verifier_failed: number;
    /** Attempts rejected by local checks before the verifier (unparseable, new numbers, …). */
    local_rejections: number;
    /** Messages whose model calls failed after retries (transient errors only). */
    errors: number;
  };
  /** Why a semantic layer fell back to surface noise, by reason. */
  fallbacks: Record<string, number>;
}

export function emptyStats(): DistractorStats {
  return {
    messages: 0,
    activated: 0,
    changed: 0,
    chosen_layers: {},
    applied_layers: {},
    semantic: {
      attempted: 0,
      accepted: 0,
      dropped: 0,
      rewrite_calls: 0,
      verifier_calls: 0,
      verifier_passed: 0,
      verifier_failed: 0,
      local_rejections: 0,
      errors: 0,
    },
    fallbacks: {},
  };
}

export function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** A deep copy, so callers cannot change the live counters. */
export function snapshot(stats: DistractorStats): DistractorStats {
  return structuredClone(stats);
}
