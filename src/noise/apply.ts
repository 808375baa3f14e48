// applyNoise: the rule-based layers on one message. A seeded gate decides whether the message is
// noised at all (most messages stay clean); when it is, every strategy draws its changes at the
// persona's rates from its own stream, the changes are applied in a seeded order under the guard
// rails, lowercase comes last, and if nothing came of it one strategy is forced, so a message
// the gate chose is really noised.
import type { NoiseResult, SteeringRow, StrategySetting } from "../schema/noise.js";
import { Draft, type GuardRails } from "./draft.js";
import { layout } from "./keyboard.js";
import { leftoverMarkdown, runOn, strayLineBreak } from "./l0-channel.js";
import {
  idiosyncrasy,
  keyboardSlip,
  misspelling,
  realWordConfusion,
  wordSegmentation,
} from "./l1-spelling.js";
import {
  droppedApostrophe,
  emoji,
  filler,
  incompleteSentence,
  lowercase,
  noFinalPunctuation,
  punctuationRun,
  splitMessage,
  stretchedVowel,
  textism,
} from "./l2-register.js";
import { learnerGrammar } from "./l3-grammar.js";
import { lexicon } from "./lexicon.js";
import { chance, shuffled, stream, weightedIndex } from "./random.js";
import { habitsOf, type ResolvedSteering, resolveSteering } from "./steering.js";
import type { NoiseContext, Proposal, Strategy } from "./strategy.js";

export interface NoiseOptions {
  /** Run seed (default 0). */
  seed?: number;
  /** The conversation this message belongs to (default ""). */
  interactionId?: string;
  /** 1-based turn of the message (default 1); later turns are slightly noisier. */
  turn?: number;
  /** Chance the message is noised at all (the reference's activation_probability; default 0.25). */
  probability?: number;
  /** Overrides of the steering table by row (config `distractor.steering`). */
  steering?: Record<string, SteeringRow>;
  /** Forces the input channel (config `distractor.channel`). */
  channel?: string;
  /** Strategy switches by our name or the reference's (config `distractor.strategies`). */
  strategies?: Record<string, Partial<StrategySetting>>;
  /** The assistant's previous reply did not help (fatigue rises). */
  afterUnhelpfulReply?: boolean;
  /**
   * When the gate opens but no strategy drew a change, force one (default true), so that
   * `probability` is the share of messages really noised. Off for calibrating raw rates.
   */
  ensureChange?: boolean;
  /** Guard rails (defaults: CER ≤ 0.05 ignoring case, ≥ 90 % of content words kept). */
  guardRails?: Partial<GuardRails>;
}

/** Every rule-based strategy, in the order their changes are proposed. */
export const STRATEGIES: readonly Strategy[] = [
  idiosyncrasy,
  misspelling,
  realWordConfusion,
  keyboardSlip,
  wordSegmentation,
  learnerGrammar,
  incompleteSentence,
  textism,
  droppedApostrophe,
  filler,
  stretchedVowel,
  punctuationRun,
  noFinalPunctuation,
  emoji,
  splitMessage,
  runOn,
  strayLineBreak,
  leftoverMarkdown,
  lowercase,
];

export const DEFAULT_GUARD_RAILS: GuardRails = { maxCer: 0.05, minContentKept: 0.9 };

/** The setting that applies to a strategy: its own name first, then its reference name. */
function settingOf(strategy: Strategy, settings: NoiseOptions["strategies"] = {}): Partial<StrategySetting> {
  return settings[strategy.name] ?? (strategy.reference ? settings[strategy.reference] : undefined) ?? {};
}

export function applyNoise(
  text: string,
  personaFeatures: Record<string, unknown>,
  options: NoiseOptions = {},
): NoiseResult {
  const steering = resolveSteering(personaFeatures, options.steering, {
    seed: options.seed,
    turn: options.turn,
    channel: options.channel,
    afterUnhelpfulReply: options.afterUnhelpfulReply,
  });
  return noiseWith(text, steering, options);
}

/** The result for a message left as it was (with the persona's channel, when known). */
export function unchangedResult(text: string, channel?: NoiseResult["channel"]): NoiseResult {
  return {
    original_text: text,
    noisy_text: text,
    changed: false,
    layer: null,
    layers: [],
    applied_strategies: [],
    edits: [],
    ...(channel === undefined ? {} : { channel }),
  };
}

