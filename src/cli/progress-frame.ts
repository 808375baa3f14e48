// The live progress display's text for a terminal `width` columns wide: a bar with percent,
// elapsed and ETA, then the counters packed into as few lines as fit. Every line is at most
// `width` columns as a terminal counts them (wide characters two, combining marks none): a
// longer line would wrap, and the next redraw, erasing one line per line written, would leave
// the wrapped part behind.
import stringWidth from "string-width";
import { finished, type ProgressSnapshot, progressGroups } from "../operators/progress.js";

const SEPARATOR = " · ";
const SEPARATOR_WIDTH = stringWidth(SEPARATOR);
/** Narrower than this, the bar says nothing; wider, it only takes room from the counters. */
const BAR_MIN = 10;
const BAR_MAX = 30;
/** Below this a terminal is not worth laying out for: lines are cut, never wrapped. */
const NARROWEST = 20;

const graphemes = new Intl.Segmenter();

/** `text` cut to `width` columns, an ellipsis marking the cut. */
export function fitColumns(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  if (width <= 0) return "";
  let kept = "";
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const cells = stringWidth(segment);
    if (used + cells > width - 1) break;
    kept += segment;
    used += cells;
  }
  return `${kept}…`;
}

/** "[########..........]": ASCII, so no terminal draws it wider than counted. */
export function progressBar(fraction: number, cells: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * cells);
  return `[${"#".repeat(filled)}${".".repeat(cells - filled)}]`;
}

/** `text` on lines of at most `width` columns, broken between words (a longer word is cut). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const piece = fitColumns(word, width);
    if (line === "") line = piece;
    else if (stringWidth(line) + 1 + stringWidth(piece) <= width) line += ` ${piece}`;
    else {
      lines.push(line);
      line = piece;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * Groups onto lines of at most `width` columns: a group stays whole on a line when it fits,
 * joins the line before when there is room, and is split part by part only when it is wider
 * than the terminal (a part wider still goes on over lines of its own, broken between words).
 */
export function packGroups(groups: string[][], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  const add = (piece: string) => {
    if (line === "") line = piece;
    else if (stringWidth(line) + SEPARATOR_WIDTH + stringWidth(piece) <= width) line += SEPARATOR + piece;
    else {
      lines.push(line);
      line = piece;
    }
  };
  for (const group of groups) {
    const whole = group.join(SEPARATOR);
    if (stringWidth(whole) <= width) add(whole);
    else
      for (const part of group) {
        if (stringWidth(part) <= width) add(part);
        else {
          if (line !== "") lines.push(line);
          line = "";
          lines.push(...wrapWords(part, width));
        }
      }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** The display's lines for a terminal `columns` wide (stderr.columns). */
export function progressFrame(s: ProgressSnapshot, total: number | undefined, columns: number): string[] {
  const width = Math.max(NARROWEST, columns);
  const [counts = [], timing = [], ...rest] = progressGroups(s, total);
  const lines: string[] = [];
  const time = timing.join(SEPARATOR);
  const barCells = Math.min(BAR_MAX, width - stringWidth(time) - 3); // "[", "]", a space
  if (total !== undefined && total > 0 && barCells >= BAR_MIN)
    lines.push(`${progressBar(finished(s) / total, barCells)} ${time}`);
  else lines.push(...packGroups([timing], width));
  lines.push(...packGroups([counts, ...rest], width));
  return lines.map((line) => fitColumns(line, width));
}
