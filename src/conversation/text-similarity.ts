// Small text measures the turn guards share: normalised words, word n-gram shingles, and how
// much of one text another contains. Near-duplicate checks must survive case, punctuation and
// a copy cut short by the token limit, which exact comparison does not.

/** Lowercase word tokens: letters and digits (any script), apostrophes kept inside words. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** The set of word n-grams of a text (the text itself when it has fewer than n words). */
export function shingles(text: string, n = 3): Set<string> {
  return shinglesOfWords(words(text), n);
}

/** shingles() of text already split into words (the guards split each reply once). */
export function shinglesOfWords(tokens: readonly string[], n = 3): Set<string> {
  const set = new Set<string>();
  if (tokens.length === 0) return set;
  if (tokens.length < n) {
    set.add(tokens.join(" "));
    return set;
  }
  for (let i = 0; i + n <= tokens.length; i++) {
    let gram = tokens[i] as string;
    for (let j = 1; j < n; j++) gram += ` ${tokens[i + j]}`;
    set.add(gram);
  }
  return set;
}

/** |A ∩ B| / |A ∪ B|. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const item of a) if (b.has(item)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Share of `part`'s shingles found in `whole`: 1 when part is a (possibly cut) copy of a piece of whole. */
export function containment(part: ReadonlySet<string>, whole: ReadonlySet<string>): number {
  if (part.size === 0) return 0;
  let shared = 0;
  for (const item of part) if (whole.has(item)) shared++;
  return shared / part.size;
}

/**
 * 1 − (word-level edit distance / the longer text's word count): 0.93 for a 15-word message with
 * one word changed, which 3-gram Jaccard (0.63) misses. Long texts are compared on their first
 * `cap` words, which keeps it cheap and is enough to tell a resent message.
 */
export function wordEditSimilarity(a: readonly string[], b: readonly string[], cap = 200): number {
  const x = a.slice(0, cap);
  const y = b.slice(0, cap);
  if (x.length === 0 && y.length === 0) return 1;
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return 1 - (previous[y.length] ?? 0) / Math.max(x.length, y.length);
}