/** applyNoise with the persona's steering already resolved (batches resolve it once per turn). */
export function noiseWith(text: string, steering: ResolvedSteering, options: NoiseOptions = {}): NoiseResult {
  const seed = options.seed ?? 0;
  const id = options.interactionId ?? "";
  const turn = options.turn ?? 1;
  const clean = unchangedResult(text, steering.channel);
  const probability = options.probability ?? 0.25;
  if (text.trim() === "" || !chance(stream(seed, id, turn, "activation"), probability)) return clean;

  const draft = new Draft(text, { ...DEFAULT_GUARD_RAILS, ...options.guardRails });
  const ctx: NoiseContext = {
    draft,
    rates: steering.rates,
    traits: steering.traits,
    channel: steering.channel,
    layout: layout(
      steering.channel === "mobile_raw" || steering.channel === "mobile_autocorrect"
        ? "qwerty_phone"
        : "qwerty_desktop",
    ),
    habits: habitsOf(steering.personaKey, seed),
    lex: lexicon(),
  };
  const enabled = STRATEGIES.filter((s) => settingOf(s, options.strategies).enabled !== false);
  const random = (strategy: Strategy, purpose = "") => stream(seed, id, turn, strategy.name, purpose);

  // Normal pass: each strategy's draws, applied in a seeded order so no strategy always wins
  // the budget; lowercase last, since it must see every inserted letter.
  const proposals: Proposal[] = [];
  let lower: Proposal[] = [];
  for (const strategy of enabled) {
    const setting = settingOf(strategy, options.strategies);
    if (setting.probability !== undefined && !chance(random(strategy, "setting"), setting.probability))
      continue;
    const drawn = strategy.propose(ctx, random(strategy), false);
    if (strategy === lowercase) lower = drawn;
    else proposals.push(...drawn);
  }
  for (const proposal of shuffled(stream(seed, id, turn, "order"), proposals)) proposal();
  for (const proposal of lower) proposal();

  // Mandatory strategies that did not fire, then (if still clean) one strategy chosen by how
  // much it would be expected to do for this persona.
  const force = (strategy: Strategy) => {
    for (const proposal of strategy.propose(ctx, random(strategy, "forced"), true))
      if (proposal()) return true;
    return false;
  };
  for (const strategy of enabled) {
    if (settingOf(strategy, options.strategies).mandatory && !draft.applied().has(strategy.name))
      force(strategy);
  }
  if (draft.applied().size === 0 && options.ensureChange !== false) {
    const pool = [...enabled];
    const choose = stream(seed, id, turn, "forced");
    while (pool.length > 0) {
      const index = weightedIndex(
        choose,
        pool.map((s) => s.expected(ctx)),
      );
      if (index < 0) break;
      const [strategy] = pool.splice(index, 1);
      if (strategy && force(strategy)) break;
    }
  }

  const edits = draft.edits();
  if (edits.length === 0) return clean;
  const names = new Set(edits.map((e) => e.strategy));
  const used = STRATEGIES.filter((s) => names.has(s.name));
  const references = [...new Set(used.map((s) => s.reference).filter((r): r is string => r !== undefined))];
  const layers = ["L0_channel", "L1_spelling", "L2_register", "L3_grammar", "L7_dynamics"].filter((l) =>
    used.some((s) => s.layer === l),
  );
  return {
    ...clean,
    noisy_text: draft.text(),
    changed: true,
    layer: "surface_noise",
    layers,
    applied_strategies: [...references, ...used.map((s) => s.name).filter((n) => !references.includes(n))],
    edits,
  };
}

/**
 * Noises several messages of one persona. By default they are successive turns of one
 * conversation (turn = index + 1, so fatigue rises); pass `turn` to treat them all as the same
 * turn of different conversations (each then gets interactionId "<id>#<index>").
 */
export function applyNoiseBatch(
  texts: readonly string[],
  personaFeatures: Record<string, unknown>,
  options: NoiseOptions = {},
): NoiseResult[] {
  return texts.map((text, index) =>
    options.turn === undefined
      ? applyNoise(text, personaFeatures, { ...options, turn: index + 1 })
      : applyNoise(text, personaFeatures, {
          ...options,
          interactionId: `${options.interactionId ?? ""}#${index}`,
        }),
  );
}
