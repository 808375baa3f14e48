// The lean transport against the SDK's default fetch: bare clients (no convosim code) making
// chat completions against a zero-latency stand-in server in another process, 100 at a time.
// Calls per second and CPU per call for: the SDK (default fetch), the SDK with undici's fetch()
// on a keep-alive Agent, the SDK with convosim's lean transport (transport: "undici"), and
// undici request() with no SDK at all (the HTTP floor). Alternating rounds, medians.
import { median, type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CALLS = 5000;
const CONCURRENCY = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = ["sdk", "undici-fetch", "lean", "request"] as const;
const LABELS: Record<(typeof CLIENTS)[number], string> = {
  sdk: "openai SDK, default fetch",
  "undici-fetch": "openai SDK + undici fetch() on a keep-alive Agent",
  lean: 'openai SDK + lean transport (transport: "undici")',
  request: "undici request() + JSON.parse, no SDK (floor)",
};

export const transport: Scenario = async () => {
  const server = await startStandInServer();
  const runs: Record<string, RunMeasurement[]> = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const client of CLIENTS) {
        runs[client]!.push(
          await runChild("run-sdk-baseline.js", [
            "--url",
            server.url,
            "--client",
            client,
            "--calls",
            String(CALLS),
            "--concurrency",
            String(CONCURRENCY),
            "--warmup",
            "200",
          ]),
        );
      }
    }
  } finally {
    await server.close();
  }
  const rows = CLIENTS.map((client) => ({
    client,
    label: LABELS[client],
    calls_per_s: median(runs[client]!.map((m) => m.calls / (m.wallMs / 1000))),
    cpu_ms_per_call: median(runs[client]!.map((m) => m.cpuMs / m.calls)),
  }));
  const by = Object.fromEntries(rows.map((r) => [r.client, r]));
  const lean = by.lean!;
  const sdk = by.sdk!;
  return {
    name: "transport",
    title: "Lean transport vs the SDK's default fetch",
    setup:
      `${CALLS} calls per client after 200 warm-up calls, ${CONCURRENCY} in flight, fixed two-message prompt, ` +
      `zero-latency stand-in in another process (2 cores in all). ${ROUNDS} alternating rounds, medians.`,
    headline: {
      label: "calls/s, lean transport",
      measured: round(lean.calls_per_s, 0),
      ideal: round(by.request!.calls_per_s, 0),
      unit: "calls/s",
      idealIs: "undici request() with no SDK, same run (the HTTP floor)",
    },
    checks: [
      check(
        "lean transport, calls per second from one process",
        round(lean.calls_per_s, 0),
        "calls/s",
        "≥ 2,000",
        lean.calls_per_s >= 2000,
      ),
      check(
        "lean transport CPU per call vs SDK default",
        round(lean.cpu_ms_per_call / sdk.cpu_ms_per_call),
        "×",
        "< 1 (leaner)",
        lean.cpu_ms_per_call < sdk.cpu_ms_per_call,
      ),
    ],
    notes: rows.map(
      (r) =>
        `${r.label}: ${round(r.calls_per_s, 0)} calls/s, ${round(r.cpu_ms_per_call, 3)} ms CPU per call.`,
    ),
    details: { calls: CALLS, concurrency: CONCURRENCY, rows, runs },
  };
};
