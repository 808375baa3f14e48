// What every rule-based strategy shares: the context of one message, proposals (changes the
// applier tries in a seeded order under the guard rails), and text helpers.
import type { Draft, Word } from "./draft.js";
import type { Layout } from "./keyboard.js";
import type { Lexicon } from "./lexicon.js";
import { chance, type Random, shuffled } from "./random.js";
import type { Channel } from "./steering.js";

export type LayerName = "L0_channel" | "L1_spelling" | "L2_register" | "L3_grammar" | "L7_dynamics";

export interface NoiseContext {
  draft: Draft;
  /** Resolved rates by steering row. */
  rates: Readonly<Record<string, number>>;
  traits: readonly string[];
  channel: Channel;
  layout: Layout;
  /** The persona's recurring misspellings: word → its usual misspelling. */
  habits: ReadonlyMap<string, string>;
  lex: Lexicon;
}

/** One change a strategy wants; `apply` returns false when the draft refuses it. */
export type Proposal = () => boolean;

export interface Strategy {
  /** Our fine name (the edit's `strategy`). */
  name: string;
  layer: LayerName;
  /** The reference's strategy name this belongs to, when one fits. */
  reference?: string;
  /** The steering row of its rate. */
  row: string;
  /**
   * Normal mode: the changes drawn at the strategy's rate. Forced mode: every change it could
   * make, in a random order, so the applier can take the first one the draft accepts.
   */
  propose(ctx: NoiseContext, random: Random, force: boolean): Proposal[];
  /** Expected number of changes in this message (weights the choice of a forced strategy). */
  expected(ctx: NoiseContext): number;
}

/** Per-site strategies: each site fires with `rate`; forced, all sites in random order. */
export function perSite<T>(
  sites: readonly T[],
  rate: number,
  random: Random,
  force: boolean,
  make: (site: T) => Proposal,
) {
  if (force) return shuffled(random, sites).map(make);
  const chosen: Proposal[] = [];
  for (const site of sites) if (chance(random, rate)) chosen.push(make(site));
  return chosen;
}

/** Per-message strategies: one coin at `rate` picks one of the sites. */
export function perMessage<T>(
  sites: readonly T[],
  rate: number,
  random: Random,
  force: boolean,
  make: (site: T) => Proposal,
) {
  if (sites.length === 0) return [];
  if (force) return shuffled(random, sites).map(make);
  if (!chance(random, rate)) return [];
  return [make(sites[Math.floor(random() * sites.length)] as T)];
}

/** The replacement in the case pattern of the original: "Definitely" → "Definately". */
export function matchCase(original: string, replacement: string): string {
  if (original.length > 1 && original === original.toUpperCase() && original !== original.toLowerCase())
    return replacement.toUpperCase();
  const first = original[0] ?? "";
  if (first !== first.toLowerCase()) return (replacement[0] ?? "").toUpperCase() + replacement.slice(1);
  return replacement;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** How a phrase and a matched text compare: lowercase, one kind of apostrophe, single spaces. */
const normalize = (text: string) => text.toLowerCase().replace(/’/g, "'").replace(/\s+/g, " ");

export interface PhraseHit<T> {
  start: number;
  end: number;
  text: string;
  value: T;
}

// One alternation per list (longest phrases first), built once: a message is scanned once per
// list instead of once per phrase.
const matchers = new WeakMap<object, { pattern: RegExp; values: Map<string, unknown> }>();

/**
 * Occurrences of a list's phrases as whole words, ignoring case (an apostrophe matches ' or ’),
 * left to right without overlaps; at one position the longest phrase wins.
 */
export function findPhrases<T>(
  text: string,
  entries: ReadonlyArray<readonly [string, T]>,
): Array<PhraseHit<T>> {
  let matcher = matchers.get(entries);
  if (!matcher) {
    const values = new Map<string, unknown>();
    for (const [phrase, value] of entries)
      if (!values.has(normalize(phrase))) values.set(normalize(phrase), value);
    const alternatives = [...values.keys()]
      .sort((a, b) => b.length - a.length)
      .map((phrase) => escapeRegExp(phrase).replace(/'/g, "['’]").replace(/ /g, "\\s+"));
    const pattern = new RegExp(
      `(?<![\\p{L}\\p{N}'’_])(?:${alternatives.join("|")})(?![\\p{L}\\p{N}'’_])`,
      "giu",
    );
    matcher = { pattern, values };
    matchers.set(entries, matcher);
  }
  const hits: Array<PhraseHit<T>> = [];
  matcher.pattern.lastIndex = 0;
  for (const m of text.matchAll(matcher.pattern)) {
    const start = m.index ?? 0;
    hits.push({
      start,
      end: start + m[0].length,
      text: m[0],
      value: matcher.values.get(normalize(m[0])) as T,
    });
  }
  return hits;
}

/** Occurrences of the phrases of a list that the draft may still change. */
export function phraseSites(
  draft: Draft,
  entries: ReadonlyArray<readonly [string, readonly string[]]>,
): Array<{ start: number; end: number; text: string; forms: readonly string[] }> {
  return findPhrases(draft.clean, entries)
    .filter((hit) => hit.value.length > 0 && draft.isFree(hit.start, hit.end))
    .map((hit) => ({ start: hit.start, end: hit.end, text: hit.text, forms: hit.value }));
}

/** Sentence starts: the first word of the message and each word after ". ", "? ", "! " or a newline. */
export function sentenceStarts(draft: Draft): Word[] {
  return draft.words.filter((word, index) => {
    if (index === 0) return /^\s*$/.test(draft.clean.slice(0, word.start));
    const gap = draft.clean.slice(draft.words[index - 1]?.end ?? 0, word.start);
    return /[.?!]\s+$/.test(gap) || gap.includes("\n");
  });
}

/** Ends of sentences: positions of a ".", "?" or "!" run that follows a word. */
export function sentenceEnds(draft: Draft): Array<{ start: number; end: number; mark: string }> {
  const ends: Array<{ start: number; end: number; mark: string }> = [];
  for (const match of draft.clean.matchAll(/(?<=[\p{L}\p{N})"'])[.?!]+(?=\s|$)/gu)) {
    const start = match.index ?? 0;
    if (draft.isFree(start, start + match[0].length))
      ends.push({ start, end: start + match[0].length, mark: match[0] });
  }
  return ends;
}
