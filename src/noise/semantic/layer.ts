// Choosing the semantic strategies of one message and recording the result. When a semantic
// layer is chosen, every enabled strategy of it is drawn with its own probability from its own
// seeded stream (mandatory ones always apply); if none comes up, one is picked in proportion to
// the probabilities, since the layer was chosen to do something. The cap
// (max_semantic_events_per_turn) keeps mandatory strategies first.
import type { NoiseResult, StrategySetting } from "../../schema/noise.js";
import { chance, stream, weightedIndex } from "../random.js";
import type { SemanticRewriteOutcome } from "./rewrite.js";
import { type SemanticLayerName, type SemanticStrategy, strategiesOfLayer } from "./strategies.js";

export type StrategySettings = Readonly<Record<string, Partial<StrategySetting>>>;

export interface ChooseOptions {
  layer: SemanticLayerName;
  settings: StrategySettings;
  /** At most this many strategies (0: none). */
  max: number;
  /** Keys of the message's private streams: (seed, interaction, turn). */
  keys: ReadonlyArray<string | number>;
  /** Persona steering: a multiplier of a strategy's probability (capped at 1). Default 1. */
  scale?: (strategy: SemanticStrategy) => number;
}

/** A strategy's probability after settings and steering, or undefined when it is disabled. */
function probabilityOf(strategy: SemanticStrategy, options: ChooseOptions): number | undefined {
  const setting = options.settings[strategy.name];
  if (setting?.enabled === false) return undefined;
  const base = setting?.probability ?? strategy.probability;
  return Math.min(1, base * (options.scale?.(strategy) ?? 1));
}

/** The strategies to apply to one message of `options.layer` (empty when all are disabled). */
export function chooseSemanticStrategies(options: ChooseOptions): SemanticStrategy[] {
  if (options.max <= 0) return [];
  const candidates: Array<{ strategy: SemanticStrategy; p: number }> = [];
  for (const strategy of strategiesOfLayer(options.layer)) {
    const p = probabilityOf(strategy, options);
    if (p !== undefined) candidates.push({ strategy, p });
  }
  const mandatory = candidates.filter((c) => options.settings[c.strategy.name]?.mandatory === true);
  const drawn = candidates.filter(
    (c) =>
      options.settings[c.strategy.name]?.mandatory !== true &&
      chance(stream(...options.keys, "semantic_strategy", c.strategy.name), c.p),
  );
  let chosen = [...mandatory, ...drawn];
  if (chosen.length === 0) {
    const index = weightedIndex(
      stream(...options.keys, "semantic_fallback_pick"),
      candidates.map((c) => c.p),
    );
    const picked = candidates[index];
    if (picked) chosen = [picked];
  }
  return chosen.slice(0, options.max).map((c) => c.strategy);
}

/** The NoiseResult of an accepted rewrite (no character edits: the rewrite is recorded whole). */
export function semanticNoiseResult(
  text: string,
  strategies: readonly SemanticStrategy[],
  outcome: SemanticRewriteOutcome & { rewrite: string },
): NoiseResult {
  const names = strategies.map((s) => s.name);
  const behaviours = [...new Set(strategies.map((s) => s.target_behaviour))];
  const changed = outcome.rewrite !== text;
  return {
    original_text: text,
    noisy_text: outcome.rewrite,
    changed,
    layer: changed ? (strategies[0]?.layer ?? null) : null,
    layers: changed ? [...new Set(strategies.map((s) => s.level))] : [],
    applied_strategies: changed ? names : [],
    edits: [],
    ...(changed
      ? {
          semantic: {
            strategy: names.join("+"),
            rewrite: outcome.rewrite,
            verdict: outcome.verdict,
            target_behaviour: behaviours.join("+"),
            strategies: names,
            target_behaviours: behaviours,
            ...(outcome.gap ? { gap: outcome.gap } : {}),
          },
        }
      : {}),
  };
}
