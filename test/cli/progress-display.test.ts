// The progress display on stderr: redrawn in place on a terminal of any width without leaving
// a stale line, never on a line shared with NDJSON records, and a summary that counts every
// failure by reason and says where the full list is.
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import {
  liveProgress,
  PLAIN_EVERY_MS,
  progressDisplay,
  summaryLines,
} from "../../src/cli/progress-display.js";
import { progressFrame } from "../../src/cli/progress-frame.js";
import type { ProgressSnapshot } from "../../src/operators/progress.js";
import { ProgressTracker } from "../../src/operators/progress.js";
import { ProviderError } from "../../src/providers/errors.js";
import { FailureCounter } from "../../src/run/failure-counts.js";
import type { RunSummary } from "../../src/run/generate.js";
import type { FailureRecord } from "../../src/schema/interaction.js";
import { VirtualTerminal } from "./virtual-terminal.js";

/** A busy run at `second` s: retries of three kinds, a pause, an endpoint given up on, a wide reason. */
function busy(second: number): ProgressSnapshot {
  const tracker = new ProgressTracker();
  tracker.onCallRetry(new ProviderError("rate_limit", "429"), 10);
  tracker.onCallRetry(new ProviderError("rate_limit", "429"), 10);
  tracker.onCallRetry(new ProviderError("server", "503"), 10);
  tracker.onCallRetry(new ProviderError("timeout", "slow"), 10);
  return {
    ...tracker.snapshot(),
    done: 10 * second,
    failed: second,
    inFlight: 40,
    calls: 300 * second,
    callsPerSecond: 8.123,
    promptTokens: 40_000 * second,
    completionTokens: 12_000 * second,
    costUsd: 0.0123 * second,
    elapsedMs: second * 1000,
    pause: { reason: "rate limited by api.example.com (Retry-After)", remainingMs: 42_000, waiting: 3 },
    endpointsDown: [
      {
        endpoint: "http://127.0.0.1:9/v1",
        kind: "endpoint_down",
        reason: "服务器错误：连接被拒绝 (ECONNREFUSED)",
      },
    ],
  };
}

function fakeTty(columns: number) {
  const terminal = new VirtualTerminal(columns);
  const stream = { isTTY: true, columns, write: (text: string) => terminal.write(text) };
  return { terminal, stream };
}

