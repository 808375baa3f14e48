// Text measures for the simulated-user statistics: lowercase word tokens, a small heuristic
// for "does this user turn ask something", hashes for n-grams, and a distinct counter that is
// exact up to a cap and a HyperLogLog sketch past it, so distinct-n stays bounded in memory
// on runs of any size. Nothing here keeps a message's text.

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** Lowercase word tokens: runs of letters and digits, an inner apostrophe kept ("don't"). */
export function words(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []).map((word) => word.replace(/’/g, "'"));
}

// --- Asking something -------------------------------------------------------------------

/** A "?" that ends a sentence or clause (so "a?b=1" in a URL is not a question). */
const QUESTION_MARK = /\?(?=$|[\s"'”’)\]}>*_.,!?])/u;

/** Clause boundaries: sentence ends, commas, semicolons, colons, dashes, brackets, new lines. */
const CLAUSE = /[.,;:!?\n()[\]"“”]+|\s[-–—]+\s/u;

/** Discourse words skipped at the start of a clause before looking for a request form. */
const FILLERS = new Set([
  "ok",
  "okay",
  "so",
  "and",
  "also",
  "then",
  "now",
  "well",
  "alright",
  "right",
  "hi",
  "hey",
  "hello",
  "thanks",
  "thank",
  "great",
  "cool",
  "sure",
  "yes",
  "yeah",
  "no",
  "hmm",
  "um",
  "uh",
  "oh",
  "actually",
  "but",
  "just",
  "maybe",
  "perhaps",
  "again",
]);

/** Words that open a question when followed by a subject: "can you", "is there", "does it". */
const AUXILIARIES = new Set([
  "can",
  "could",
  "would",
  "will",
  "should",
  "shall",
  "may",
  "might",
  "do",
  "does",
  "did",
  "is",
  "are",
  "was",
  "were",
  "am",
  "have",
  "has",
]);

const SUBJECTS = new Set([
  "you",
  "u",
  "i",
  "we",
  "it",
  "there",
  "this",
  "that",
  "these",
  "those",
  "they",
  "he",
  "she",
  "the",
  "a",
  "an",
  "my",
  "your",
  "our",
  "anyone",
  "someone",
  "anything",
  "something",
]);

const WH = new Set(["how", "what", "why", "where", "when", "which", "who", "whom", "whose"]);

/** After a wh-word, what makes it a question ("how do", "what is", "which one") rather than a
 *  subordinate clause ("when I run it, …"). */
const AFTER_WH = new Set([
  ...AUXILIARIES,
  "to",
  "about",
  "if",
  "else",
  "exactly",
  "much",
  "many",
  "long",
  "often",
  "one",
  "ones",
  "kind",
  "sort",
  "type",
  "part",
  "way",
  "of",
]);

/** Verbs that make a clause opening with them a request to the assistant (imperative). */
const REQUEST_VERBS = new Set([
  "explain",
  "show",
  "tell",
  "give",
  "help",
  "list",
  "write",
  "make",
  "fix",
  "check",
  "describe",
  "suggest",
  "recommend",
  "compare",
  "walk",
  "send",
  "find",
  "add",
  "clarify",
  "elaborate",
  "summarize",
  "summarise",
  "provide",
  "share",
  "rewrite",
  "translate",
  "calculate",
  "break",
  "continue",
  "expand",
  "simplify",
  "convert",
  "create",
  "generate",
  "draft",
  "outline",
  "update",
  "change",
  "remove",
  "try",
  "teach",
  "remind",
  "recap",
  "repeat",
  "go",
  "let's",
]);

/** Request phrases that count wherever they stand. */
const REQUEST_PHRASES: readonly string[][] = [
  ["please"],
  ["pls"],
  ["plz"],
  ["i", "need"],
  ["i", "want"],
  ["i'd", "like"],
  ["i", "would", "like"],
  ["i'd", "love"],
  ["i'm", "looking", "for"],
  ["i", "am", "looking", "for"],
  ["help", "me"],
  ["tell", "me"],
  ["show", "me"],
  ["give", "me"],
  ["let", "me", "know"],
  ["walk", "me", "through"],
  ["i", "wonder"],
  ["i", "was", "wondering"],
  ["any", "idea"],
  ["any", "ideas"],
  ["any", "tips"],
  ["any", "suggestions"],
  ["any", "advice"],
];

const WH_CONTRACTIONS = /^(?:how|what|why|where|when|who)'(?:s|re|d)$/;

function startsWithRequest(clause: readonly string[]): boolean {
  let i = 0;
  while (i < clause.length && i < 3 && FILLERS.has(clause[i] ?? "")) i++;
  const first = clause[i];
  const second = clause[i + 1];
  if (first === undefined) return false;
  if (WH_CONTRACTIONS.test(first)) return true;
  if (WH.has(first)) return second === undefined || AFTER_WH.has(second);
  if (AUXILIARIES.has(first)) return second !== undefined && SUBJECTS.has(second);
  return REQUEST_VERBS.has(first);
}

function containsPhrase(tokens: readonly string[], phrase: readonly string[]): boolean {
  outer: for (let i = 0; i + phrase.length <= tokens.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (tokens[i + j] !== phrase[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Whether a user turn asks the assistant something. A small, transparent heuristic (see
 * docs/statistics-and-report.md), true when any of these holds:
 *   1. a question mark ends a sentence or clause ("a?b=1" inside a URL does not count);
 *   2. a clause (text between . , ; : ! ? dashes brackets new lines), after up to three
 *      leading fillers ("ok", "so", "thanks", "also", …), opens with
 *      - an auxiliary and a subject: "can you …", "is there …", "does it …", "do I …",
 *      - a wh-word and an auxiliary or "to"/"about"/"much"/…: "how do I …", "what is …",
 *        "how to …", or a wh-contraction ("what's", "how's"),
 *      - a request verb (imperative): "explain …", "show …", "fix …", "walk me …";
 *   3. a request phrase stands anywhere: "please", "I need", "I'd like", "help me",
 *      "tell me", "let me know", "any ideas", "I was wondering", …
 * It errs on plain statements that open with a request verb ("try it later, it worked") and
 * misses requests phrased as statements ("the second step is unclear").
 */
export function asksSomething(text: string): boolean {
  if (QUESTION_MARK.test(text)) return true;
  const tokens = words(text);
  if (tokens.length === 0) return false;
  if (REQUEST_PHRASES.some((phrase) => containsPhrase(tokens, phrase))) return true;
  return text.split(CLAUSE).some((clause) => startsWithRequest(words(clause)));
}

// --- Hashes and distinct counting ------------------------------------------------------

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers that mixes every bit. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a string (FNV-1a from a seeded start, then mix32). */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Combines two 32-bit hashes, order-sensitive (hash of a pair from the hashes of its parts). */
export function combine32(a: number, b: number, salt = 0): number {
  return mix32(Math.imul(a ^ salt, 0x9e3779b1) ^ b);
}

const TWO_32 = 2 ** 32;
const HI_SEED = 0x5bd1e995;

/** A 53-bit hash (a safe integer) of a string: two seeded 32-bit hashes, 21 bits of one on top. */
export function hash53(text: string): number {
  return (hash32(text, HI_SEED) & 0x1fffff) * TWO_32 + hash32(text);
}

/**
 * Calls `unigram` with the 53-bit hash of every token and `bigram` with the 53-bit hash of
 * every adjacent pair, built from the tokens' two 32-bit halves (no string is concatenated).
 */
export function ngramHashes(
  tokens: readonly string[],
  unigram: (hash: number) => void,
  bigram: (hash: number) => void,
): void {
  let prevLo = 0;
  let prevHi = 0;
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i] ?? "";
    const lo = hash32(word);
    const hi = hash32(word, HI_SEED);
    unigram((hi & 0x1fffff) * TWO_32 + lo);
    if (i > 0) bigram((combine32(prevHi, hi, HI_SEED) & 0x1fffff) * TWO_32 + combine32(prevLo, lo));
    prevLo = lo;
    prevHi = hi;
  }
}

const HLL_BITS = 14;
const HLL_REGISTERS = 1 << HLL_BITS;

/**
 * Counts distinct 53-bit hashes: exactly (a set of them) up to `exactCap` distinct values,
 * then as a HyperLogLog sketch of 2^14 one-byte registers (16 KB, standard error about 0.8 %).
 * The register index is the low 14 bits; the rank is read from the top 21 bits.
 */
export class DistinctCounter {
  #exact: Set<number> | undefined = new Set();
  #registers: Uint8Array | undefined;

  constructor(readonly exactCap = 65_536) {}

  add(hash: number): void {
    if (this.#exact) {
      this.#exact.add(hash);
      if (this.#exact.size <= this.exactCap) return;
      this.#registers = new Uint8Array(HLL_REGISTERS);
      for (const value of this.#exact) this.#addToSketch(value);
      this.#exact = undefined;
      return;
    }
    this.#addToSketch(hash);
  }

  #addToSketch(hash: number): void {
    const registers = this.#registers;
    if (!registers) return;
    const index = (hash % TWO_32) & (HLL_REGISTERS - 1);
    const top = Math.floor(hash / TWO_32) & 0x1fffff; // 21 bits
    const rank = top === 0 ? 22 : Math.clz32(top) - 10; // leading zeros within 21 bits, + 1
    if (rank > (registers[index] ?? 0)) registers[index] = rank;
  }

  /** True once the count is a HyperLogLog estimate rather than exact. */
  get estimated(): boolean {
    return this.#exact === undefined;
  }

  count(): number {
    if (this.#exact) return this.#exact.size;
    const registers = this.#registers ?? new Uint8Array(HLL_REGISTERS);
    let sum = 0;
    let zeros = 0;
    for (const r of registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const m = HLL_REGISTERS;
    const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    const estimate = raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw;
    return Math.round(estimate);
  }
}
