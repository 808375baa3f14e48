// L2 register and format: lowercase, final punctuation, "?!!" and "..." runs, dropped
// apostrophes, textisms, stretched vowels, emoji, fillers and hedges, a message split in two,
// and incomplete sentences (an opening dropped). Intent and slots are never touched.
import { chance, pick, shuffled, weightedIndex } from "./random.js";
import {
  findPhrases,
  matchCase,
  type NoiseContext,
  type Proposal,
  perMessage,
  perSite,
  phraseSites,
  type Strategy,
  sentenceEnds,
  sentenceStarts,
} from "./strategy.js";

const rate = (ctx: NoiseContext, row: string) => ctx.rates[row] ?? 0;

/** Message-level strategies expect at most one change. */
const once = (row: string) => (ctx: NoiseContext) => rate(ctx, row);

export const lowercase: Strategy = {
  name: "lowercase",
  layer: "L2_register",
  reference: "punctuation_format",
  row: "lowercase",
  expected: once("lowercase"),
  propose(ctx, random, force) {
    if (!/[A-Z]/.test(ctx.draft.clean)) return [];
    return perMessage(
      [0],
      rate(ctx, "lowercase"),
      random,
      force,
      () => () => ctx.draft.lowercase("lowercase"),
    );
  },
};

/** The ".", "?" or "!" run that ends the message, if any. */
function finalMark(ctx: NoiseContext) {
  const ends = sentenceEnds(ctx.draft);
  const last = ends[ends.length - 1];
  return last && ctx.draft.clean.slice(last.end).trim() === "" ? last : undefined;
}

export const noFinalPunctuation: Strategy = {
  name: "no_final_punctuation",
  layer: "L2_register",
  reference: "punctuation_format",
  row: "no_final_punctuation",
  expected: once("no_final_punctuation"),
  propose(ctx, random, force) {
    const mark = finalMark(ctx);
    return perMessage(
      mark ? [mark] : [],
      rate(ctx, "no_final_punctuation"),
      random,
      force,
      (m) => () => ctx.draft.replace(m.start, m.end, "", "no_final_punctuation"),
    );
  },
};

export const punctuationRun: Strategy = {
  name: "punctuation_run",
  layer: "L2_register",
  reference: "emotional_attitude",
  row: "punctuation_run",
  expected: once("punctuation_run"),
  propose(ctx, random, force) {
    const ends = sentenceEnds(ctx.draft).filter((e) => e.mark.length === 1);
    const frustrated = ctx.traits.includes("frustrated");
    return perMessage(ends, rate(ctx, "punctuation_run"), random, force, (end) => {
      const runs: Record<string, readonly string[]> = {
        "?": frustrated ? ["?!!", "???", "?!"] : ["??", "?!", "???"],
        "!": ["!!", "!!!"],
        ".": ["...", ".."],
      };
      const run = pick(random, runs[end.mark] ?? ["..."]);
      return () => ctx.draft.replace(end.start, end.end, run, "punctuation_run");
    });
  },
};

