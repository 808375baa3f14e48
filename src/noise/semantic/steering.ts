// Persona steering of the semantic strategies: the steering table's L4–L6 rows
// (underspecified_slot, irrelevant_context, multi_intent; data/noise/steering.yaml, overridable
// by distractor.steering) give each persona a rate; its ratio to the row's base scales the
// probability of the strategies of that row. A formal writer leaves fewer slots open, a
// frustrated one vents more, an often-multi-intent persona mixes requests more.
import type { SteeringRow } from "../../schema/noise.js";
import { resolveSteering, steeringTable } from "../steering.js";
import type { SemanticStrategy } from "./strategies.js";

/** The steering row of each semantic strategy. */
const ROW_OF: Readonly<Record<string, string>> = {
  missing_slots: "underspecified_slot",
  vague_slot_values: "underspecified_slot",
  context_dependency: "underspecified_slot",
  unclear_priority: "underspecified_slot",
  irrelevant_context: "irrelevant_context",
  near_topic_distractor: "irrelevant_context",
  multi_intent: "multi_intent",
  intent_ambiguity: "multi_intent",
  self_contradiction: "multi_intent",
  mind_changing: "multi_intent",
};

export function steeringRowOf(strategy: string): string | undefined {
  return ROW_OF[strategy];
}

/** The multiplier of each semantic strategy's probability for a persona (1 without a row). */
export function semanticScale(
  features: Readonly<Record<string, unknown>>,
  overrides: Record<string, SteeringRow> = {},
  seed = 0,
): (strategy: SemanticStrategy) => number {
  const table = steeringTable(overrides);
  const { rates } = resolveSteering({ ...features }, overrides, { seed });
  return (strategy) => {
    const row = ROW_OF[strategy.name];
    const base = row ? table[row]?.base : undefined;
    const rate = row ? rates[row] : undefined;
    if (base === undefined || rate === undefined) return 1;
    return base > 0 ? rate / base : 1;
  };
}
