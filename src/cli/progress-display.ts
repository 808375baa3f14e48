// What `convosim generate` shows on stderr while it runs and when it ends.
// Live (stderr is a terminal, stdout is not the NDJSON): a few lines redrawn in place every
// second through log-update, which erases exactly the lines it wrote; every line is cut to the
// terminal's width first (progress-frame.ts), so none wraps and none is left behind.
// Plain (a file, a pipe, or NDJSON records going to the same terminal): one line every
// PLAIN_EVERY_MS, each a whole line, so records and progress never share a line.
// log-update and the frame (string-width) are imported only for a live display: a run whose
// stderr is a file or a pipe, or a --quiet one, starts without them.
import { formatProgress, type ProgressSnapshot } from "../operators/progress.js";
import type { RunSummary } from "../run/generate.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
import { terminalLine } from "../shared/terminal-text.js";

/** A plain progress line this often (a log a person tails, or CI output). */
export const PLAIN_EVERY_MS = 5_000;
/** Concrete failures named in the summary, after the counts by reason. */
export const FAILURES_SHOWN = 5;
/** Reasons listed with their counts; the rest are summed on one line. */
export const REASONS_SHOWN = 10;

/** The part of a stream the display uses (a fake in tests). */
export interface DisplayStream {
  write(text: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressDisplayOptions {
  total?: number;
  /** Redraw in place: stderr is a terminal and stdout does not carry records to it. */
  live: boolean;
  /** Where the failures are, all of them: "out/failures.ndjson", "stdout". */
  failuresAt: string;
}

export interface ProgressDisplay {
  update(snapshot: ProgressSnapshot): void;
  /** A line of its own (a stop notice, a warning), above the live lines. */
  note(line: string): void;
  end(summary: RunSummary): void;
}

/** Whether to redraw in place: records on the same terminal would be glued to a redrawn line. */
export function liveProgress(stderr: DisplayStream, stdout: DisplayStream, ndjsonOnStdout: boolean): boolean {
  return stderr.isTTY === true && !(ndjsonOnStdout && stdout.isTTY === true);
}

export async function progressDisplay(
  stream: DisplayStream,
  options: ProgressDisplayOptions,
): Promise<ProgressDisplay> {
  const frame = options.live ? (await import("./progress-frame.js")).progressFrame : undefined;
  // showCursor: true — hiding it means a terminal left without a cursor if the process is killed.
  const redraw = options.live
    ? (await import("log-update")).createLogUpdate(stream as NodeJS.WriteStream, {
        showCursor: true,
        defaultWidth: 80,
      })
    : undefined;
  let lastPlain = 0;
  let lastFrame: string | undefined;
  return {
    update(snapshot) {
      if (redraw && frame) {
        lastFrame = frame(snapshot, options.total, stream.columns ?? 80).join("\n");
        redraw(lastFrame);
      } else if (snapshot.elapsedMs - lastPlain >= PLAIN_EVERY_MS) {
        lastPlain = snapshot.elapsedMs;
        stream.write(`${formatProgress(snapshot, options.total)}\n`);
      }
    },
    note(line) {
      redraw?.clear();
      stream.write(`${line}\n`);
      if (redraw && lastFrame !== undefined) redraw(lastFrame);
    },
    end(summary) {
      if (redraw) {
        redraw.clear();
        redraw.done();
      }
      for (const line of summaryLines(summary, options.failuresAt)) stream.write(`${line}\n`);
    },
  };
}

/** The end of a run: totals, what the distractor did, every failure reason with its count. */
export function summaryLines(summary: RunSummary, failuresAt: string): string[] {
  const seconds = (summary.elapsedMs / 1000).toFixed(1);
  const replayed = summary.replayed > 0 ? ` (+${summary.replayed} replayed from the cache)` : "";
  const lines = [
    `${summary.done} done, ${summary.failed} failed, ${summary.skipped} already done · ${summary.calls} model calls${replayed} · ` +
      `${summary.promptTokens + summary.completionTokens} tokens · $${summary.costUsd.toFixed(4)} · ${seconds}s`,
  ];
  const noise = summary.distractor;
  if (noise && noise.messages > 0) {
    const semantic =
      noise.semantic.attempted > 0
        ? ` · semantic rewrites ${noise.semantic.accepted} accepted, ${noise.semantic.dropped} dropped by the verifier`
        : "";
    lines.push(
      `noise: ${noise.changed} of ${noise.messages} user messages changed (${noise.activated} activated)${semantic}`,
    );
  }
  // Ids come from personas and reasons quote servers and models: one line each, escapes shown,
  // secrets masked.
  const safe = (line: string) => terminalLine(scrubSecrets(line));
  const counts = summary.failureCounts;
  if (counts.length > 0) {
    lines.push(`failures by reason (${summary.failed}):`);
    for (const group of counts.slice(0, REASONS_SHOWN))
      lines.push(safe(`  ${group.count} × ${group.error_kind}: ${group.reason}`));
    const rest = counts.slice(REASONS_SHOWN);
    if (rest.length > 0) {
      const failures = rest.reduce((n, group) => n + group.count, 0);
      lines.push(`  ${failures} more in ${rest.length} other reason${rest.length === 1 ? "" : "s"}`);
    }
  }
  const shown = summary.failures.slice(0, FAILURES_SHOWN);
  for (const failure of shown)
    lines.push(safe(`  failed ${failure.interaction_id}: ${failure.error_kind}: ${failure.reason}`));
  const more = summary.failed - shown.length;
  if (shown.length > 0)
    lines.push(more > 0 ? `  ${more} more in ${failuresAt}` : `  all failures are in ${failuresAt}`);
  return lines;
}
