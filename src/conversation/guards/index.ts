// The turn guards: named checks every simulated-user reply passes before it is saved as a
// user message (docs/simulated-user.md). A reply either passes (perhaps unwrapped), is a stop
// (a marker, judged by the caller), or is rejected with the guard's name and a reason that the
// re-ask repeats to the model. Pure functions: no model call, no randomness.
import type { GuardName, Message } from "../../schema/interaction.js";

export { CONFIGURABLE_GUARDS } from "../../schema/interaction.js";

import { findMarker, type MarkerSet, stripMarkers } from "../stop-markers.js";
import {
  containment,
  jaccard,
  shingles,
  shinglesOfWords,
  wordEditSimilarity,
  words,
} from "../text-similarity.js";
import {
  ASKS_SOMETHING,
  LIST_ITEM,
  META_LEAK,
  SERVICE_PHRASES,
  STAGE_DIRECTION,
  speakerLabelLine,
} from "./patterns.js";
import { type Unwrapped, unwrap } from "./unwrap.js";

export interface GuardSettings {
  disabled: ReadonlySet<GuardName>;
  /** too_long: the cap in words; undefined = from the persona's style (wordCapFor). */
  maxWords?: number | undefined;
  /** repeats_user: word 3-gram Jaccard at or above which a reply repeats an earlier user turn. */
  nearDuplicate: number;
  /** copies_assistant: share of the reply's 3-grams found in one assistant message. */
  copyShare: number;
}

/** Instruction text of this conversation's prompt (never the persona's own facts), for leak checks. */
export interface LeakReference {
  /** 6-word shingles of the instructions the model was given. */
  instructionShingles: ReadonlySet<string>;
  /** What the persona, query and scenario say: the user may repeat it without leaking. */
  ownFacts: readonly string[];
  /** Persona feature keys as written (tech_proficiency …): users never type them. */
  featureKeys: readonly string[];
}

export interface ReplyToCheck {
  text: string;
  finishReason: string;
  /** The conversation so far; the last message is the assistant's reply. */
  messages: readonly Message[];
  persona_features: Readonly<Record<string, unknown>>;
  leak: LeakReference;
  markers: MarkerSet;
}

export type GuardVerdict =
  | { kind: "message"; content: string; unwrapped?: Unwrapped }
  | { kind: "marker"; marker: "stop" | "give_up"; remainder: string }
  | { kind: "reject"; guard: GuardName; detail: string };

const LEAK_SHINGLE = 6;

/**
 * 6-word shingles of instruction texts. Built once per simulator from its templates' literal
 * parts (placeholders split them), so no conversation pays for it: an echoed prompt is made of
 * those parts whatever the persona.
 */
export function instructionShinglesOf(texts: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const text of texts)
    for (const part of text.split(/\{\{\s*[a-z_]+\s*\}\}/i))
      for (const s of shingles(part, LEAK_SHINGLE)) if (s.split(" ").length === LEAK_SHINGLE) set.add(s);
  return set;
}

/** The leak reference of one conversation: cheap, the persona's own facts are shingled only on a suspected leak. */
export function leakReference(
  instructionShingles: ReadonlySet<string>,
  ownFacts: readonly string[],
  features: Readonly<Record<string, unknown>>,
): LeakReference {
  // Only keys that look like keys: a user may well say "role" or "age", never "tech_proficiency".
  const featureKeys = Object.keys(features).filter((key) => /[_.]/.test(key) || /[a-z][A-Z]/.test(key));
  return { instructionShingles, ownFacts, featureKeys };
}

/** The too_long cap a persona's style implies: short writers are cut off sooner. */
export function wordCapFor(features: Readonly<Record<string, unknown>>): number {
  const length = String(features.query_length_pref ?? "").toLowerCase();
  if (length === "short") return 60;
  if (length === "long") return 250;
  const style = String(features.communication_style ?? "").toLowerCase();
  if (/concise|terse|brief|casual/.test(style)) return 90;
  if (/verbose|detailed|elaborate/.test(style)) return 250;
  return 150;
}

