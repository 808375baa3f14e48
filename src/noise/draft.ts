// The working copy of one message while the layers noise it. Every clean character keeps its
// replacement and every gap its insertion, so layers never see shifted offsets, protected spans
// are refused in one place, and the edit list over the clean text falls out at the end. The
// guard rails live here too: a character budget (5 % of the message by default) that every change
// but whole-message lowercasing spends, so the CER stays within it once case is ignored (and
// exactly within it when lowercase did not fire); and at most 10 % of content words changed
// (one from four content words up).
import type { NoiseEdit } from "../schema/noise.js";
import { levenshtein } from "./edits.js";
import { STOPWORDS } from "./lexicon.js";
import { protectedSpans, protectionMask } from "./protect.js";

export interface Word {
  start: number;
  end: number;
  text: string;
  lower: string;
  content: boolean;
}

export interface GuardRails {
  /** Largest case-insensitive character error rate of one message (default 0.05). */
  maxCer: number;
  /** Share of content words left unchanged (default 0.9); one change is always allowed. */
  minContentKept: number;
}

const WORD = /[A-Za-z]+(?:['’][A-Za-z]+)*/g;

export class Draft {
  readonly mask: Uint8Array;
  readonly words: Word[];
  private readonly out: string[];
  private readonly ins: string[];
  private readonly outTag: Array<string | null>;
  private readonly insTag: Array<string | null>;
  private readonly claimed: Uint8Array;
  private readonly insClaimed: Uint8Array;
  private readonly touchedContent = new Set<number>();
  private readonly budget: number;
  private readonly maxContentChanges: number;
  private spentChars = 0;
  private readonly counts = new Map<string, number>();

  constructor(
    readonly clean: string,
    rails: GuardRails,
  ) {
    const n = clean.length;
    this.mask = protectionMask(clean, protectedSpans(clean));
    this.out = Array.from({ length: n }, (_, i) => clean[i] as string);
    this.ins = new Array<string>(n + 1).fill("");
    this.outTag = new Array<string | null>(n).fill(null);
    this.insTag = new Array<string | null>(n + 1).fill(null);
    this.claimed = new Uint8Array(n);
    this.insClaimed = new Uint8Array(n + 1);
    this.words = [];
    for (const match of clean.matchAll(WORD)) {
      const start = match.index ?? 0;
      const end = start + match[0].length;
      if (this.mask.subarray(start, end).some((flag) => flag === 1)) continue;
      // A word glued to a protected span (the "ms" of a number) is part of it in effect.
      if ((start > 0 && this.mask[start - 1]) || (end < n && this.mask[end])) continue;
      const lower = match[0].toLowerCase();
      this.words.push({
        start,
        end,
        text: match[0],
        lower,
        content: lower.length >= 3 && !STOPWORDS.has(lower),
      });
    }
    this.budget = Math.floor(rails.maxCer * Array.from(clean).length);
    const contentWords = this.words.filter((w) => w.content).length;
    // One content word may change once there are four: a typo in "password" is the typical typo, and a
    // short message would otherwise only ever get slips in its function words.
    const share = Math.floor((1 - rails.minContentKept) * contentWords + 1e-9);
    this.maxContentChanges = share > 0 ? share : contentWords >= 4 ? 1 : 0;
  }

  get length(): number {
    return this.clean.length;
  }

  /** True when [start, end) is neither protected nor already changed by another edit. */
  isFree(start: number, end: number): boolean {
    if (start < 0 || end > this.clean.length || end < start) return false;
    for (let i = start; i < end; i++) if (this.mask[i] || this.claimed[i]) return false;
    for (let i = start + 1; i < end; i++) if (this.insClaimed[i]) return false;
    return true;
  }

  /** An insertion at `at` must not glue onto a protected span or land inside a changed range. */
  canInsertAt(at: number): boolean {
    if (at < 0 || at > this.clean.length) return false;
    if ((at > 0 && this.mask[at - 1]) || (at < this.clean.length && this.mask[at])) return false;
    if (at > 0 && at < this.clean.length && this.claimed[at - 1] && this.claimed[at]) return false;
    return true;
  }

  /** Characters of budget left (case-insensitive edit distance). */
  remaining(): number {
    return this.budget - this.spentChars;
  }

  /**
   * Replaces clean[start, end) by `after`, recorded under `strategy`. Refused (false) when the
   * range is protected or taken, or the guard rails would be broken. Only the differing middle
   * is recorded, so "definitely" → "definately" is one small edit.
   */
  replace(start: number, end: number, after: string, strategy: string): boolean {
    const before = this.clean.slice(start, end);
    if (before === after || !this.isFree(start, end)) return false;
    if (start === end) return this.insert(start, after, strategy);
    // Case changes cost here too (a shift slip, the opener that lowers the first word): only the
    // lowercase strategy is free, so the rail holds for the case-insensitive CER with room to spare.
    const cost = levenshtein(before, after);
    if (this.spentChars + cost > this.budget) return false;
    const hit = this.contentWordsIn(start, end, before, after);
    if (this.touchedContent.size + hit.length > this.maxContentChanges) return false;
    // Trim the common prefix and suffix (never splitting a surrogate pair).
    let head = 0;
    while (
      head < before.length &&
      head < after.length &&
      before[head] === after[head] &&
      !isSurrogate(before, head)
    )
      head++;
    let tail = 0;
    while (
      tail < before.length - head &&
      tail < after.length - head &&
      before[before.length - 1 - tail] === after[after.length - 1 - tail] &&
      !isSurrogate(before, before.length - 1 - tail)
    )
      tail++;
    const from = start + head;
    const to = end - tail;
    const middle = after.slice(head, after.length - tail);
    // A pure insertion where another strategy already inserted would mix their texts.
    if (from === to && this.ins[from] !== "") return false;
    if (from === to) {
      this.ins[from] += middle;
      this.insTag[from] ??= strategy;
    } else {
      this.out[from] = middle;
      this.outTag[from] = strategy;
      for (let i = from + 1; i < to; i++) {
        this.out[i] = "";
        this.outTag[i] = strategy;
      }
    }
    this.claimed.fill(1, start, end);
    this.insClaimed.fill(1, start, end + 1);
    this.spentChars += cost;
    for (const index of hit) this.touchedContent.add(index);
    this.count(strategy);
    return true;
  }

  /** Inserts `text` before clean[at]. */
  insert(at: number, text: string, strategy: string): boolean {
    if (text === "" || !this.canInsertAt(at) || this.insClaimed[at]) return false;
    const cost = Array.from(text).length;
    if (this.spentChars + cost > this.budget) return false;
    this.ins[at] += text;
    this.insTag[at] ??= strategy;
    this.insClaimed[at] = 1;
    this.spentChars += cost;
    this.count(strategy);
    return true;
  }

  /** Lowercases every unprotected character (a case change costs no budget). */
  lowercase(strategy: string): boolean {
    let changed = false;
    for (let i = 0; i < this.out.length; i++) {
      if (this.mask[i]) continue;
      const current = this.out[i] as string;
      const lowered = current.toLowerCase();
      if (lowered !== current) {
        this.out[i] = lowered;
        this.outTag[i] ??= strategy;
        changed = true;
      }
    }
    for (let i = 0; i < this.ins.length; i++) {
      const current = this.ins[i] as string;
      if (current.toLowerCase() !== current) this.ins[i] = current.toLowerCase();
    }
    if (changed) this.count(strategy);
    return changed;
  }

  /** How many times each strategy changed something. */
  applied(): ReadonlyMap<string, number> {
    return this.counts;
  }

  text(): string {
    let text = "";
    for (let i = 0; i < this.out.length; i++) text += (this.ins[i] as string) + (this.out[i] as string);
    return text + (this.ins[this.out.length] as string);
  }

  /** The edits over the clean text: consecutive changed pieces of one strategy form one edit. */
  edits(): NoiseEdit[] {
    const edits: NoiseEdit[] = [];
    let open: NoiseEdit | null = null;
    const close = () => {
      if (open) edits.push(open);
      open = null;
    };
    const piece = (start: number, end: number, current: string, tag: string | null) => {
      const before = this.clean.slice(start, end);
      // An empty gap between two changed characters does not split their edit.
      if (start === end && current === "") return;
      if (current === before) return close();
      const strategy = tag ?? "unknown";
      if (open && open.strategy === strategy && open.end === start) {
        open.end = end;
        open.before += before;
        open.after += current;
      } else {
        close();
        open = { start, end, before, after: current, strategy };
      }
    };
    for (let i = 0; i <= this.out.length; i++) {
      piece(i, i, this.ins[i] as string, this.insTag[i] ?? null);
      if (i < this.out.length) piece(i, i + 1, this.out[i] as string, this.outTag[i] ?? null);
    }
    close();
    return edits;
  }

  private count(strategy: string): void {
    this.counts.set(strategy, (this.counts.get(strategy) ?? 0) + 1);
  }

  /** Content words of [start, end) that this change alters (ignoring case). */
  private contentWordsIn(start: number, end: number, before: string, after: string): number[] {
    if (before.toLowerCase() === after.toLowerCase()) return [];
    const hit: number[] = [];
    this.words.forEach((word, index) => {
      if (word.content && word.start < end && word.end > start && !this.touchedContent.has(index))
        hit.push(index);
    });
    return hit;
  }
}

function isSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0xd800 && code <= 0xdfff;
}
