// Peers: convosim beside the tools people would otherwise use — curator, distilabel, deepeval's
// ConversationSimulator — and a bare Python AsyncOpenAI loop as the floor, on the same stand-in
// (0.5 s replies) and the same workload: 200 three-turn conversations (1,000 calls), 100 in
// flight. Twice: with no cap, and with the stand-in enforcing 3,000 rpm while announcing nothing
// (no x-ratelimit-* headers; a 429 carries Retry-After alone). Every tool runs as a child of
// bench/peers/measure.py (the same wall, CPU and peak-memory measurement for all, convosim's CLI
// included), against a fresh stand-in whose own counts give the 429s. Runs alternate the tools'
// order; medians of BENCH_PEERS_RUNS (default 3) runs without the cap and BENCH_PEERS_CAPPED_RUNS
// (default 3) with it. The peers are installed by the scenario (bench/peers/setup.ts); settings
// and why: bench/peers/README.md.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI_NODE_FLAGS } from "../../src/run/heap.js";
import { benchDir, median, round } from "../measure.js";
import { ensureVenv, PEER_ENV, type Venv } from "../peers/setup.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = Number(process.env.BENCH_PEERS_CONVERSATIONS ?? 200);
const IN_FLIGHT = 100;
const LATENCY_MS = 500;
const RPM = 3000;
const CALLS = CONVERSATIONS * 5;
const RUNS = Number(process.env.BENCH_PEERS_RUNS ?? 3);
const CAPPED_RUNS = Number(process.env.BENCH_PEERS_CAPPED_RUNS ?? 3);
/** As the peers' drivers (bench/peers/common.py): above any stand-in reply, so none is cut. */
const MAX_TOKENS = 512;
const root = join(benchDir, "../..");
const peersDir = join(root, "bench/peers");

interface Tool {
  id: string;
  label: string;
  /** Python driver in bench/peers; absent for convosim (its CLI). */
  driver?: string;
  /** convosim only: rate_limit rpm in its config (the peers that have a rate setting get the cap). */
  configuredRpm?: boolean;
}

const PEERS: Tool[] = [
  { id: "curator", label: "curator", driver: "curator_driver.py" },
  { id: "distilabel", label: "distilabel", driver: "distilabel_driver.py" },
  { id: "deepeval", label: "deepeval ConversationSimulator", driver: "deepeval_driver.py" },
  { id: "floor", label: "Python AsyncOpenAI loop", driver: "floor.py" },
];
const CONVOSIM: Tool = { id: "convosim", label: "convosim" };
const CONVOSIM_TOLD: Tool = {
  id: "convosim-rpm",
  label: "convosim (rate_limit rpm 3000)",
  configuredRpm: true,
};

interface Run {
  tool: string;
  version?: string;
  settings?: unknown;
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  done: number;
  failed: number;
  exit_code: number;
  timed_out: boolean;
  requests: number;
  answered200: number;
  answered429: number;
  stderr_tail: string[];
}

function measure(
  python: string,
  command: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<Omit<Run, "tool" | "requests" | "answered200" | "answered429">> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [join(peersDir, "measure.py"), "--timeout", "600", "--", ...command],
      { cwd, env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 660_000 },
      (error, out, err) => {
        if (error) return reject(new Error(`measure.py failed: ${error.message}\n${err}`));
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "{}"));
      },
    );
  });
}

