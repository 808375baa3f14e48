// Persona steering (NOISE.md, "Rates: base × trait multipliers, capped"): persona features →
// traits → one rate per noise parameter. Noise follows behaviour (channel, skill, formality,
// mood, hurry, language background), never demographics such as age.
import type { SteeringRow } from "../schema/noise.js";
import { CHANNELS, type Channel } from "./channels.js";
import { lexicon } from "./lexicon.js";
import { hashKeys, normal, stream } from "./random.js";

export { CHANNELS, type Channel };

/** Rows that are error rates: fatigue raises them over the turns. */
const FATIGUE_ROWS = new Set(["keyboard_slip", "misspelling", "real_word_confusion", "word_segmentation"]);

/** Rows that are chances (≤ 1) rather than counts per 100 letters. */
const COUNT_ROWS = new Set(["keyboard_slip"]);

export interface SteeringContext {
  seed?: number;
  /** 1-based turn; later turns are slightly noisier (fatigue). */
  turn?: number;
  /** Forces the channel (config `distractor.channel`). */
  channel?: string;
  /** The assistant's previous reply did not help: slips rise a little more. */
  afterUnhelpfulReply?: boolean;
}

export interface ResolvedSteering {
  traits: string[];
  channel: Channel;
  /** The persona's lognormal sloppiness draw (mean 1 over personas, σ = 0.4). */
  sloppiness: number;
  /** Multiplier of the L1 error rows for this turn (1 at turn 1). */
  fatigue: number;
  /** Rate per row after traits, sloppiness, fatigue and caps. */
  rates: Record<string, number>;
  /** A stable key of the persona, for persona-level random streams. */
  personaKey: string;
}

const lower = (value: unknown) => (typeof value === "string" ? value.trim().toLowerCase() : "");

/** The first of these features that the persona has, lowercased. */
function feature(features: Record<string, unknown>, ...names: string[]): string {
  for (const name of names) {
    const value = lower(features[name]);
    if (value) return value;
  }
  return "";
}

/** Behavioural traits of a persona; absent or unknown features add none (base rates). */
export function traitsOf(features: Record<string, unknown>): string[] {
  const traits = new Set<string>();
  // Register: formality_level decides when present, else communication_style.
  const register =
    feature(features, "formality_level", "formality") || feature(features, "communication_style", "style");
  if (register === "very_casual") traits.add("casual").add("very_casual");
  else if (register === "casual" || register === "informal") traits.add("casual");
  else if (register === "highly_formal") traits.add("formal").add("highly_formal");
  else if (register === "formal" || register === "professional") traits.add("formal");
  const skill = feature(features, "tech_proficiency", "tech_skill", "typing_skill", "digital_literacy");
  if (["beginner", "novice", "low", "none", "basic"].includes(skill)) traits.add("low_skill");
  if (["expert", "advanced"].includes(skill)) traits.add("expert");
  const mood = feature(features, "emotional_state", "mood", "current_mood", "emotion");
  if (["frustrated", "angry", "annoyed", "irritated", "impatient", "stressed", "upset"].includes(mood))
    traits.add("frustrated");
  const hurry = feature(features, "time_sensitivity", "urgency");
  if (["high", "critical", "urgent"].includes(hurry) || feature(features, "scenario") === "in_a_rush")
    traits.add("rushed");
  const native = feature(features, "native_language", "first_language", "mother_tongue");
  const proficiency = feature(features, "english_proficiency", "language_proficiency");
  const background = feature(features, "language_background");
  if (
    (native && !native.startsWith("english") && native !== "en") ||
    ["beginner", "basic", "elementary", "intermediate", "low", "limited"].includes(proficiency) ||
    ["non_native", "esl", "learner", "bilingual"].includes(background)
  )
    traits.add("learner");
  const multi = feature(features, "multi_intent_rate");
  if (multi === "often_multi" || multi === "often") traits.add("multi_intent_often");
  if (multi === "sometimes_multi" || multi === "sometimes") traits.add("multi_intent_sometimes");
  return [...traits];
}

/** A stable key of the persona: its id when given, else its features in key order. */
export function personaKeyOf(features: Record<string, unknown>): string {
  const id = features.persona_id ?? features.id;
  if (typeof id === "string" || typeof id === "number") return `id:${id}`;
  const sorted = Object.keys(features)
    .sort()
    .map((key) => [key, features[key]]);
  return JSON.stringify(sorted);
}

