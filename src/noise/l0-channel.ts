// L0 channel operators: what the input channel itself does to a message. The channel also
// selects the keyboard layout and scales the L1 rates (steering table); these are the changes
// only a channel makes: voice dictation runs sentences together, pasted text keeps hard line
// wraps and a leftover quote or list marker.
import { chance, pick } from "./random.js";
import { type NoiseContext, perMessage, type Strategy, sentenceEnds } from "./strategy.js";

export const runOn: Strategy = {
  name: "run_on",
  layer: "L0_channel",
  reference: "punctuation_format",
  row: "run_on",
  expected: (ctx: NoiseContext) => ctx.rates.run_on ?? 0,
  propose(ctx, random, force) {
    const { draft } = ctx;
    // Sentence ends inside the message (not the last one) and commas.
    const inner = sentenceEnds(draft).filter((e) => draft.clean.slice(e.end).trim() !== "");
    const commas = [...draft.clean.matchAll(/(?<=\p{L}),(?= )/gu)]
      .map((m) => m.index ?? 0)
      .filter((at) => draft.isFree(at, at + 1));
    const sites = [
      ...inner.map((e) => [e.start, e.end] as const),
      ...commas.map((at) => [at, at + 1] as const),
    ];
    if (sites.length === 0) return [];
    if (!force && !chance(random, ctx.rates.run_on ?? 0)) return [];
    // Dictation drops most of them, not always all.
    const chosen = force ? [pick(random, sites)] : sites.filter(() => chance(random, 0.8));
    return chosen.map(
      ([start, end]) =>
        () =>
          draft.replace(start, end, "", "run_on"),
    );
  },
};

export const strayLineBreak: Strategy = {
  name: "stray_line_break",
  layer: "L0_channel",
  reference: "real_life_fragments",
  row: "stray_line_break",
  expected: (ctx: NoiseContext) => ctx.rates.stray_line_break ?? 0,
  propose(ctx, random, force) {
    const { draft } = ctx;
    // Hard wraps from the source: the last space before column 60–80 of each line.
    const width = 60 + Math.floor(random() * 21);
    const breaks: number[] = [];
    let lineStart = 0;
    for (let at = 0; at < draft.length; at++) {
      if (draft.clean[at] === "\n") lineStart = at + 1;
      else if (at - lineStart >= width) {
        const space = draft.clean.lastIndexOf(" ", at);
        if (space > lineStart) {
          breaks.push(space);
          lineStart = space + 1;
        } else lineStart = at;
      }
    }
    if (breaks.length === 0 || (!force && !chance(random, ctx.rates.stray_line_break ?? 0))) return [];
    return breaks.map((at) => () => draft.replace(at, at + 1, "\n", "stray_line_break"));
  },
};

const MARKERS = ["> ", "- ", "* ", "## "];

export const leftoverMarkdown: Strategy = {
  name: "leftover_markdown",
  layer: "L0_channel",
  reference: "real_life_fragments",
  row: "leftover_markdown",
  expected: (ctx: NoiseContext) => ctx.rates.leftover_markdown ?? 0,
  propose(ctx, random, force) {
    const { draft } = ctx;
    const at = draft.clean.length - draft.clean.trimStart().length;
    return perMessage(
      draft.length > 0 ? [at] : [],
      ctx.rates.leftover_markdown ?? 0,
      random,
      force,
      (start) => {
        const marker = pick(random, MARKERS);
        return () => draft.insert(start, marker, "leftover_markdown");
      },
    );
  },
};
