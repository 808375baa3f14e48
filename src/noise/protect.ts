// Spans no rule-based layer may touch (NOISE.md, "Never touched"): code, URLs, emails, file
// paths, numbers, dates, money, quoted strings, and technical identifiers (snake_case,
// camelCase, dotted names), which are the slot values a task usually depends on. Overlapping
// matches are merged; a span's kind is the one of the match that started first.

export type ProtectedKind =
  | "code_block"
  | "inline_code"
  | "url"
  | "email"
  | "path"
  | "date"
  | "time"
  | "money"
  | "number"
  | "quoted"
  | "identifier"
  | "mention";

export interface ProtectedSpan {
  start: number;
  end: number;
  kind: ProtectedKind;
}

const MONTH =
  "(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";

// Order matters only for the kind reported when matches overlap (earlier start wins; at the
// same start, the longer match wins).
const PATTERNS: ReadonlyArray<readonly [ProtectedKind, RegExp]> = [
  // Fenced code, also when the closing fence is missing (then to the end of the text).
  ["code_block", /```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)/g],
  ["inline_code", /`[^`\n]+`/g],
  ["url", /\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s<>"'`]+/gi],
  ["email", /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g],
  ["mention", /(?<![\w@])[@#][A-Za-z0-9_][\w.-]*/g],
  ["date", /\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g],
  ["date", /\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b/g],
  ["date", new RegExp(`\\b${MONTH}\\.? \\d{1,2}(?:st|nd|rd|th)?(?:,? \\d{4})?\\b`, "g")],
  ["date", new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)? (?:of )?${MONTH}(?:,? \\d{4})?\\b`, "g")],
  ["time", /\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?(?![\w])|\b\d{1,2}\s?[ap]m\b/gi],
  [
    "money",
    /(?:[$€£¥₹]|\b(?:USD|EUR|GBP|JPY|INR|CAD|AUD)\s?)\d[\d,]*(?:\.\d+)?(?:\s?[kKmMbB]n?\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP|dollars|euros|pounds|bucks|cents)\b/g,
  ],
  // Unix, home-relative, relative and Windows paths; a bare file name with an extension.
  ["path", /(?<![\w/])(?:~|\.{1,2})?\/[\w.@%+~-]+(?:\/[\w.@%+~-]*)*|\b[A-Za-z]:\\[^\s"'`]+/g],
  ["path", /(?<![\w/\\.-])[\w-]+(?:\\[\w.-]+)+/g],
  // Relative paths: with an extension (src/index.ts), a trailing slash (node_modules/), or
  // at least two slashes (a/b/c).
  [
    "path",
    /(?<![\w/.-])[\w.-]+(?:\/[\w.@%+~-]+)*\/[\w@%+~-]+\.[A-Za-z0-9]{1,8}\b|(?<![\w/.-])[\w.-]+\/(?:[\w.@%+~-]+\/)*(?=[\s,;:)]|$)|(?<![\w/.-])[\w.-]+(?:\/[\w.@%+~-]+){2,}/g,
  ],
  // One slash between two names (origin/main, user/repo, km/h), unless it is prose (and/or).
  ["path", /(?<![\w/.-])[\w.-]+\/[\w.@%+~-]+(?![\w/])/g],
  // Numbers with their unit or suffix glued on (50ms, 3.5GB, 10x, 2nd, v1.2.3, 50%).
  ["number", /(?<![\p{L}\d])v?\d(?:[\d,._]*\d)?(?:%|[\p{L}]+\b)?/gu],
  // "double quotes" (straight or curly) and 'single quotes' that are not apostrophes.
  [
    "quoted",
    /"[^"\n]{1,300}"|“[^”\n]{1,300}”|(?<![\p{L}\p{N}])'[^'\n]{1,300}'(?![\p{L}\p{N}])|‘[^’\n]{1,300}’/gu,
  ],
  // Identifiers: snake_case, camelCase/PascalCase with an inner capital, dotted names
  // (os.path.join, config.yaml, example.com), words with digits (gpt4o, x86, utf8).
  [
    "identifier",
    /(?<![\w.])(?:\w*_\w+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*|[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+|[A-Za-z]+\d[\w]*)(?:\(\))?/g,
  ],
];

// Slash pairs that are prose, not names.
const PROSE_SLASHES = new Set([
  "and/or",
  "either/or",
  "he/she",
  "his/her",
  "him/her",
  "s/he",
  "yes/no",
  "on/off",
  "w/o",
  "and/also",
]);

// A trailing period, comma, colon, … ends a sentence rather than a URL or path.
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Every protected span of `text`, sorted and merged. Offsets are UTF-16 code units. */
export function protectedSpans(text: string): ProtectedSpan[] {
  const found: ProtectedSpan[] = [];
  for (const [kind, pattern] of PATTERNS) {
    pattern.lastIndex = 0;
    for (const match of text.matchAll(pattern)) {
      let value = match[0];
      if (kind === "url" || kind === "path" || kind === "email" || kind === "mention") {
        value = value.replace(TRAILING, "");
      } else if (kind === "identifier" && !value.endsWith("()")) {
        value = value.replace(TRAILING, "");
      }
      if (value.length === 0 || (kind === "path" && PROSE_SLASHES.has(value.toLowerCase()))) continue;
      const start = match.index ?? 0;
      found.push({ start, end: start + value.length, kind });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: ProtectedSpan[] = [];
  for (const span of found) {
    const last = merged[merged.length - 1];
    if (last && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

/** One flag per UTF-16 code unit: true where a protected span covers it. */
export function protectionMask(text: string, spans = protectedSpans(text)): Uint8Array {
  const mask = new Uint8Array(text.length);
  for (const span of spans) mask.fill(1, span.start, span.end);
  return mask;
}
