// `npm run bench`: runs the scenarios one after another, writes bench/results/<name>.json and
// rewrites BENCHMARKS.md from all results (machine and date included). Figures are measured,
// never typed in. Names on the command line run only those scenarios (the others keep their
// last results in BENCHMARKS.md):
//   node dist/bench/index.js [latency-bound rate-bound …]
//   node dist/bench/index.js --report        (rewrites BENCHMARKS.md from the results, runs nothing)
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { machine } from "./measure.js";
import { renderMarkdown } from "./report.js";
import { budget } from "./scenarios/budget.js";
import { cliVsSdk } from "./scenarios/cli-vs-sdk.js";
import { cpuOverhead } from "./scenarios/cpu-overhead.js";
import { embedded } from "./scenarios/embedded.js";
import { faultStorm } from "./scenarios/fault-storm.js";
import { killResume } from "./scenarios/kill-resume.js";
import { latencyBound } from "./scenarios/latency-bound.js";
import { peers } from "./scenarios/peers.js";
import { queue } from "./scenarios/queue.js";
import { rateBound } from "./scenarios/rate-bound.js";
import { replay } from "./scenarios/replay.js";
import { startup } from "./scenarios/startup.js";
import { tenThousand } from "./scenarios/ten-thousand.js";
import { transport } from "./scenarios/transport.js";
import type { Scenario, ScenarioResult } from "./scenarios/types.js";

// Order: the cheap and the CPU-sensitive first, the long waits (rate cap, 10k) later.
const SCENARIOS: Array<[string, Scenario]> = [
  ["startup", startup],
  ["transport", transport],
  ["cpu-overhead", cpuOverhead],
  ["latency-bound", latencyBound],
  ["cli-vs-sdk", cliVsSdk],
  ["fault-storm", faultStorm],
  ["kill-resume", killResume],
  ["replay", replay],
  ["budget", budget],
  ["ten-thousand", tenThousand],
  ["rate-bound", rateBound],
  ["embedded", embedded],
  ["queue", queue],
  // Last: it installs Python tools on first use and runs five tools several times (minutes).
  ["peers", peers],
];

// Run only when named (`node dist/bench/index.js peers`): it installs Python packages on first use
// and takes a quarter of an hour; `npm run bench` keeps its last results in BENCHMARKS.md.
const OPT_IN = new Set(["peers"]);

const root = join(import.meta.dirname, "../..");
const resultsDir = join(root, "bench/results");

async function main(): Promise<void> {
  // --report: only rewrite BENCHMARKS.md from bench/results/*.json (e.g. after merging branches).
  const reportOnly = process.argv.includes("--report");
  const wanted = process.argv.slice(2).filter((arg) => arg !== "--report");
  const unknown = wanted.filter((w) => !SCENARIOS.some(([name]) => name === w));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.map(([n]) => n).join(", ")}`,
    );
  }
  await mkdir(resultsDir, { recursive: true });
  const host = machine();
  const started = performance.now();
  for (const [name, scenario] of SCENARIOS) {
    if (reportOnly || (wanted.length > 0 ? !wanted.includes(name) : OPT_IN.has(name))) continue;
    process.stderr.write(`bench: ${name} …\n`);
    const t0 = performance.now();
    const result: ScenarioResult = { ...(await scenario()), durationS: (performance.now() - t0) / 1000 };
    const record = { machine: host, date: new Date().toISOString(), ...result };
    await writeFile(join(resultsDir, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
    const h = result.headline;
    process.stderr.write(
      `bench: ${name} done in ${result.durationS.toFixed(0)} s` +
        (result.skipped
          ? ` — skipped: ${result.skipped}`
          : h
            ? ` — ${h.label}: measured ${h.measured} ${h.unit} / ideal ${h.ideal} ${h.unit}`
            : "") +
        "\n",
    );
  }
  const totalS = (performance.now() - started) / 1000;
  const results: Array<ScenarioResult & { date: string; machine: typeof host }> = [];
  for (const [name] of SCENARIOS) {
    const text = await readFile(join(resultsDir, `${name}.json`), "utf8").catch(() => undefined);
    if (text) results.push(JSON.parse(text));
  }
  const markdown = renderMarkdown(results, { machine: host, date: new Date().toISOString(), totalS, wanted });
  await writeFile(join(root, "BENCHMARKS.md"), markdown);
  process.stdout.write(markdown);
}

await main();
