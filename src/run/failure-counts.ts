// Failures counted by what went wrong, for the end-of-run summary: a run of 2 000 failures is
// usually two or three causes, each repeated with a different id, count or duration in its text.
import type { FailureRecord } from "../schema/interaction.js";

export interface FailureCount {
  error_kind: string;
  /** The first reason seen in this group, as saved (the others differ only in numbers, ids, quotes). */
  reason: string;
  count: number;
}

/** Distinct groups kept; failures past it are counted under their kind as "(other reasons)". */
export const MAX_FAILURE_GROUPS = 50;
const OTHER = "(other reasons)";

/**
 * The part of a reason that names the cause: quoted text (a model's words, an id) and every
 * word holding a digit (a count, a duration, a port, a request id) vary from one failure to the
 * next; an HTTP status does not, and is kept.
 */
export function normaliseReason(reason: string): string {
  return reason
    .replace(/"[^"]*"|'[^']*'/g, '"…"')
    .replace(/[\w.-]*\d[\w.-]*/g, (word, offset: number, whole: string) =>
      /^\d{3}$/.test(word) && whole.slice(Math.max(0, offset - 5), offset) === "HTTP " ? word : "N",
    )
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);
}

export class FailureCounter {
  readonly #groups = new Map<string, FailureCount>();
  readonly #kinds = new Set<string>();

  add(failure: FailureRecord): void {
    const kind = failure.error_kind;
    const normal = `${kind}\u0000${normaliseReason(failure.reason)}`;
    // Past the bound, a kind already listed gathers its new reasons in one group; a new kind
    // joins a single group of its own, so the list stays at most bound + kinds listed + 1.
    const key =
      this.#groups.has(normal) || this.#groups.size < MAX_FAILURE_GROUPS
        ? normal
        : this.#kinds.has(kind)
          ? `${kind}\u0000${OTHER}`
          : `\u0000${OTHER}`;
    const group = this.#groups.get(key);
    if (group) group.count++;
    else {
      const other = key.endsWith(OTHER);
      this.#groups.set(key, {
        error_kind: key.startsWith("\u0000") ? "(other kinds)" : kind,
        reason: other ? OTHER : failure.reason,
        count: 1,
      });
      this.#kinds.add(kind);
    }
  }

  /** Most frequent first. */
  counts(): FailureCount[] {
    return [...this.#groups.values()].sort((a, b) => b.count - a.count).map((group) => ({ ...group }));
  }
}