/** convosim's CLI as a user runs it: default config (files sink, response cache on, in a fresh folder). */
async function convosimCommand(work: string, url: string, tool: Tool): Promise<string[]> {
  const model =
    `{provider: openai, model: stand-in, base_url: "${url}", max_completion_tokens: ${MAX_TOKENS}` +
    (tool.configuredRpm ? `, rate_limit: {rpm: ${RPM}}}` : "}");
  const config = join(work, "config.yaml");
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 3",
      "  max_turns: 3",
      `  max_workers: ${IN_FLIGHT}`,
      `  assistant_model: ${model}`,
      `  user_model: ${model}`,
      "",
    ].join("\n"),
  );
  const personas = join(work, "personas.jsonl");
  const lines: string[] = [];
  for (let i = 0; i < CONVERSATIONS; i++)
    lines.push(
      JSON.stringify({
        persona_id: `peer_${i}`,
        persona_features: { role: "engineer", tech_proficiency: "advanced", communication_style: "casual" },
        queries: [
          {
            original_query: `How should a small team organise project ${i} so that nothing falls through the cracks?`,
          },
        ],
      }),
    );
  await writeFile(personas, `${lines.join("\n")}\n`);
  return [
    process.execPath,
    ...CLI_NODE_FLAGS,
    join(root, "bin/convosim"),
    "generate",
    "-c",
    config,
    "-p",
    personas,
    "--out",
    join(work, "out"),
    "--cache-dir",
    join(work, "cache"),
    "--quiet",
  ];
}