describe("progressFrame", () => {
  for (const width of [50, 200]) {
    it(`keeps every line within ${width} columns, wide characters counted as two`, () => {
      const frame = progressFrame(busy(7), 1000, width);
      for (const line of frame) expect(stringWidth(line)).toBeLessThanOrEqual(width);
      const text = frame.join(" "); // a long part goes on over lines, broken between words
      expect(frame[0]).toMatch(/^\[[#.]+\] 7% · 7s elapsed · ETA 1m24s/);
      expect(text).toContain("70/1000 done");
      expect(text).toContain("11.00 conv/s"); // (70 + 7) / 7 s
      expect(text).toContain("8.1 calls/s");
      expect(text).toContain("4 retries (2 rate-limited, 1 server error, 1 timeout)");
      expect(text).toContain("$0.0861");
      expect(text).toMatch(/paused 42s: rate limited/);
      expect(text).toContain("服务器错误：连接被拒绝 (ECONNREFUSED)");
    });
  }

  it("uses the room a wide terminal gives: fewer lines at 200 columns than at 50", () => {
    const wide = progressFrame(busy(7), 1000, 200);
    const narrow = progressFrame(busy(7), 1000, 50);
    expect(wide.length).toBeLessThan(narrow.length);
    expect(wide[0]?.length).toBeGreaterThan(narrow[0]?.length ?? 0); // the bar grows
  });

  it("without a total: no bar, no percent, no ETA", () => {
    const frame = progressFrame(busy(3), undefined, 80).join("\n");
    expect(frame).not.toMatch(/\[[#.]+\]|%|ETA/);
    expect(frame).toContain("30 done");
  });
});

describe("progressDisplay on a terminal", () => {
  for (const width of [50, 200]) {
    it(`redraws in place at ${width} columns: the screen holds the notes and the last frame, nothing stale`, async () => {
      const { terminal, stream } = fakeTty(width);
      const display = await progressDisplay(stream, {
        total: 1000,
        live: true,
        failuresAt: "out/failures.ndjson",
      });
      for (let second = 1; second <= 5; second++) display.update(busy(second));
      const note = "stopping (50 done, 40 in flight): no new conversation starts";
      display.note(note);
      for (let second = 6; second <= 9; second++) display.update(busy(second));
      // A frame with fewer lines after longer ones: the lines no longer drawn must go too.
      const calm = { ...busy(10), pause: undefined, endpointsDown: undefined };
      display.update(calm);
      expect(terminal.screen()).toEqual([
        ...(width === 50 ? [note.slice(0, 50), note.slice(50)] : [note]), // a note wraps like any text
        ...progressFrame(calm, 1000, width),
      ]);
      const redrawn = terminal.written.filter((line) => line !== note);
      expect(redrawn.length).toBeGreaterThan(10);
      for (const line of redrawn) expect(stringWidth(line)).toBeLessThanOrEqual(width);
    });
  }

  it("ends by clearing the display and printing the summary below what was said", async () => {
    const { terminal, stream } = fakeTty(80);
    const display = await progressDisplay(stream, {
      total: 10,
      live: true,
      failuresAt: "out/failures.ndjson",
    });
    display.update(busy(1));
    display.update(busy(2));
    display.end(summaryWith([]));
    expect(terminal.screen()).toEqual([
      "3 done, 0 failed, 0 already done · 4 model calls · 100 tokens · $0.0100 · 2.0s",
    ]);
  });
});

describe("NDJSON records and progress on the same terminal", () => {
  it("no live redraw when stdout is a terminal carrying the records", () => {
    expect(liveProgress({ isTTY: true, write: () => true }, { isTTY: true, write: () => true }, true)).toBe(
      false,
    );
    expect(liveProgress({ isTTY: true, write: () => true }, { isTTY: false, write: () => true }, true)).toBe(
      true,
    );
    expect(liveProgress({ isTTY: true, write: () => true }, { isTTY: true, write: () => true }, false)).toBe(
      true,
    );
    expect(
      liveProgress({ isTTY: false, write: () => true }, { isTTY: false, write: () => true }, false),
    ).toBe(false);
  });

  it(`plain lines every ${PLAIN_EVERY_MS / 1000} s: every screen row is a whole record or a whole progress line`, async () => {
    const terminal = new VirtualTerminal(400);
    const tty = { isTTY: true, columns: 400, write: (text: string) => terminal.write(text) };
    const display = await progressDisplay(tty, {
      total: 100,
      live: liveProgress(tty, tty, true),
      failuresAt: "the NDJSON on stdout",
    });
    const record = (i: number) => `{"interaction_id":"i${i}","messages":[]}`;
    for (let second = 1; second <= 12; second++) {
      tty.write(`${record(second)}\n`); // stdout
      display.update({ ...busy(second), endpointsDown: undefined }); // stderr
    }
    const rows = terminal.screen();
    const progressRows = rows.filter((row) => !row.startsWith("{"));
    expect(rows.filter((row) => row.startsWith("{"))).toEqual(
      Array.from({ length: 12 }, (_, i) => record(i + 1)),
    );
    expect(progressRows).toHaveLength(2); // at 5 s and 10 s
    for (const row of progressRows) expect(row).toMatch(/^\d+\/100 done · .* · \$\d+\.\d{4}/);
  });
});

describe("the end summary", () => {
  it("counts every failure by kind and reason, names five, and says where the rest are", () => {
    const failures = [
      ...Array.from({ length: 30 }, (_, i) =>
        failure(
          `a${i}`,
          "server",
          `openai:gpt: HTTP 503: overloaded (request req_${(0xabcdef00 + i).toString(16)})`,
        ),
      ),
      ...Array.from({ length: 12 }, (_, i) =>
        failure(`b${i}`, "timeout", `openai:gpt: no answer within ${30 + i} s`),
      ),
      failure("c0", "context_full", "the next prompt would not fit after 7 turn(s)"),
    ];
    const lines = summaryLines(summaryWith(failures), "out/failures.ndjson");
    expect(lines.slice(1)).toEqual([
      "failures by reason (43):",
      "  30 × server: openai:gpt: HTTP 503: overloaded (request req_abcdef00)",
      "  12 × timeout: openai:gpt: no answer within 30 s",
      "  1 × context_full: the next prompt would not fit after 7 turn(s)",
      ...failures.slice(0, 5).map((f) => `  failed ${f.interaction_id}: ${f.error_kind}: ${f.reason}`),
      "  38 more in out/failures.ndjson",
    ]);
  });

  it("keeps HTTP statuses apart and bounds the groups it keeps", () => {
    const counter = new FailureCounter();
    counter.add(failure("x", "server", "HTTP 503: busy"));
    counter.add(failure("y", "server", "HTTP 500: busy"));
    for (let i = 0; i < 200; i++)
      counter.add(failure(`z${i}`, "unknown", `"quoted ${i}" broke`.replace(/"/g, i % 2 ? "'" : '"')));
    for (let i = 0; i < 200; i++) counter.add(failure(`w${i}`, `kind_${i}`, "x"));
    const counts = counter.counts();
    expect(counts.filter((c) => c.error_kind === "server")).toHaveLength(2);
    expect(counts.find((c) => c.error_kind === "unknown")?.count).toBe(200);
    expect(counts.length).toBeLessThanOrEqual(60);
    expect(counts.reduce((n, c) => n + c.count, 0)).toBe(402);
  });
});

function failure(id: string, error_kind: string, reason: string): FailureRecord {
  return { interaction_id: id, persona_id: "p", error_kind, reason, usage: [] } as unknown as FailureRecord;
}

function summaryWith(failures: FailureRecord[]): RunSummary {
  const counter = new FailureCounter();
  for (const f of failures) counter.add(f);
  return {
    done: 3,
    failed: failures.length,
    skipped: 0,
    calls: 4,
    promptTokens: 60,
    completionTokens: 40,
    cachedTokens: 0,
    costUsd: 0.01,
    elapsedMs: 2000,
    failures: failures.slice(0, 20),
    failureCounts: counter.counts(),
    interrupted: false,
    interruptedConversations: 0,
    replayed: 0,
    budgetExhausted: false,
    endpointsDown: [],
    notStarted: 0,
  };
}
