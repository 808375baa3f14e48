// `npm run bench`: runs the scenarios, writes bench/results/<name>.json and rewrites
// BENCHMARKS.md from them (machine and date included). Figures are measured, never typed in.
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { pipelineVsSdk } from "./pipeline-vs-sdk.js";

const root = join(import.meta.dirname, "../..");
const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  memory_gb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
const date = new Date().toISOString();

const vsSdk = { machine, date, ...(await pipelineVsSdk()) };
await mkdir(join(root, "bench/results"), { recursive: true });
await writeFile(join(root, "bench/results/pipeline-vs-sdk.json"), `${JSON.stringify(vsSdk, null, 2)}\n`);

const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
const markdown = `# Benchmarks

Written by \`npm run bench\` from \`bench/results/*.json\`. Machine: ${machine.cpus} × ${machine.cpu},
${machine.memory_gb} GB, Node ${machine.node}, ${machine.platform}. Date: ${date}.

## Pipeline overhead against the bare openai SDK

${vsSdk.scenario}. Both run as separate processes against the same stand-in server
(\`bench/stand-in-server.ts\`, loopback, fixed 0.5 s latency), alternating, ${vsSdk.runs.sdk.length} rounds each; medians.

| | wall time | CPU per call | peak RSS |
|---|---|---|---|
| latency bound (calls × latency / concurrency) | ${ms(vsSdk.latency_bound_ms)} | | |
| bare openai SDK, 5,000 calls, 500 at a time | ${ms(vsSdk.sdk_wall_ms_median)} | ${vsSdk.sdk_cpu_ms_per_call_median.toFixed(2)} ms | |
| convosim generate, 1,000 × 3 turns, 500 in flight, files sink | ${ms(vsSdk.convosim_wall_ms_median)} | ${vsSdk.convosim_cpu_ms_per_call_median.toFixed(2)} ms | ${vsSdk.convosim_peak_rss_mb_max.toFixed(0)} MB (max of runs) |

Ratio convosim / SDK: **${vsSdk.ratio_convosim_over_sdk.toFixed(3)}** (target ≤ ${vsSdk.target_ratio}); peak memory
${vsSdk.convosim_peak_rss_mb_max.toFixed(0)} MB (target < ${vsSdk.target_rss_mb} MB); all conversations done: ${vsSdk.all_conversations_done}.
convosim's CPU per call includes its own work (prompt building, state, files, index) on top of the SDK's.
`;
await writeFile(join(root, "BENCHMARKS.md"), markdown);
process.stdout.write(markdown);