function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** L0: the persona's input channel. A forced channel wins, then `channel`, then `device`. */
export function channelOf(
  features: Record<string, unknown>,
  traits: readonly string[],
  seed = 0,
  forced?: string,
): Channel {
  if (forced && isChannel(forced)) return forced;
  const named = feature(features, "channel", "input_channel");
  if (isChannel(named)) return named;
  const device = named || feature(features, "device", "input_device", "device_type");
  if (["voice", "dictation", "speech", "voice_assistant"].includes(device)) return "voice";
  if (["mobile", "phone", "smartphone", "tablet", "mobile_phone"].includes(device)) {
    // Phone users differ in whether autocorrect is on; casual writers more often type raw.
    const raw = traits.includes("casual") ? 0.7 : traits.includes("formal") ? 0.2 : 0.5;
    return stream(seed, personaKeyOf(features), "channel")() < raw ? "mobile_raw" : "mobile_autocorrect";
  }
  return "desktop";
}

/** Lognormal with σ = 0.4 and mean 1, drawn once per persona (and run seed). */
export function sloppinessOf(features: Record<string, unknown>, seed = 0): number {
  const sigma = 0.4;
  return Math.exp(sigma * normal(stream(seed, personaKeyOf(features), "sloppiness")) - (sigma * sigma) / 2);
}

/** The default table with config overrides merged in (multipliers and set merge key by key). */
export function steeringTable(overrides: Record<string, SteeringRow> = {}): Record<string, SteeringRow> {
  const table: Record<string, SteeringRow> = { ...lexicon().steering };
  for (const [name, row] of Object.entries(overrides)) {
    const base = table[name] ?? {};
    table[name] = {
      ...base,
      ...row,
      multipliers: { ...base.multipliers, ...row.multipliers },
      set: { ...base.set, ...row.set },
    };
  }
  return table;
}

/** One row's rate for a set of traits, before sloppiness and fatigue. */
export function rowRate(row: SteeringRow, traits: readonly string[]): number {
  const sets = traits.map((t) => row.set?.[t]).filter((v): v is number => v !== undefined);
  let rate = sets.length > 0 ? sets.reduce((a, b) => a + b, 0) / sets.length : (row.base ?? 0);
  for (const trait of traits) rate *= row.multipliers?.[trait] ?? 1;
  return rate;
}

export function resolveSteering(
  personaFeatures: Record<string, unknown>,
  overrides: Record<string, SteeringRow> = {},
  context: SteeringContext = {},
): ResolvedSteering {
  const seed = context.seed ?? 0;
  const personaTraits = traitsOf(personaFeatures);
  const channel = channelOf(personaFeatures, personaTraits, seed, context.channel);
  const traits = [...personaTraits, channel];
  const table = steeringTable(overrides);
  const sloppiness = sloppinessOf(personaFeatures, seed);
  const turn = Math.max(1, context.turn ?? 1);
  const fatigueRow = table.fatigue ?? {};
  const extra = Math.min(fatigueRow.cap ?? 0.5, rowRate(fatigueRow, traits) * (turn - 1));
  const fatigue = 1 + extra + (context.afterUnhelpfulReply ? 0.2 : 0);
  const rates: Record<string, number> = {};
  for (const [name, row] of Object.entries(table)) {
    if (name === "fatigue") continue;
    let rate = rowRate(row, traits) * sloppiness;
    if (FATIGUE_ROWS.has(name)) rate *= fatigue;
    if (row.cap !== undefined) rate = Math.min(rate, row.cap);
    if (!COUNT_ROWS.has(name)) rate = Math.min(rate, 1);
    rates[name] = rate;
  }
  return { traits, channel, sloppiness, fatigue, rates, personaKey: personaKeyOf(personaFeatures) };
}

/** The persona's recurring misspellings: a few habit words, chosen by persona, never by turn. */
export function habitsOf(personaKey: string, seed = 0, count = 3): Map<string, string> {
  const { habitWords, misspellings } = lexicon();
  const habits = new Map<string, string>();
  const random = stream(seed, personaKey, "idiosyncrasy");
  for (let tries = 0; habits.size < count && tries < count * 10; tries++) {
    const word = habitWords[Math.floor(random() * habitWords.length)];
    const forms = word ? misspellings.get(word) : undefined;
    if (!word || !forms || forms.length === 0 || habits.has(word)) continue;
    habits.set(word, forms[hashKeys(personaKey, word) % forms.length] as string);
  }
  return habits;
}
