// L3 grammar: learner-English slips for personas with a non-native language background —
// a missing article, a wrong preposition, subject–verb agreement, tense, uncountable plurals.
// Code-switching for bilingual personas is not done by rules (it needs the language).

import type { Lexicon } from "./lexicon.js";
import { pick } from "./random.js";
import { findPhrases, matchCase, perSite, type Strategy } from "./strategy.js";

const phraseLists = new WeakMap<Lexicon, ReadonlyArray<readonly [string, readonly string[]]>>();

/** The learner list as (phrase, rewrites) pairs, made once per lexicon. */
function learnerPhrases(lex: Lexicon) {
  let list = phraseLists.get(lex);
  if (!list) {
    list = lex.learner.map((entry) => [entry.phrase, entry.rewrites] as const);
    phraseLists.set(lex, list);
  }
  return list;
}

const ARTICLES = new Set(["the", "a", "an"]);

export const learnerGrammar: Strategy = {
  name: "learner_grammar",
  layer: "L3_grammar",
  row: "learner_grammar",
  expected(ctx) {
    return (ctx.rates.learner_grammar ?? 0) * sitesOf(ctx).length;
  },
  propose(ctx, random, force) {
    const sites = sitesOf(ctx);
    return perSite(sites, ctx.rates.learner_grammar ?? 0, random, force, (site) => {
      const rewrite = site.rewrites.length > 0 ? matchCase(site.text, pick(random, site.rewrites)) : "";
      return () => ctx.draft.replace(site.start, site.end, rewrite, "learner_grammar");
    });
  },
};

type Site = { start: number; end: number; text: string; rewrites: readonly string[] };

function sitesOf(ctx: Parameters<Strategy["expected"]>[0]): Site[] {
  const { draft, lex } = ctx;
  const sites: Site[] = [];
  // A dropped article takes the space after it: "open the file" → "open file". Not at the start
  // of a sentence, where dropping it reads as a fragment rather than a learner's slip.
  for (const word of draft.words) {
    if (!ARTICLES.has(word.lower) || draft.clean[word.end] !== " " || word.start === 0) continue;
    if (!/[\p{L},]\s$/u.test(draft.clean.slice(Math.max(0, word.start - 2), word.start))) continue;
    sites.push({ start: word.start, end: word.end + 1, text: word.text, rewrites: [] });
  }
  for (const hit of findPhrases(draft.clean, learnerPhrases(lex))) {
    if (draft.isFree(hit.start, hit.end)) sites.push({ ...hit, rewrites: hit.value });
  }
  // Overlapping sites: keep the first (the applier would refuse the second anyway).
  sites.sort((a, b) => a.start - b.start);
  const kept: Site[] = [];
  for (const site of sites) if (site.start >= (kept[kept.length - 1]?.end ?? 0)) kept.push(site);
  return kept;
}
