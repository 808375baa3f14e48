// Word-level highlighting of what noise changed: the clean and the noisy text side by side,
// the words that differ wrapped in <mark>. Output is escaped HTML.

import { changedMiddle } from "../shared/common-ends.js";
import { escapeHtml } from "./escape.js";

/** Beyond this many token pairs, fall back to marking the changed middle as one block. */
const MAX_CELLS = 250_000;

const tokens = (text: string): string[] => text.match(/\s+|[^\s]+/g) ?? [];

function render(parts: readonly string[], changed: readonly boolean[]): string {
  let html = "";
  let run = "";
  let marking = false;
  // Whitespace waits until the next word: it joins a mark only between two changed words.
  let space = "";
  const flush = () => {
    if (run) html += marking ? `<mark>${escapeHtml(run)}</mark>` : escapeHtml(run);
    run = "";
  };
  parts.forEach((part, i) => {
    if (part.trim() === "") {
      space += part;
      return;
    }
    const mark = changed[i] === true;
    if (mark === marking) run += space + part;
    else {
      flush();
      html += escapeHtml(space);
      run = part;
      marking = mark;
    }
    space = "";
  });
  flush();
  return html + escapeHtml(space);
}

/** Marks, on each side, the tokens outside a longest common subsequence of the two. */
export function highlightChanges(clean: string, noisy: string): { clean: string; noisy: string } {
  const a = tokens(clean);
  const b = tokens(noisy);
  const { start, endA, endB } = changedMiddle(a, b);
  const changedA = a.map((_, i) => i >= start && i < endA);
  const changedB = b.map((_, i) => i >= start && i < endB);
  const n = endA - start;
  const m = endB - start;
  if (n > 0 && m > 0 && n * m <= MAX_CELLS) {
    // LCS table over the changed middle; walk it back to unmark the common tokens.
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        const row = lcs[i] as Uint32Array;
        const below = lcs[i + 1] as Uint32Array;
        row[j] =
          a[start + i] === b[start + j] ? (below[j + 1] ?? 0) + 1 : Math.max(below[j] ?? 0, row[j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (a[start + i] === b[start + j]) {
        changedA[start + i] = false;
        changedB[start + j] = false;
        i++;
        j++;
      } else if ((lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0)) i++;
      else j++;
    }
  }
  return { clean: render(a, changedA), noisy: render(b, changedB) };
}
