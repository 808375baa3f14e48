// The model-driven noise strategies (NOISE.md L4–L6): what each asks the rewrite model to do,
// what gap the verifier must find, and what a good assistant should do with the result.
// The reference's names (missing_slots, multi_intent, …) are the keys; the relevance
// strategies (L5) are NOISE.md's addition.

/** The reference's two semantic layers; relevance strategies live in semantic_ambiguity. */
export type SemanticLayerName = "incomplete_information" | "semantic_ambiguity";

export interface SemanticStrategy {
  readonly name: string;
  /** The reference's layer: chosen by distractor.layer_weights. */
  readonly layer: SemanticLayerName;
  /** NOISE.md's layer, recorded in NoiseResult.layers. */
  readonly level: "L4_information" | "L5_relevance" | "L6_intent";
  /** Probability of being applied when its layer is chosen (config and strategy file override). */
  readonly probability: number;
  /** What a good assistant does with the noised message. */
  readonly target_behaviour: string;
  /** The instruction given to the rewrite model. */
  readonly instruction: string;
  /** What the verifier must find in the rewrite for it to pass. */
  readonly gap: string;
  /** What the strategy may add without it counting as an invented fact. */
  readonly may_add?: string;
  /** May this strategy remove or blur numbers and names of the original (slot values)? */
  readonly touches_slots?: boolean;
}

const CATALOG: readonly SemanticStrategy[] = [
  {
    name: "missing_slots",
    layer: "incomplete_information",
    level: "L4_information",
    probability: 0.5,
    target_behaviour: "ask_for_missing_slot",
    instruction:
      "Leave out one concrete detail the assistant needs to do the task well (for example the language, version, size, deadline, format or goal), so that a careful assistant would have to ask for it. Do not replace it with anything.",
    gap: "a concrete detail stated in the original is absent from the rewrite, and an assistant would need it",
    touches_slots: true,
  },
  {
    name: "vague_slot_values",
    layer: "incomplete_information",
    level: "L4_information",
    probability: 0.4,
    target_behaviour: "clarify_vague_value",
    instruction:
      'Replace one precise value (a number, name, date, version or size) with a vague expression such as "a few", "recently", "some older version" or "kind of big".',
    gap: "a precise value of the original is replaced by a vague expression",
    touches_slots: true,
  },
  {
    name: "context_dependency",
    layer: "incomplete_information",
    level: "L4_information",
    probability: 0.3,
    target_behaviour: "ask_for_context",
    instruction:
      'Refer to one part of the request as if the assistant already knew it ("that file", "the same thing as before", "like last time") without saying what it is.',
    gap: "the rewrite refers to something the assistant cannot know (a reference with no antecedent) instead of stating it",
    touches_slots: true,
  },
  {
    name: "unclear_priority",
    layer: "incomplete_information",
    level: "L4_information",
    probability: 0.3,
    target_behaviour: "ask_for_priority",
    instruction:
      "Make the message list its requirements with equal weight, or add a competing wish that pulls the other way (fast and thorough, short and complete), without saying which matters most.",
    gap: "the rewrite leaves open which of several requirements matters most",
    may_add: "a competing wish about quality, speed or length (not a new fact)",
  },
  {
    name: "irrelevant_context",
    layer: "semantic_ambiguity",
    level: "L5_relevance",
    probability: 0.3,
    target_behaviour: "ignore_distractor",
    instruction:
      "Add one or two sentences of personal backstory or venting that do not help to solve the request (a bad day, a colleague, why they got this task). Keep the request itself complete.",
    gap: "the rewrite contains backstory or venting that is irrelevant to solving the request, and the request itself is still complete",
    may_add: "backstory or venting that does not change the request",
  },
  {
    name: "near_topic_distractor",
    layer: "semantic_ambiguity",
    level: "L5_relevance",
    probability: 0.2,
    target_behaviour: "ignore_distractor",
    instruction:
      "Add a side remark about something close to the topic that is not part of what the person wants now (another tool they once tried, a related problem they had earlier). Keep the request itself complete.",
    gap: "the rewrite contains an aside close to the topic that is not part of the request, and the request itself is still complete",
    may_add: "an aside on a nearby topic that is clearly not the request",
  },
  {
    name: "multi_intent",
    layer: "semantic_ambiguity",
    level: "L6_intent",
    probability: 0.4,
    target_behaviour: "address_all_intents",
    instruction:
      "Add a second, related request to the same message, so that the message asks for two things at once. The original request stays complete.",
    gap: "the rewrite asks for two distinct things, one of them the original request",
    may_add: "one second request related to the first",
  },
  {
    name: "intent_ambiguity",
    layer: "semantic_ambiguity",
    level: "L6_intent",
    probability: 0.3,
    target_behaviour: "ask_for_intent",
    instruction:
      'Word the request so that it could mean two different things (for example "fix" could mean explain the problem or rewrite the code), without saying which one is meant.',
    gap: "the rewrite can reasonably be read as two different requests",
    touches_slots: true,
  },
  {
    name: "self_contradiction",
    layer: "semantic_ambiguity",
    level: "L6_intent",
    probability: 0.2,
    target_behaviour: "resolve_contradiction",
    instruction:
      'State one requirement and later in the same message contradict it (for example "keep it short" and then "make sure it covers every detail").',
    gap: "the rewrite contains two requirements that contradict each other",
    may_add: "a requirement that contradicts another one of the message",
  },
  {
    name: "mind_changing",
    layer: "semantic_ambiguity",
    level: "L6_intent",
    probability: 0.2,
    target_behaviour: "follow_latest_request",
    instruction:
      'Start asking for a variant of the request, then change your mind in the same message ("actually no, ...") and ask for the original request. The final request must be clear.',
    gap: "the rewrite changes its mind within the message, and the final request is the original one",
    may_add: "an abandoned first version of the request",
  },
];

const BY_NAME: ReadonlyMap<string, SemanticStrategy> = new Map(CATALOG.map((s) => [s.name, s]));

/** Every semantic strategy, in catalogue order. */
export function semanticStrategies(): readonly SemanticStrategy[] {
  return CATALOG;
}

export function semanticStrategy(name: string): SemanticStrategy | undefined {
  return BY_NAME.get(name);
}

/** The strategies of one reference layer, in catalogue order. */
export function strategiesOfLayer(layer: SemanticLayerName): SemanticStrategy[] {
  return CATALOG.filter((s) => s.layer === layer);
}

export function isSemanticLayer(layer: string): layer is SemanticLayerName {
  return layer === "incomplete_information" || layer === "semantic_ambiguity";
}
