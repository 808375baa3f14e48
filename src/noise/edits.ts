// Edits over the clean text and what is measured on them. An edit list is sorted by `start`,
// its edits do not overlap, and offsets are UTF-16 code units of the clean text; an insertion
// has start === end. Replaying the list over the clean text gives the noisy text exactly.
import type { NoiseEdit } from "../schema/noise.js";

/** Applies `edits` (in order, over the clean text) and returns the noisy text. */
export function replayEdits(clean: string, edits: readonly NoiseEdit[]): string {
  let out = "";
  let cursor = 0;
  for (const edit of edits) {
    if (edit.start < cursor || edit.end < edit.start || edit.end > clean.length) {
      throw new RangeError(
        `replayEdits: edit [${edit.start}, ${edit.end}) overlaps the previous one or leaves the text`,
      );
    }
    if (clean.slice(edit.start, edit.end) !== edit.before) {
      throw new RangeError(`replayEdits: edit at ${edit.start} expects ${JSON.stringify(edit.before)}`);
    }
    out += clean.slice(cursor, edit.start) + edit.after;
    cursor = edit.end;
  }
  return out + clean.slice(cursor);
}

/**
 * Levenshtein distance over Unicode code points (an emoji counts once). Banded (Ukkonen): the
 * band doubles until the distance fits in it, so two long, nearly equal texts cost O(n·d).
 */
export function levenshtein(a: string, b: string, options: { ignoreCase?: boolean } = {}): number {
  let x = Array.from(options.ignoreCase ? a.toLowerCase() : a);
  let y = Array.from(options.ignoreCase ? b.toLowerCase() : b);
  // A common prefix and suffix cost nothing.
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (
    tail < x.length - head &&
    tail < y.length - head &&
    x[x.length - 1 - tail] === y[y.length - 1 - tail]
  )
    tail++;
  x = x.slice(head, x.length - tail);
  y = y.slice(head, y.length - tail);
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  for (let k = Math.max(Math.abs(x.length - y.length), 8); ; k *= 2) {
    const d = bandedDistance(x, y, k);
    if (d <= k) return d;
  }
}

function bandedDistance(a: readonly string[], b: readonly string[], k: number): number {
  const n = a.length;
  const m = b.length;
  const width = 2 * k + 1;
  const INF = Number.MAX_SAFE_INTEGER;
  // Row i holds D[i][j] for j = i - k + jj, jj in [0, 2k].
  let prev = new Array<number>(width).fill(INF);
  let cur = new Array<number>(width).fill(INF);
  for (let jj = k; jj < width && jj - k <= m; jj++) prev[jj] = jj - k;
  for (let i = 1; i <= n; i++) {
    for (let jj = 0; jj < width; jj++) {
      const j = i - k + jj;
      if (j < 0 || j > m) {
        cur[jj] = INF;
        continue;
      }
      if (j === 0) {
        cur[jj] = i;
        continue;
      }
      const up = jj + 1 < width ? (prev[jj + 1] ?? INF) + 1 : INF;
      const left = jj > 0 ? (cur[jj - 1] ?? INF) + 1 : INF;
      const diag = (prev[jj] ?? INF) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur[jj] = Math.min(up, left, diag);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m - n + k] ?? INF;
}

/** Character error rate: Levenshtein distance over code points / code points of the clean text. */
export function characterErrorRate(
  clean: string,
  noisy: string,
  options: { ignoreCase?: boolean } = {},
): number {
  const length = Array.from(clean).length;
  const distance = levenshtein(clean, noisy, options);
  if (length === 0) return distance === 0 ? 0 : 1;
  return distance / length;
}

/** Whitespace-separated tokens, as the realism report counts token inflation. */
export function whitespaceTokens(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}
