// model_pool weights are relative ("0.2, 0.3" or "1, 1, 2" both work); the picker wants
// probabilities. The schema already rejects negative and all-zero weights; this check stays
// for pools built in code, which never went through the schema.
import { InputError } from "./errors.js";

const POOL_FIELD = "interaction_generation.assistant_model.model_pool";

/**
 * Probabilities aligned with `pool` (same order), summing to 1. A missing weight counts as 1,
 * like the schema's default. Throws InputError for an empty pool, a negative or non-finite
 * weight, or weights that are all zero.
 */
export function normalisePoolWeights(
  pool: ReadonlyArray<{ readonly weight?: number | undefined }>,
  field: string = POOL_FIELD,
): number[] {
  if (pool.length === 0) throw new InputError({ field, message: "must list at least one model" });
  const weights = pool.map((entry, index) => {
    const weight = entry.weight ?? 1;
    if (!Number.isFinite(weight) || weight < 0) {
      throw new InputError({
        field: `${field}[${index}].weight`,
        message: `weights must be finite and not negative (got ${weight})`,
      });
    }
    return weight;
  });
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total <= 0) {
    throw new InputError({ field, message: "at least one model_pool weight must be greater than 0" });
  }
  const probabilities = weights.map((weight) => weight / total);
  // Floating-point sums can land at 0.9999999999999999; give the remainder to the last
  // non-zero entry so that a cumulative walk always ends at exactly 1.
  const drift = 1 - probabilities.reduce((sum, p) => sum + p, 0);
  const last = probabilities.findLastIndex((p) => p > 0);
  if (drift !== 0 && last >= 0) probabilities[last] = probabilities[last]! + drift;
  return probabilities;
}
