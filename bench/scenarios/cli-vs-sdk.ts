// The CLI with its default config against the bare openai SDK, in the same run: 1,000 three-turn
// conversations (5,000 calls), max_workers 500, 0.5 s replies. The CLI runs as users run it
// (`convosim generate`, files sink, response cache on, on the disk: no tmpfs), with the default
// transport (the lean one since issue 15); the bare SDK (default fetch, bench/run-sdk-baseline.ts)
// makes the same number of calls 500 at a time. Both are timed from spawn to exit, so each pays
// its own start-up; the bare SDK's calls-only time is reported too. Rounds alternate the two
// (and the CLI on `transport: sdk`, to show what the default buys); medians.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchDir, median, type RunMeasurement, round, runChild } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { cliConfig, cliPersonas, runCli } from "./cli-run.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = Number(process.env.BENCH_CLI_CONVERSATIONS ?? 1_000);
const CALLS_PER_CONVERSATION = 5; // 3 assistant replies + 2 simulated-user follow-ups
const WORKERS = 500;
const LATENCY_MS = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_RATIO = 0.9;
const TARGET_RSS_MB = 600;

interface Timed {
  /** Spawn to exit, as measured by this process. */
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  done?: number;
}

/** The CLI, timed from spawn to exit, its CPU and peak RSS written by the usage-on-exit preload. */
async function cliRun(work: string, label: string, transport?: "sdk"): Promise<Timed> {
  const dir = join(work, label);
  await writeFile(join(work, `config-${label}.yaml`), cliConfig(serverUrl, WORKERS, transport));
  const usageFile = join(work, `usage-${label}.json`);
  const startedAt = performance.now();
  const { code } = await runCli(
    [
      ...["generate", "-c", join(work, `config-${label}.yaml`), "-p", join(work, "personas.jsonl")],
      ...["--out", join(dir, "out"), "--cache-dir", join(dir, "cache"), "--quiet"],
    ],
    undefined,
    {
      nodeArgs: ["--import", new URL(`file://${join(benchDir, "usage-on-exit.js")}`).href],
      env: { OPENAI_API_KEY: "not-needed", CONVOSIM_BENCH_USAGE: usageFile },
    },
  );
  const wallMs = performance.now() - startedAt;
  if (code !== 0) throw new Error(`cli-vs-sdk: convosim generate exited ${code}`);
  const usage = JSON.parse(await readFile(usageFile, "utf8")) as Omit<Timed, "wallMs">;
  const index = JSON.parse(await readFile(join(dir, "out", "index.json"), "utf8")) as unknown;
  const done = Array.isArray(index) ? index.length : countEntries(index);
  await rm(dir, { recursive: true, force: true });
  return { ...usage, wallMs, done };
}

/** index.json's entries, whatever its top-level shape (an array, or an object holding one). */
function countEntries(index: unknown): number {
  if (index && typeof index === "object") {
    for (const value of Object.values(index)) if (Array.isArray(value)) return value.length;
  }
  return 0;
}

let serverUrl = "";

export const cliVsSdk: Scenario = async () => {
  const server = await startStandInServer({ latency: LATENCY_MS });
  serverUrl = server.url;
  // On the disk (the OS's temporary folder), not /dev/shm: the files sink and the cache as users have them.
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-cli-vs-sdk-"));
  const calls = CONVERSATIONS * CALLS_PER_CONVERSATION;
  const sdk: Array<Timed & { callsWallMs: number }> = [];
  const cli: Timed[] = [];
  const cliSdk: Timed[] = [];
  try {
    await writeFile(join(work, "personas.jsonl"), cliPersonas(CONVERSATIONS));
    for (let r = 0; r < ROUNDS; r++) {
      const startedAt = performance.now();
      const bare = await runChild<RunMeasurement>("run-sdk-baseline.js", [
        ...["--url", server.url, "--calls", String(calls), "--concurrency", String(WORKERS)],
      ]);
      sdk.push({ ...bare, wallMs: performance.now() - startedAt, callsWallMs: bare.wallMs });
      cli.push(await cliRun(work, `default-${r}`));
      cliSdk.push(await cliRun(work, `sdk-${r}`, "sdk"));
    }
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
  const wall = median(cli.map((m) => m.wallMs));
  const sdkWall = median(sdk.map((m) => m.wallMs));
  const sdkCallsWall = median(sdk.map((m) => m.callsWallMs));
  const cliSdkWall = median(cliSdk.map((m) => m.wallMs));
  const ratios = cli.map((m, i) => m.wallMs / sdk[i]!.wallMs);
  const ratio = median(ratios);
  const peakRss = Math.max(...cli.map((m) => m.maxRssMb));
  const allDone = [...cli, ...cliSdk].every((m) => m.done === CONVERSATIONS);
  const ideal = (calls * LATENCY_MS) / WORKERS;
  const s = (ms: number) => round(ms / 1000, 2);
  return {
    name: "cli-vs-sdk",
    title: "The CLI (default config) vs the bare openai SDK",
    setup:
      `\`convosim generate\` with the default config (files sink and response cache on the disk, default ` +
      `transport), ${CONVERSATIONS} three-turn conversations (${calls} calls), max_workers ${WORKERS}, ` +
      `${LATENCY_MS} ms replies; the bare openai SDK (default fetch) makes the same ${calls} calls ` +
      `${WORKERS} at a time against the same stand-in. Both timed from spawn to exit. ${ROUNDS} alternating ` +
      "rounds, medians.",
    headline: {
      label: "CLI wall time",
      measured: s(wall),
      ideal: s(sdkWall),
      unit: "s",
      idealIs: "the bare openai SDK, same calls, same concurrency, same run",
    },
    checks: [
      check(
        "CLI / bare SDK wall time (median of per-round ratios)",
        round(ratio),
        "×",
        `≤ ${TARGET_RATIO}`,
        ratio <= TARGET_RATIO,
      ),
      check(
        "CLI peak RSS (highest run)",
        round(peakRss, 0),
        "MB",
        `< ${TARGET_RSS_MB}`,
        peakRss < TARGET_RSS_MB,
      ),
      check(
        "conversations done (lowest of all CLI runs)",
        Math.min(...[...cli, ...cliSdk].map((m) => m.done ?? 0)),
        `of ${CONVERSATIONS}`,
        "all",
        allDone,
      ),
    ],
    notes: [
      `Per round, CLI / bare SDK: ${ratios.map((x) => round(x)).join(", ")}.`,
      `Bare SDK: ${s(sdkWall)} s spawn to exit, ${s(sdkCallsWall)} s for the calls alone ` +
        `(CLI / that: ${round(wall / sdkCallsWall)} ×); ${round(median(sdk.map((m) => m.cpuMs / calls)))} ms CPU per call; ` +
        `the physical bound (calls × latency / concurrency) is ${s(ideal)} s.`,
      `CLI: ${round(median(cli.map((m) => m.cpuMs / calls)))} ms CPU per call (start-up included), peak RSS ` +
        `${round(peakRss, 0)} MB. With transport: sdk: ${s(cliSdkWall)} s (${round(cliSdkWall / sdkWall)} × the bare SDK), ` +
        `${round(median(cliSdk.map((m) => m.cpuMs / calls)))} ms CPU per call.`,
    ],
    details: {
      conversations: CONVERSATIONS,
      calls,
      workers: WORKERS,
      latency_ms: LATENCY_MS,
      runs: { sdk, cli, cliSdk },
    },
  };
};