export const droppedApostrophe: Strategy = {
  name: "dropped_apostrophe",
  layer: "L2_register",
  reference: "punctuation_format",
  row: "dropped_apostrophe",
  expected(ctx) {
    return rate(ctx, "dropped_apostrophe") * ctx.draft.words.filter((w) => /['’]/.test(w.text)).length;
  },
  propose(ctx, random, force) {
    const sites = ctx.draft.words.filter((w) => /['’]/.test(w.text));
    return perSite(sites, rate(ctx, "dropped_apostrophe"), random, force, (word) => () => {
      const at = word.start + word.text.search(/['’]/);
      return ctx.draft.replace(at, at + 1, "", "dropped_apostrophe");
    });
  },
};

export const textism: Strategy = {
  name: "textism",
  layer: "L2_register",
  reference: "colloquial_speech",
  row: "textism",
  expected(ctx) {
    return rate(ctx, "textism") * phraseSites(ctx.draft, ctx.lex.textisms).length;
  },
  propose(ctx, random, force) {
    const sites = phraseSites(ctx.draft, ctx.lex.textisms);
    return perSite(sites, rate(ctx, "textism"), random, force, (site) => {
      const form = pick(random, site.forms);
      return () => ctx.draft.replace(site.start, site.end, form, "textism");
    });
  },
};

const EMOTIVE = new Set(
  "so please no what why hi hey thanks really good nice help ugh cool yes long slow soon now weird love hate sorry omg wow great".split(
    " ",
  ),
);

export const stretchedVowel: Strategy = {
  name: "stretched_vowel",
  layer: "L2_register",
  reference: "emotional_attitude",
  row: "stretched_vowel",
  expected: once("stretched_vowel"),
  propose(ctx, random, force) {
    const sites = ctx.draft.words.filter((w) => EMOTIVE.has(w.lower));
    return perMessage(sites, rate(ctx, "stretched_vowel"), random, force, (word) => {
      // Stretch the last vowel (or a final y): "so" → "sooo", "please" → "pleaseee".
      const vowel = word.text.search(/[aeiouy][^aeiouy]*$/i);
      const index = vowel >= 0 ? vowel : word.text.length - 1;
      const ch = word.text[index] as string;
      const stretched =
        word.text.slice(0, index + 1) + ch.repeat(1 + Math.floor(random() * 3)) + word.text.slice(index + 1);
      return () => ctx.draft.replace(word.start, word.end, stretched, "stretched_vowel");
    });
  },
};

const EMOJI = ["🙂", "😅", "🙏", "👍", "🤔", "😂", "😊", "🤞"];
const FRUSTRATED_EMOJI = ["😤", "😩", "🙄", "😭", "😡"];

export const emoji: Strategy = {
  name: "emoji",
  layer: "L2_register",
  reference: "emotional_attitude",
  row: "emoji",
  expected: once("emoji"),
  propose(ctx, random, force) {
    const end = ctx.draft.clean.trimEnd().length;
    const set = ctx.traits.includes("frustrated") ? FRUSTRATED_EMOJI : EMOJI;
    return perMessage(end > 0 ? [end] : [], rate(ctx, "emoji"), random, force, (at) => {
      const icon = pick(random, set);
      return () => ctx.draft.insert(at, ` ${icon}`, "emoji");
    });
  },
};

export const filler: Strategy = {
  name: "filler",
  layer: "L2_register",
  reference: "colloquial_speech",
  row: "filler",
  expected: once("filler"),
  propose(ctx, random, force) {
    const { draft, lex } = ctx;
    const first = sentenceStarts(draft)[0];
    const end = draft.clean.trimEnd().length;
    // Hedges go after "I", "is" or "to": "I just need", "is kind of slow", "to maybe add".
    const hedgeSites = draft.words.filter(
      (w) => ["i", "is", "to"].includes(w.lower) && draft.clean[w.end] === " ",
    );
    type Site = { kind: "opener" | "hedge" | "closer"; at: number };
    const sites: Site[] = [
      ...(first ? [{ kind: "opener" as const, at: first.start }] : []),
      ...hedgeSites.map((w) => ({ kind: "hedge" as const, at: w.end + 1 })),
      ...(end > 0 ? [{ kind: "closer" as const, at: end }] : []),
    ];
    const make = (site: Site): Proposal => {
      const text = pick(random, lex.fillers[site.kind]);
      if (site.kind === "opener" && first) {
        // "so how do I…": the opener takes the capital, the old first word loses it.
        const lowered =
          first.text === "I" || first.text.startsWith("I'") ? first.text : first.text.toLowerCase();
        const opener = matchCase(first.text, text);
        return () => draft.replace(first.start, first.end, `${opener} ${lowered}`, "filler");
      }
      if (site.kind === "closer") return () => draft.insert(site.at, ` ${text}`, "filler");
      return () => draft.insert(site.at, `${text} `, "filler");
    };
    if (force) return shuffled(random, sites).map(make);
    if (sites.length === 0 || !chance(random, rate(ctx, "filler"))) return [];
    // Openers are the most common filler, closers the least; hedges share their weight.
    const weight = { opener: 0.6, hedge: 0.3 / Math.max(1, hedgeSites.length), closer: 0.1 };
    const site =
      sites[
        weightedIndex(
          random,
          sites.map((s) => weight[s.kind]),
        )
      ];
    return site ? [make(site)] : [];
  },
};

export const splitMessage: Strategy = {
  name: "split_message",
  layer: "L2_register",
  reference: "punctuation_format",
  row: "split_message",
  expected: once("split_message"),
  propose(ctx, random, force) {
    const { draft } = ctx;
    // A space right after a sentence end, with more text behind it: sent as a second line.
    const sites = sentenceEnds(draft)
      .map((e) => e.end)
      .filter((at) => draft.clean[at] === " " && draft.clean.slice(at).trim() !== "");
    return perMessage(
      sites,
      rate(ctx, "split_message"),
      random,
      force,
      (at) => () => draft.replace(at, at + 1, "\n", "split_message"),
    );
  },
};

export const incompleteSentence: Strategy = {
  name: "incomplete_sentence",
  layer: "L2_register",
  reference: "incomplete_sentence",
  row: "incomplete_sentence",
  expected: once("incomplete_sentence"),
  propose(ctx, random, force) {
    const { draft, lex } = ctx;
    const starts = new Set(sentenceStarts(draft).map((w) => w.start));
    const sites = findPhrases(draft.clean, lex.fragments)
      .filter((hit) => starts.has(hit.start) && draft.isFree(hit.start, hit.end))
      .map((hit) => ({ ...hit, fragments: hit.value }));
    return perMessage(sites, rate(ctx, "incomplete_sentence"), random, force, (site) => {
      const fragment = pick(random, site.fragments);
      if (fragment === "-") {
        // Drop the opening and the space after it; the next word keeps its own case.
        const end = draft.clean[site.end] === " " || draft.clean[site.end] === "," ? site.end + 1 : site.end;
        const gap = draft.clean[end] === " " ? end + 1 : end;
        return () => draft.replace(site.start, gap, "", "incomplete_sentence");
      }
      return () => draft.replace(site.start, site.end, matchCase(site.text, fragment), "incomplete_sentence");
    });
  },
};
