// 10,000 conversations in flight: max_workers 10,000 and a latency long enough that every
// conversation has a call open at once (the server's peak concurrency shows it). Judged: the peak
// resident memory of the convosim process (run-pipeline child, files sink, default SDK transport).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 10_000;
const TURNS = 2; // 3 calls each: the opening reply, one follow-up, the closing reply
const LATENCY_MS = 8_000;
const TARGET_MB = 1536;

export const tenThousand: Scenario = async () => {
  const server = await startStandInServer({ latency: LATENCY_MS });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-10k-"));
  try {
    const m = await runChild(
      "run-pipeline.js",
      [
        "--url",
        server.url,
        "--out",
        join(work, "out"),
        "--conversations",
        String(CONVERSATIONS),
        "--workers",
        String(CONVERSATIONS),
        "--turns",
        String(TURNS),
        "--timeout",
        "120",
      ],
      { timeoutMs: 300_000 },
    );
    const peakInFlight = server.stats.maxConcurrent;
    return {
      name: "ten-thousand",
      title: "10,000 conversations in flight",
      setup:
        `${CONVERSATIONS} two-turn conversations (3 calls each), max_workers ${CONVERSATIONS}, ` +
        `${LATENCY_MS / 1000} s per call so that all are open at once; files sink, default transport.`,
      headline: {
        label: "peak RSS",
        measured: round(m.maxRssMb, 0),
        ideal: TARGET_MB,
        unit: "MB",
        idealIs: "the target (1.5 GB)",
      },
      checks: [
        check("peak RSS", round(m.maxRssMb, 0), "MB", "< 1,536 MB (1.5 GB)", m.maxRssMb < TARGET_MB),
        check(
          "calls in flight at the server's peak",
          peakInFlight,
          "",
          `≥ ${round(CONVERSATIONS * 0.95, 0)}`,
          peakInFlight >= CONVERSATIONS * 0.95,
        ),
        check("conversations done", Number(m.done), `of ${CONVERSATIONS}`, "all", m.done === CONVERSATIONS),
      ],
      notes: [
        `Wall ${round(m.wallMs / 1000, 1)} s, CPU ${round(m.cpuMs / 1000, 1)} s for ${m.calls} calls ` +
          `(${round(m.cpuMs / m.calls, 2)} ms per call).`,
      ],
      details: { run: m, server_max_concurrent: peakInFlight, latency_ms: LATENCY_MS },
    };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
};