function cleanText(message: Message): string {
  return typeof message.metadata.clean_content === "string"
    ? message.metadata.clean_content
    : message.content;
}

/** What the guards compare against, per earlier message: computed once, the history is immutable. */
interface MessageText {
  words: string[];
  normalised: string;
  shingles: Set<string>;
}
const messageTexts = new WeakMap<Message, MessageText>();

function measure(text: string): MessageText {
  const tokens = words(text);
  return { words: tokens, normalised: tokens.join(" "), shingles: shinglesOfWords(tokens) };
}

function textOf(message: Message): MessageText {
  let known = messageTexts.get(message);
  if (!known) {
    known = measure(message.role === "user" ? cleanText(message) : message.content);
    messageTexts.set(message, known);
  }
  return known;
}

const reject = (guard: GuardName, detail: string): GuardVerdict => ({ kind: "reject", guard, detail });

function leakCheck(text: string, tokens: readonly string[], leak: LeakReference): string | undefined {
  const meta = META_LEAK.exec(text);
  if (meta) return `it talks about the simulation ("${meta[0]}")`;
  const key = leak.featureKeys.find((k) => text.includes(k));
  if (key) return `it names the persona's feature key "${key}"`;
  const hits = [...shinglesOfWords(tokens, LEAK_SHINGLE)].filter((s) => leak.instructionShingles.has(s));
  if (hits.length < 2) return undefined;
  // Rare: only now is it worth shingling the persona's own facts, which may share words.
  const own = new Set(leak.ownFacts.flatMap((fact) => [...shingles(fact, LEAK_SHINGLE)]));
  if (hits.filter((s) => !own.has(s)).length >= 2) return "it repeats the instructions it was given";
  return undefined;
}

function copyCheck(
  reply: MessageText,
  messages: readonly Message[],
  settings: GuardSettings,
): string | undefined {
  const { shingles: own, normalised: mine } = reply;
  for (const message of messages) {
    if (message.role !== "assistant") continue;
    const theirs = textOf(message);
    if (mine !== "" && theirs.normalised === mine) return "it repeats the assistant's message";
    if (reply.words.length < 6) continue;
    if (containment(own, theirs.shingles) >= settings.copyShare)
      return "it copies the assistant's text instead of replying to it";
  }
  return undefined;
}

// Words whose change leaves a message saying the same thing ("this dip" / "the dip").
const FUNCTION_WORDS = new Set(
  "a an the this that these those it its my your our their i you we he she they me us them is are was were be am do does did so ok okay and or but then now just also too please".split(
    " ",
  ),
);

/** The same message with only function words changed; "part 2" / "part 3" is a new request. */
function onlyFunctionWordsChanged(
  a: readonly string[],
  b: readonly string[],
  settings: GuardSettings,
): boolean {
  const x = new Set(a);
  const y = new Set(b);
  const changed = [...x].filter((w) => !y.has(w)).concat([...y].filter((w) => !x.has(w)));
  if (!changed.every((w) => FUNCTION_WORDS.has(w))) return false;
  return wordEditSimilarity(a, b) >= settings.nearDuplicate;
}

function repeatCheck(
  reply: MessageText,
  messages: readonly Message[],
  settings: GuardSettings,
): string | undefined {
  const { normalised: mine, words: myWords, shingles: own } = reply;
  for (const message of messages) {
    if (message.role !== "user") continue;
    const { normalised: earlierNormalised, shingles: theirs, words: theirWords } = textOf(message);
    if (earlierNormalised === mine) return "it repeats an earlier user message word for word";
    if (
      jaccard(own, theirs) >= settings.nearDuplicate ||
      onlyFunctionWordsChanged(myWords, theirWords, settings)
    )
      return "it nearly repeats an earlier user message";
    if (myWords.length >= 6 && containment(own, theirs) >= 0.9)
      return "it repeats part of an earlier user message";
    // The whole earlier message sent again with a few words added.
    if (theirWords.length >= 8 && containment(theirs, own) >= 0.9)
      return "it sends an earlier user message again with little added";
  }
  return undefined;
}