async function once(tool: Tool, venvs: Map<string, Venv>, measurer: string, capped: boolean): Promise<Run> {
  const server = await startStandInServer({
    latency: LATENCY_MS,
    ...(capped ? { requestsPerMinute: RPM, rateLimitHeaders: false } : {}),
  });
  const work = await mkdtemp(join(tmpdir(), `convosim-bench-peers-${tool.id}-`));
  try {
    let command: string[];
    if (tool.driver) {
      const venv = venvs.get(tool.id);
      if (!venv) throw new Error(`no venv for ${tool.id}`);
      command = [
        venv.python,
        join(peersDir, tool.driver),
        "--url",
        server.url,
        "--out",
        join(work, "out"),
        "--conversations",
        String(CONVERSATIONS),
        "--concurrency",
        String(IN_FLIGHT),
        ...(capped ? ["--rpm", String(RPM)] : []),
      ];
    } else {
      command = await convosimCommand(work, server.url, tool);
    }
    // HOME and the working directory are the run's own folder, so that no tool finds or leaves
    // state (caches, settings, deepeval's .deepeval) between runs; PYTHONPATH finds common.py.
    const env = { ...PEER_ENV, HOME: work, PYTHONPATH: peersDir };
    const m = await measure(measurer, command, env, work);
    const stats = server.stats;
    // convosim's CLI exits 0 only when no conversation failed (src/cli/generate-command.ts); any
    // other exit is counted as nothing done, the conservative reading.
    const done = tool.driver ? Number(m.done ?? 0) : m.exit_code === 0 ? CONVERSATIONS : 0;
    return {
      ...m,
      tool: tool.label,
      done,
      failed: CONVERSATIONS - done,
      requests: stats.completions,
      answered200: stats.byStatus[200] ?? 0,
      answered429: stats.byStatus[429] ?? 0,
    };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

interface Summary {
  tool: string;
  version?: string;
  runs: number;
  /** Runs that finished every conversation; the medians are theirs (a crashed run is not a fast one). */
  finished: number;
  /** Conversations done in each run, in order, and why a run that fell short did. */
  donePerRun: number[];
  failures: string[];
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  fraction429: number;
  answered429: number;
  requests: number;
  capUsed: number;
}

function summarise(tool: string, all: Run[], capped: boolean): Summary {
  const complete = all.filter((r) => r.done === CONVERSATIONS && r.exit_code === 0);
  const runs = complete.length > 0 ? complete : all;
  const med = (f: (r: Run) => number, digits: number) => round(median(runs.map(f)), digits);
  return {
    tool,
    version: all.find((r) => r.version)?.version,
    runs: all.length,
    finished: complete.length,
    donePerRun: all.map((r) => r.done),
    failures: all
      .filter((r) => !complete.includes(r))
      .map(
        (r) =>
          `${r.done} done, exit ${r.exit_code}${r.stderr_tail.length ? `: ${r.stderr_tail.at(-1)}` : ""}`,
      ),
    wall_s: med((r) => r.wall_s, 2),
    cpu_s: med((r) => r.cpu_s, 2),
    peak_rss_mb: med((r) => r.peak_rss_mb, 0),
    answered429: med((r) => r.answered429, 0),
    requests: med((r) => r.requests, 0),
    fraction429: med((r) => r.answered429 / Math.max(1, r.requests), 4),
    // Successful calls per second against the cap's 50 per second.
    capUsed: capped ? med((r) => r.answered200 / r.wall_s / (RPM / 60), 3) : 0,
  };
}

function table(caption: string, rows: Summary[], capped: boolean) {
  const header = [
    "tool",
    "wall s",
    "CPU s",
    "peak MB",
    "429s / requests",
    ...(capped ? ["cap used"] : []),
    "done per run",
  ];
  return {
    caption,
    header,
    rows: rows.map((s) => [
      s.version ? `${s.tool} (${s.version})` : s.tool,
      String(s.wall_s),
      String(s.cpu_s),
      String(s.peak_rss_mb),
      `${s.answered429} / ${s.requests} (${round(s.fraction429 * 100, 1)} %)`,
      ...(capped ? [`${round(s.capUsed * 100, 1)} %`] : []),
      s.donePerRun.map((d) => (d === CONVERSATIONS ? String(d) : `**${d}**`)).join(", "),
    ]),
  };
}

type Results = Record<"uncapped" | "capped", Record<string, Run[]>>;

const TITLE = "Peers (curator, distilabel, deepeval, bare AsyncOpenAI)";
const SETUP =
  `${CONVERSATIONS} three-turn conversations (${CALLS} calls), ${IN_FLIGHT} in flight, stand-in with ${LATENCY_MS} ms replies; ` +
  `then the same with the stand-in capping at ${RPM} rpm and sending no rate-limit headers (429 + Retry-After only). ` +
  "Each tool's process tree measured alike by bench/peers/measure.py; settings in bench/peers/README.md.";

/** The figures, checks and tables from every run's raw measurement (also re-run from a saved JSON). */
function report(results: Results, skippedTools: string[], measuredAt: string) {
  const uncapped = Object.entries(results.uncapped).map(([t, runs]) => summarise(t, runs, false));
  const capped = Object.entries(results.capped).map(([t, runs]) => summarise(t, runs, true));
  const runsOf = (list: Summary[]) => Math.max(...list.map((s) => s.runs));
  const ours = uncapped.find((s) => s.tool === CONVOSIM.label);
  const oursCapped = capped.find((s) => s.tool === CONVOSIM.label);
  const oursTold = capped.find((s) => s.tool === CONVOSIM_TOLD.label);
  const peerWalls = (list: Summary[]) =>
    list.filter((s) => !s.tool.startsWith("convosim") && s.finished > 0).map((s) => s.wall_s);
  const fastestPeer = Math.min(...peerWalls(uncapped));
  const fastestPeerCapped = Math.min(...peerWalls(capped));
  const ratio = (s: Summary | undefined, bound: number) => round((s?.wall_s ?? Number.NaN) / bound, 2);
  const idealS = Math.ceil(CONVERSATIONS / IN_FLIGHT) * 5 * (LATENCY_MS / 1000);
  const failures = [...uncapped.map((s) => [s, "no cap"] as const), ...capped.map((s) => [s, "cap"] as const)]
    .filter(([s]) => s.failures.length > 0)
    .map(
      ([s, kind]) =>
        `${s.tool}, ${kind}: ${s.failures.length} of ${s.runs} runs fell short (${s.failures.join("; ")}).`,
    );
  return {
    name: "peers",
    title: TITLE,
    setup: SETUP,
    headline: {
      label: "convosim wall time, no cap",
      measured: ours?.wall_s ?? Number.NaN,
      ideal: idealS,
      unit: "s",
      idealIs: "conversations / in flight × 5 calls × 0.5 s",
    },
    checks: [
      check(
        "no cap: convosim wall ÷ fastest peer",
        ratio(ours, fastestPeer),
        "",
        "< 1",
        ratio(ours, fastestPeer) < 1,
      ),
      check(
        "3,000 rpm, no headers, no rate_limit: convosim wall ÷ fastest peer",
        ratio(oursCapped, fastestPeerCapped),
        "",
        "< 1",
        ratio(oursCapped, fastestPeerCapped) < 1,
      ),
      check(
        "3,000 rpm, no headers, rate_limit rpm 3000: convosim wall ÷ fastest peer",
        ratio(oursTold, fastestPeerCapped),
        "",
        "< 1",
        ratio(oursTold, fastestPeerCapped) < 1,
      ),
    ],
    tables: [
      table(`No cap: medians of ${runsOf(uncapped)} runs`, uncapped, false),
      table(
        `${RPM} rpm cap, no rate-limit headers: medians of ${runsOf(capped)} runs (ideal ${CALLS / (RPM / 60)} s)`,
        capped,
        true,
      ),
    ],
    notes: [
      `Runs measured ${measuredAt}.`,
      ...skippedTools.map((s) => `Skipped: ${s}.`),
      ...failures,
      "Medians are over the runs that finished every conversation (a run that crashed is not a fast one); " +
        '"done per run" shows every run, short ones in bold. CPU and peak memory are the whole process tree\'s ' +
        "(peak = largest sum of RSS, sampled every 50 ms); 429s are the stand-in's own count; cap used = successful " +
        "calls per second ÷ 50, over the whole run including the tool's start.",
      "convosim runs its CLI with the default config (files sink, response cache on in a fresh folder); " +
        "without rate_limit under the cap it must find the cap alone, the second convosim row is told it, as curator is.",
    ],
    details: {
      conversations: CONVERSATIONS,
      in_flight: IN_FLIGHT,
      latency_ms: LATENCY_MS,
      rpm: RPM,
      ideal_s: idealS,
      measured_at: measuredAt,
      skipped_tools: skippedTools,
      results,
    },
  };
}

export const peers: Scenario = async () => {
  // BENCH_PEERS_FROM=bench/results/peers.json: summarise the raw runs saved there again (after a
  // change to how they are summarised) rather than measure anew; the notes keep when they ran.
  const from = process.env.BENCH_PEERS_FROM;
  if (from) {
    const saved = JSON.parse(await readFile(from, "utf8")) as {
      date: string;
      details: { results: Results; skipped_tools?: string[]; measured_at?: string };
    };
    return report(
      saved.details.results,
      saved.details.skipped_tools ?? [],
      saved.details.measured_at ?? saved.date,
    );
  }
  const venvs = new Map<string, Venv>();
  const skippedTools: string[] = [];
  for (const tool of ["floor", ...PEERS.filter((p) => p.id !== "floor").map((p) => p.id)]) {
    const v = await ensureVenv(peersDir, tool);
    if ("skipped" in v) skippedTools.push(v.skipped);
    else venvs.set(tool, v);
  }
  const measurer = venvs.get("floor")?.python;
  if (!measurer)
    return {
      name: "peers",
      title: TITLE,
      setup: SETUP,
      skipped: skippedTools.join("; "),
      checks: [],
      notes: [],
      details: {},
    };

  const tools = [CONVOSIM, ...PEERS.filter((p) => venvs.has(p.id))];
  const results: Results = { uncapped: {}, capped: {} };
  for (const [kind, runs, list] of [
    ["uncapped", RUNS, tools],
    ["capped", CAPPED_RUNS, [CONVOSIM, CONVOSIM_TOLD, ...tools.slice(1)]],
  ] as const) {
    for (let r = 0; r < runs; r++) {
      // Alternate the order: run r starts at tool r, so no tool always runs first or last.
      const order = list.map((_, i) => list[(i + r) % list.length] as Tool);
      for (const tool of order) {
        process.stderr.write(`bench: peers: ${kind} run ${r + 1}/${runs}: ${tool.label} …\n`);
        const run = await once(tool, venvs, measurer, kind === "capped");
        process.stderr.write(
          `bench: peers:   ${run.wall_s} s, ${run.cpu_s} s CPU, ${run.peak_rss_mb} MB, ` +
            `${run.answered429}/${run.requests} answered 429, ${run.done} done\n`,
        );
        results[kind][tool.label] = [...(results[kind][tool.label] ?? []), run];
      }
    }
  }
  return report(results, skippedTools, new Date().toISOString());
};
