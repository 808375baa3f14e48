// Scenario: 1,000 three-turn conversations (5,000 calls) with 0.5 s replies and 500 in
// flight, against the bare openai SDK making the same 5,000 calls at the same concurrency,
// on the same stand-in server in the same run. Alternates the two, three rounds each, and
// reports medians, the ratio, and convosim's peak memory.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { median, type RunMeasurement } from "./measure.js";
import { startStandInServer } from "./stand-in-server.js";

const run = promisify(execFile);
const here = import.meta.dirname;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONVERSATIONS = 1000;
const WORKERS = 500;
const LATENCY_MS = 500;

async function child(script: string, args: string[]): Promise<RunMeasurement> {
  const { stdout } = await run(process.execPath, [join(here, script), ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as RunMeasurement;
}

export async function pipelineVsSdk() {
  const server = await startStandInServer({ latency: LATENCY_MS });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-"));
  const sdk: RunMeasurement[] = [];
  const pipeline: RunMeasurement[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      sdk.push(await child("run-sdk-baseline.js", [server.url, String(CONVERSATIONS * 5), String(WORKERS)]));
      const out = join(work, `round-${round}`);
      pipeline.push(
        await child("run-pipeline.js", [server.url, String(CONVERSATIONS), String(WORKERS), out]),
      );
      await rm(out, { recursive: true, force: true });
      process.stderr.write(
        `round ${round + 1}/${ROUNDS}: sdk ${sdk.at(-1)?.wallMs.toFixed(0)} ms, convosim ${pipeline.at(-1)?.wallMs.toFixed(0)} ms\n`,
      );
    }
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
  const sdkWall = median(sdk.map((m) => m.wallMs));
  const pipeWall = median(pipeline.map((m) => m.wallMs));
  return {
    scenario: "1,000 three-turn conversations, 0.5 s replies, 500 in flight vs bare SDK, same 5,000 calls",
    latency_bound_ms: (CONVERSATIONS * 5 * LATENCY_MS) / WORKERS,
    sdk_wall_ms_median: sdkWall,
    convosim_wall_ms_median: pipeWall,
    ratio_convosim_over_sdk: pipeWall / sdkWall,
    target_ratio: 1.2,
    convosim_peak_rss_mb_max: Math.max(...pipeline.map((m) => m.maxRssMb)),
    target_rss_mb: 600,
    sdk_cpu_ms_per_call_median: median(sdk.map((m) => m.cpuMs / m.calls)),
    convosim_cpu_ms_per_call_median: median(pipeline.map((m) => m.cpuMs / m.calls)),
    all_conversations_done: pipeline.every((m) => m.done === CONVERSATIONS && m.failed === 0),
    runs: { sdk, convosim: pipeline },
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const result = {
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    date: new Date().toISOString(),
    ...(await pipelineVsSdk()),
  };
  await mkdir(join(here, "../../bench/results"), { recursive: true });
  await writeFile(
    join(here, "../../bench/results/pipeline-vs-sdk.json"),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  const { runs: _runs, ...shown } = result;
  process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
}