function assistantVoiceCheck(text: string, reply: MessageText): string | undefined {
  const phrase = SERVICE_PHRASES.exec(text);
  if (phrase) return `it speaks as the assistant ("${phrase[0]}")`;
  const asks = ASKS_SOMETHING.test(text);
  const items = text.match(LIST_ITEM)?.length ?? 0;
  if (items >= 3 && !asks) return "it is an answer (a list of steps) with no request in it";
  if (reply.words.length >= 120 && !asks) return "it is a long answer with no request in it";
  return undefined;
}

/**
 * Checks one reply. Order matters: a cut-off reply is never judged on its content; wrappers are
 * peeled before anything else looks at the text; leaks and copies are judged before markers,
 * so a marker inside an echo of the prompt or of the assistant is no stop.
 */
export function checkUserReply(reply: ReplyToCheck, settings: GuardSettings): GuardVerdict {
  const on = (guard: GuardName) => !settings.disabled.has(guard);
  if (on("truncated") && reply.finishReason === "length")
    return reject("truncated", "it was cut off by the token limit: write a shorter message");
  const peeled = unwrap(reply.text, personaNames(reply.persona_features));
  if (peeled.unusableJson && on("wrapped"))
    return reject("wrapped", "it is a JSON object, not a message: write plain text");
  const text = peeled.text;
  const measured = measure(text);
  if (
    stripMarkers(text, reply.markers).replace(/[\s"'`*_.!]/g, "") === "" &&
    !findMarker(text, reply.markers)
  )
    return reject("empty", "it was empty");
  if (on("prompt_leak")) {
    const leak = leakCheck(text, measured.words, reply.leak);
    if (leak) return reject("prompt_leak", leak);
  }
  if (on("copies_assistant")) {
    const copy = copyCheck(measured, reply.messages, settings);
    if (copy) return reject("copies_assistant", copy);
  }
  const marker = findMarker(text, reply.markers);
  if (marker) return { kind: "marker", marker, remainder: stripMarkers(text, reply.markers) };
  if (on("speaker_label") && speakerLabelLine(personaNames(reply.persona_features)).test(text))
    return reject(
      "speaker_label",
      "it contains speaker labels: write only your own message, no names or roles",
    );
  if (on("stage_direction")) {
    const stage = STAGE_DIRECTION.exec(text);
    if (stage)
      return reject(
        "stage_direction",
        `it contains a stage direction or meta text ("${stage[0].trim().slice(0, 60)}")`,
      );
  }
  if (on("speaks_as_assistant")) {
    const voice = assistantVoiceCheck(text, measured);
    if (voice) return reject("speaks_as_assistant", voice);
  }
  if (on("repeats_user")) {
    const repeat = repeatCheck(measured, reply.messages, settings);
    if (repeat) return reject("repeats_user", repeat);
  }
  if (on("too_long")) {
    const cap = settings.maxWords ?? wordCapFor(reply.persona_features);
    const count = measured.words.length;
    if (count > cap)
      return reject("too_long", `it has ${count} words; this user writes at most about ${cap}`);
  }
  return peeled.unwrapped
    ? { kind: "message", content: text, unwrapped: peeled.unwrapped }
    : { kind: "message", content: text };
}

/** A persona's name, when it has one, is a speaker label too ("Maria: …"). */
function personaNames(features: Readonly<Record<string, unknown>>): string[] {
  const name = features.name ?? features.first_name;
  return typeof name === "string" && name.trim() !== "" ? [name.trim().split(/\s+/)[0] ?? name] : [];
}
