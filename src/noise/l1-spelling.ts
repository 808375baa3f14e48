// L1 spelling: keyboard slips on the persona's layout, misspellings from the shipped word list,
// real-word confusions, word segmentation, and the persona's recurring misspellings (L7).
// Over 80 % of real misspellings are one insert, delete, substitution or transposition, few hit
// a word's first letter, and doubled letters and vowels are common targets (NOISE.md).
import type { Word } from "./draft.js";
import type { Layout } from "./keyboard.js";
import { chance, pick, type Random, weightedIndex, weightedOrder } from "./random.js";
import {
  matchCase,
  type NoiseContext,
  type Proposal,
  perSite,
  phraseSites,
  type Strategy,
} from "./strategy.js";

type SlipOp =
  | "substitute"
  | "omit"
  | "double"
  | "transpose"
  | "extra_key"
  | "missing_space"
  | "extra_space"
  | "shift";
const OPS: readonly SlipOp[] = [
  "substitute",
  "omit",
  "double",
  "transpose",
  "extra_key",
  "missing_space",
  "extra_space",
  "shift",
];
// Fat fingers on a phone hit neighbours and the space bar more, and transpose less (one thumb
// at a time) than two hands on a desktop keyboard.
const OP_WEIGHTS: Record<Layout["name"], readonly number[]> = {
  qwerty_desktop: [0.3, 0.25, 0.1, 0.17, 0.08, 0.04, 0.03, 0.03],
  qwerty_phone: [0.42, 0.18, 0.08, 0.07, 0.1, 0.06, 0.06, 0.03],
};

const isLetter = (ch: string | undefined) => ch !== undefined && /^[A-Za-z]$/.test(ch);
const VOWELS = new Set("aeiouAEIOU");

interface Letter {
  at: number;
  word: Word;
  weight: number;
}

function letters(ctx: NoiseContext): Letter[] {
  const { clean } = ctx.draft;
  const found: Letter[] = [];
  for (const word of ctx.draft.words) {
    for (let at = word.start; at < word.end; at++) {
      const ch = clean[at];
      if (!isLetter(ch)) continue;
      let weight = at === word.start ? 0.15 : 1;
      if (VOWELS.has(ch as string)) weight *= 1.2;
      if (clean[at - 1] === ch || clean[at + 1] === ch) weight *= 1.5;
      found.push({ at, word, weight });
    }
  }
  return found;
}

function neighbour(layout: Layout, ch: string, random: Random): string | undefined {
  const near = layout.neighbours.get(ch.toLowerCase());
  if (!near || near.length === 0) return undefined;
  const index = weightedIndex(
    random,
    near.map(([, w]) => w),
  );
  const key = near[index]?.[0];
  if (!key) return undefined;
  return ch === ch.toUpperCase() ? key.toUpperCase() : key;
}

/** One slip at a letter: the operation is drawn by the layout's weights. */
function slip(ctx: NoiseContext, letter: Letter, random: Random): Proposal {
  const { draft, layout } = ctx;
  const { clean } = draft;
  const op = OPS[weightedIndex(random, OP_WEIGHTS[layout.name])] ?? "substitute";
  const { at, word } = letter;
  const ch = clean[at] as string;
  const name = "keyboard_slip";
  const substitute = () => {
    const key = neighbour(layout, ch, random);
    return key !== undefined && draft.replace(at, at + 1, key, name);
  };
  return () => {
    switch (op) {
      case "omit":
        return word.end - word.start > 2 ? draft.replace(at, at + 1, "", name) : substitute();
      case "double":
        return draft.replace(at, at + 1, ch + ch, name);
      case "transpose": {
        const next = isLetter(clean[at + 1]) && at + 1 < word.end ? at : at - 1;
        const a = clean[next];
        const b = clean[next + 1];
        // Never the first letter ("ot" for "to" would read as a different word), never a capital.
        if (next <= word.start || !/^[a-z]$/.test(a ?? "") || !/^[a-z]$/.test(b ?? "") || a === b)
          return substitute();
        return draft.replace(next, next + 2, `${b}${a}`, name);
      }
      case "extra_key": {
        const key = neighbour(layout, ch, random);
        if (key === undefined) return false;
        return draft.replace(at, at + 1, chance(random, 0.5) ? ch + key : key + ch, name);
      }
      case "missing_space": {
        // The space after this word goes missing (or, on a phone, a letter above the space bar
        // lands instead of it).
        if (clean[word.end] !== " " || !isLetter(clean[word.end + 1])) return substitute();
        const instead =
          layout.name === "qwerty_phone" && chance(random, 0.5) ? pick(random, [...layout.nearSpace]) : "";
        return draft.replace(word.end, word.end + 1, instead, name);
      }
      case "extra_space":
        if (at === word.start) return substitute();
        if (layout.nearSpace.includes(ch.toLowerCase())) return draft.replace(at, at + 1, " ", name);
        return draft.insert(at, " ", name);
      case "shift": {
        // Shift held a letter too long ("THe"), only after a capital.
        const first = clean[word.start] as string;
        const second = clean[word.start + 1] ?? "";
        if (first === first.toLowerCase() || !isLetter(second) || second !== second.toLowerCase())
          return substitute();
        return draft.replace(word.start + 1, word.start + 2, second.toUpperCase(), name);
      }
      default:
        return substitute();
    }
  };
}

