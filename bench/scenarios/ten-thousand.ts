// 10,000 conversations in flight: max_workers 10,000 and a latency long enough that every
// conversation has a call open at once (the server's peak concurrency shows it). Judged: the peak
// resident memory of the convosim process (run-pipeline child, files sink), once with the SDK's
// default transport and once with the lean transport.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 10_000;
const TURNS = 2; // 3 calls each: the opening reply, one follow-up, the closing reply
const LATENCY_MS = 8_000;
const TARGET_MB = 1536;
// The stand-in sends no rate-limit headers unless it enforces a cap, so without a configured
// limit admission control would open with its adaptive window and grow it once per 8 s round
// trip. A self-hosted server's operator knows its limit.
const RPM = 10_000_000;

async function once(transport: "sdk" | "undici"): Promise<{ run: RunMeasurement; peakInFlight: number }> {
  const server = await startStandInServer({ latency: LATENCY_MS });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-10k-"));
  try {
    const run = await runChild(
      "run-pipeline.js",
      [
        ...["--url", server.url, "--out", join(work, "out"), "--transport", transport],
        ...["--conversations", String(CONVERSATIONS), "--workers", String(CONVERSATIONS)],
        ...["--turns", String(TURNS), "--timeout", "120", "--rpm", String(RPM)],
      ],
      { timeoutMs: 300_000 },
    );
    return { run, peakInFlight: server.stats.maxConcurrent };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

export const tenThousand: Scenario = async () => {
  const sdk = await once("sdk");
  const lean = await once("undici");
  const note = (name: string, r: { run: RunMeasurement; peakInFlight: number }) =>
    `${name}: peak RSS ${round(r.run.maxRssMb, 0)} MB, ${r.peakInFlight} calls in flight at the server's peak, ` +
    `${r.run.done} done; wall ${round(r.run.wallMs / 1000, 1)} s, CPU ${round(r.run.cpuMs / 1000, 1)} s ` +
    `for ${r.run.calls} calls (${round(r.run.cpuMs / r.run.calls, 2)} ms per call).`;
  const allInFlight = (r: { peakInFlight: number }) => r.peakInFlight >= CONVERSATIONS * 0.95;
  return {
    name: "ten-thousand",
    title: "10,000 conversations in flight",
    setup:
      `${CONVERSATIONS} two-turn conversations (3 calls each), max_workers ${CONVERSATIONS}, ` +
      `${LATENCY_MS / 1000} s per call so that all are open at once; files sink; ` +
      `rate_limit {rpm: ${RPM.toLocaleString("en-US")}} (a known limit: no adaptive ramp-up). ` +
      "Once with the SDK's default transport, once with the lean transport.",
    headline: {
      label: "peak RSS, default transport",
      measured: round(sdk.run.maxRssMb, 0),
      ideal: TARGET_MB,
      unit: "MB",
      idealIs: "the target (1.5 GB)",
    },
    checks: [
      check(
        "peak RSS, default transport",
        round(sdk.run.maxRssMb, 0),
        "MB",
        "< 1,536 MB",
        sdk.run.maxRssMb < TARGET_MB,
      ),
      check(
        "peak RSS, lean transport",
        round(lean.run.maxRssMb, 0),
        "MB",
        "< 1,536 MB",
        lean.run.maxRssMb < TARGET_MB,
      ),
      check(
        "calls in flight at the server's peak (lower of the two runs)",
        Math.min(sdk.peakInFlight, lean.peakInFlight),
        "",
        `≥ ${round(CONVERSATIONS * 0.95, 0)}`,
        allInFlight(sdk) && allInFlight(lean),
      ),
      check(
        "conversations done (lower of the two runs)",
        Math.min(Number(sdk.run.done), Number(lean.run.done)),
        `of ${CONVERSATIONS}`,
        "all",
        sdk.run.done === CONVERSATIONS && lean.run.done === CONVERSATIONS,
      ),
    ],
    notes: [note("default transport", sdk), note("lean transport", lean)],
    details: { latency_ms: LATENCY_MS, rpm: RPM, sdk, lean },
  };
};