export const keyboardSlip: Strategy = {
  name: "keyboard_slip",
  layer: "L1_spelling",
  reference: "typo_misspelling",
  row: "keyboard_slip",
  expected(ctx) {
    return ((ctx.rates.keyboard_slip ?? 0) / 100) * letters(ctx).length;
  },
  propose(ctx, random, force) {
    const all = letters(ctx);
    if (all.length === 0) return [];
    if (force) return weightedOrder(random, all, (l) => l.weight).map((l) => slip(ctx, l, random));
    // Spread the configured slips per 100 letters over the letters by weight, so the expected
    // count is exactly rate × letters / 100 while first letters are rarely hit.
    const total = all.reduce((sum, l) => sum + l.weight, 0);
    const k = (((ctx.rates.keyboard_slip ?? 0) / 100) * all.length) / total;
    return all.filter((l) => chance(random, Math.min(1, k * l.weight))).map((l) => slip(ctx, l, random));
  },
};

/** Words of a dictionary (word → replacements) that the draft may change. */
function dictionaryWords(
  ctx: NoiseContext,
  dictionary: ReadonlyMap<string, readonly string[]>,
  skip?: ReadonlyMap<string, string>,
) {
  return ctx.draft.words.filter((w) => dictionary.has(w.lower) && !skip?.has(w.lower));
}

function wordSwap(
  ctx: NoiseContext,
  word: Word,
  forms: readonly string[],
  random: Random,
  name: string,
): Proposal {
  const form = pick(random, forms);
  return () => ctx.draft.replace(word.start, word.end, matchCase(word.text, form), name);
}

export const idiosyncrasy: Strategy = {
  name: "idiosyncrasy",
  layer: "L7_dynamics",
  reference: "typo_misspelling",
  row: "idiosyncrasy",
  expected(ctx) {
    return (ctx.rates.idiosyncrasy ?? 0) * ctx.draft.words.filter((w) => ctx.habits.has(w.lower)).length;
  },
  propose(ctx, random, force) {
    const sites = ctx.draft.words.filter((w) => ctx.habits.has(w.lower));
    return perSite(sites, ctx.rates.idiosyncrasy ?? 0, random, force, (word) =>
      wordSwap(ctx, word, [ctx.habits.get(word.lower) as string], random, "idiosyncrasy"),
    );
  },
};

export const misspelling: Strategy = {
  name: "misspelling",
  layer: "L1_spelling",
  reference: "typo_misspelling",
  row: "misspelling",
  expected(ctx) {
    return (ctx.rates.misspelling ?? 0) * dictionaryWords(ctx, ctx.lex.misspellings, ctx.habits).length;
  },
  propose(ctx, random, force) {
    const sites = dictionaryWords(ctx, ctx.lex.misspellings, ctx.habits);
    return perSite(sites, ctx.rates.misspelling ?? 0, random, force, (word) =>
      wordSwap(ctx, word, ctx.lex.misspellings.get(word.lower) ?? [], random, "misspelling"),
    );
  },
};

export const realWordConfusion: Strategy = {
  name: "real_word_confusion",
  layer: "L1_spelling",
  reference: "typo_misspelling",
  row: "real_word_confusion",
  expected(ctx) {
    return (ctx.rates.real_word_confusion ?? 0) * dictionaryWords(ctx, ctx.lex.confusions).length;
  },
  propose(ctx, random, force) {
    const sites = dictionaryWords(ctx, ctx.lex.confusions);
    return perSite(sites, ctx.rates.real_word_confusion ?? 0, random, force, (word) =>
      wordSwap(ctx, word, ctx.lex.confusions.get(word.lower) ?? [], random, "real_word_confusion"),
    );
  },
};

export const wordSegmentation: Strategy = {
  name: "word_segmentation",
  layer: "L1_spelling",
  reference: "word_segmentation",
  row: "word_segmentation",
  expected(ctx) {
    return (ctx.rates.word_segmentation ?? 0) * phraseSites(ctx.draft, ctx.lex.segmentation).length;
  },
  propose(ctx, random, force) {
    const sites = phraseSites(ctx.draft, ctx.lex.segmentation);
    return perSite(sites, ctx.rates.word_segmentation ?? 0, random, force, (site) => {
      const form = pick(random, site.forms);
      return () => ctx.draft.replace(site.start, site.end, matchCase(site.text, form), "word_segmentation");
    });
  },
};
