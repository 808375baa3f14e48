// Through the queue (Redis): the same work run in process and through BullMQ on a throwaway
// redis-server, on one machine, all with the built CLI as real processes.
// (a) Throughput: CONVERSATIONS three-turn conversations (--no-cache, stand-in answering after
//     LATENCY_MS), max_workers 150 in every config, run (1) in process (`generate --out DIR`),
//     (2) by a coordinator (`generate --queue URL --out DIR`) and one worker (--concurrency 150),
//     (3) by a coordinator and three workers (--concurrency 50 each; max_workers is cluster-wide),
//     and (4) as (2) with `rate_limit: {rpm: 60000}` on the model (the shared limit's cost in
//     Redis operations). Modes alternate, ROUNDS rounds, medians. Wall time runs from the start
//     of the in-process CLI or the coordinator to its exit; workers are started first (they wait
//     for the run's config) and stopped with SIGTERM after it. CPU and peak RSS are each convosim
//     process's own (bench/rusage-preload.ts). Every queued run has a fresh redis-server, so its
//     INFO commandstats (CONFIG RESETSTAT just before the coordinator starts) and memory peak are
//     that run's alone.
// (b) Redis memory with PENDING tasks pending: a coordinator with no worker, until the queue holds
//     its window; then memory per queued job (DIRECT_JOBS tasks added with bullmq's Queue) and
//     per completed job holding a realistic result (a worker in this process returns a saved
//     3-turn interaction).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Queue, Worker } from "bullmq";
import { JOB_OPTIONS, QUEUE_NAME } from "../../src/queue/names.js";
import { CLI_NODE_FLAGS } from "../../src/run/heap.js";
import type { Persona, Task } from "../../src/schema/persona.js";
import { personaTasks } from "../../src/sources/tasks.js";
import { benchDir, median, round, sleep } from "../measure.js";
import {
  type BenchRedis,
  type CommandStat,
  commandStats,
  info,
  startBenchRedis,
  usedMemory,
} from "../redis-server.js";
import { startStandInServer } from "../stand-in-server.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = Number(process.env.BENCH_QUEUE_CONVERSATIONS ?? 600);
const ROUNDS = Number(process.env.BENCH_QUEUE_ROUNDS ?? 5);
const PENDING = Number(process.env.BENCH_QUEUE_PENDING ?? 100_000);
const DIRECT_JOBS = Number(process.env.BENCH_QUEUE_DIRECT_JOBS ?? 10_000);
const MAX_WORKERS = 150;
const LATENCY_MS = 200;
const CALLS_PER_CONVERSATION = 5; // 3 assistant replies + 2 simulated-user turns
const RATE_LIMIT_RPM = 60_000;
const MEMORY_TARGET_MB = 50;
const WAIT_KEY = `bull:${QUEUE_NAME}:wait`;
const EVENTS_KEY = `bull:${QUEUE_NAME}:events`;

const cli = join(benchDir, "../../bin/convosim");
const preload = pathToFileURL(join(benchDir, "rusage-preload.js")).href;
const MB = 2 ** 20;

type Mode = "in-process" | "queue 1×150" | "queue 3×50" | "queue 1×150 rate_limit";
const MODES: Mode[] = ["in-process", "queue 1×150", "queue 3×50", "queue 1×150 rate_limit"];
const WORKERS_OF: Record<Mode, number[]> = {
  "in-process": [],
  "queue 1×150": [150],
  "queue 3×50": [50, 50, 50],
  "queue 1×150 rate_limit": [150],
};

interface ProcUsage {
  role: string;
  code: number | null;
  signal: string | null;
  cpuMs: number;
  maxRssMb: number;
}

interface ModeRun {
  mode: Mode;
  round: number;
  wallS: number;
  conversationsPerS: number;
  /** From the CLI's start to the stand-in's first request (start-up, and workers finding the run). */
  firstRequestS: number;
  saved: number;
  requests: number;
  cpuS: number;
  peakRssMb: number;
  sumPeakRssMb: number;
  load1: number;
  processes: ProcUsage[];
  redis?: {
    commands: number;
    commandsPerConversation: number;
    scriptCalls: number;
    usecPerConversation: number;
    netInKbPerConversation: number;
    netOutKbPerConversation: number;
    top: Array<CommandStat & { perConversation: number }>;
    peakMemoryMb: number;
    endMemoryMb: number;
    eventsLength: number;
    eventsMb: number;
  };
  workersStopS?: number;
  /** Workers that exited while the coordinator still waited, with the end of their stderr. */
  workersEndedEarly?: string[];
}

/** Three-turn conversations on the stand-in; max_workers is the run's (cluster-wide) limit. */
function config(url: string, rateLimit: boolean): string {
  const limit = rateLimit ? `, rate_limit: {rpm: ${RATE_LIMIT_RPM}}` : "";
  const model = `{provider: openai, model: stand-in, base_url: "${url}", max_completion_tokens: 64${limit}}`;
  return [
    "interaction_generation:",
    "  min_turns: 3",
    "  max_turns: 3",
    `  max_workers: ${MAX_WORKERS}`,
    `  assistant_model: ${model}`,
    `  user_model: ${model}`,
    "",
  ].join("\n");
}

const ROLES = ["analyst", "teacher", "nurse", "developer", "shop owner", "student", "lawyer", "farmer"];
const PROFICIENCY = ["beginner", "intermediate", "advanced"];
const STYLES = ["brief", "detailed", "casual", "formal"];
const GOALS = ["save time", "avoid mistakes", "learn the basics", "compare options", "fix a problem"];
const AGES = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];

/** A persona as users write them: five features and one query. */
function realisticPersona(i: number): Persona {
  return {
    persona_id: `persona_${i}`,
    persona_features: {
      role: ROLES[i % ROLES.length]!,
      tech_proficiency: PROFICIENCY[i % PROFICIENCY.length]!,
      communication_style: STYLES[i % STYLES.length]!,
      goal: GOALS[i % GOALS.length]!,
      age_range: AGES[i % AGES.length]!,
    },
    queries: [
      {
        original_query: `How do I keep spreadsheet ${i} consistent when five people on my team edit it every day?`,
      },
    ],
  };
}

function personasJsonl(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(JSON.stringify(realisticPersona(i)));
  return `${lines.join("\n")}\n`;
}

interface Spawned {
  child: ChildProcess;
  role: string;
  rusage: string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  stderr: () => string;
}

/** Starts bin/convosim with the CLI's node flags and the rusage preload. */
function startConvosim(role: string, args: string[], rusage: string): Spawned {
  const child = spawn(process.execPath, [...CLI_NODE_FLAGS, "--import", preload, cli, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, CONVOSIM_BENCH_RUSAGE: rusage },
  });
  let tail = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { child, role, rusage, exited, stderr: () => tail };
}

/** Waits for exit; SIGKILL after timeoutMs (the run then fails loudly). */
async function waitExit(
  p: Spawned,
  timeoutMs: number,
): Promise<{ code: number | null; signal: string | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const first = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (first !== "timeout") return first;
  p.child.kill("SIGKILL");
  const killed = await p.exited;
  process.stderr.write(`bench queue: ${p.role} did not exit within ${timeoutMs} ms; killed\n${p.stderr()}\n`);
  return killed;
}

async function usageOf(p: Spawned, exit: { code: number | null; signal: string | null }): Promise<ProcUsage> {
  const text = await readFile(p.rusage, "utf8").catch(() => undefined);
  const u = text
    ? (JSON.parse(text) as { cpuMs: number; maxRssMb: number })
    : { cpuMs: Number.NaN, maxRssMb: Number.NaN };
  return { role: p.role, code: exit.code, signal: exit.signal, cpuMs: u.cpuMs, maxRssMb: u.maxRssMb };
}

async function countSaved(out: string): Promise<number> {
  const names = await readdir(join(out, "interactions")).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(".json")).length;
}

/** Waits until `n` more clients than the bench's own are connected (workers waiting for a run). */
async function untilClients(redis: BenchRedis, n: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const clients = Number((await info(redis.client, "clients")).connected_clients);
    if (clients >= n + 1) return;
    if (Date.now() > deadline) throw new Error(`only ${clients - 1} of ${n} workers connected to Redis`);
    await sleep(50);
  }
}

export const queue: Scenario = async () => {
  const probe = await startBenchRedis();
  if (!probe) {
    return {
      name: "queue",
      title: "Through the queue (Redis)",
      setup: "",
      checks: [],
      skipped: "redis-server is not installed (sh scripts/setup-redis.sh)",
      notes: [],
      details: {},
    };
  }
  await probe.stop();
  const loadAtStart = loadavg();
  const server = await startStandInServer({ latency: LATENCY_MS });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-queue-"));
  const runs: ModeRun[] = [];
  let sampleInteraction: string | undefined;
  try {
    const plain = join(work, "config.yaml");
    const limited = join(work, "config-rate-limit.yaml");
    const personas = join(work, "personas.jsonl");
    await writeFile(plain, config(server.url, false));
    await writeFile(limited, config(server.url, true));
    await writeFile(personas, personasJsonl(CONVERSATIONS));

    const runMode = async (mode: Mode, roundNo: number): Promise<ModeRun> => {
      server.reset();
      const tag = `${mode.replace(/[^a-z0-9]+/gi, "-")}-r${roundNo}`;
      const out = join(work, `out-${tag}`);
      const cfg = mode.endsWith("rate_limit") ? limited : plain;
      const generateArgs = ["generate", "-c", cfg, "-p", personas, "--out", out, "--no-cache", "--quiet"];
      const workerSizes = WORKERS_OF[mode];
      let redis: BenchRedis | undefined;
      const workers: Spawned[] = [];
      try {
        if (workerSizes.length > 0) {
          redis = await startBenchRedis();
          if (!redis) throw new Error("redis-server did not start");
          for (const [i, concurrency] of workerSizes.entries())
            workers.push(
              startConvosim(
                `worker ${i + 1} (--concurrency ${concurrency})`,
                ["worker", "--queue", redis.url, "--concurrency", String(concurrency), "--no-cache"],
                join(work, `rusage-${tag}-w${i}.json`),
              ),
            );
          await untilClients(redis, workerSizes.length);
          await redis.client.config("RESETSTAT");
        }
        const load1 = loadavg()[0]!;
        const started = performance.now();
        const lead = startConvosim(
          redis ? "coordinator" : "in-process",
          redis ? [...generateArgs, "--queue", redis.url] : generateArgs,
          join(work, `rusage-${tag}-main.json`),
        );
        let firstRequestMs = Number.NaN;
        const watch = setInterval(() => {
          if (Number.isNaN(firstRequestMs) && server.stats.completions > 0)
            firstRequestMs = performance.now() - started;
        }, 10);
        // A worker that ends before the run does is reported (with its last words); when none is
        // left, the coordinator would wait for ever: it is stopped and the run counts as failed.
        let leadDone = false;
        const early: string[] = [];
        for (const w of workers)
          void w.exited.then(async (e) => {
            if (leadDone) return;
            early.push(
              `${w.role} exited ${e.code ?? e.signal} before the coordinator: ${w.stderr().trim().slice(-600)}`,
            );
            process.stderr.write(`bench queue: ${mode} round ${roundNo}: ${early.at(-1)}\n`);
            if (early.length === workers.length) {
              await sleep(5000);
              if (!leadDone) lead.child.kill("SIGTERM");
            }
          });
        const mainExit = await waitExit(lead, 600_000);
        leadDone = true;
        const wallMs = performance.now() - started;
        clearInterval(watch);
        if (mainExit.code !== 0)
          process.stderr.write(
            `bench queue: ${mode} exited ${mainExit.code ?? mainExit.signal}\n${lead.stderr()}\n`,
          );
        let redisFigures: ModeRun["redis"];
        if (redis) {
          const stats = await commandStats(redis.client);
          const own = new Set(["info", "config|resetstat"]); // the bench's own reads
          const theirs = stats.filter((s) => !own.has(s.command));
          const commands = theirs.reduce((n, s) => n + s.calls, 0);
          const usec = theirs.reduce((n, s) => n + s.usec, 0);
          const net = await info(redis.client, "stats");
          const memory = await usedMemory(redis.client);
          const eventsLength = await redis.client.xlen(EVENTS_KEY);
          const eventsBytes = Number(
            (await redis.client.call("MEMORY", "USAGE", EVENTS_KEY, "SAMPLES", "0")) ?? 0,
          );
          redisFigures = {
            commands,
            commandsPerConversation: round(commands / CONVERSATIONS, 1),
            scriptCalls: theirs
              .filter((s) => /^(evalsha|eval|fcall)/.test(s.command))
              .reduce((n, s) => n + s.calls, 0),
            usecPerConversation: round(usec / CONVERSATIONS, 1),
            netInKbPerConversation: round(Number(net.total_net_input_bytes) / 1024 / CONVERSATIONS, 2),
            netOutKbPerConversation: round(Number(net.total_net_output_bytes) / 1024 / CONVERSATIONS, 2),
            top: theirs
              .slice(0, 8)
              .map((s) => ({ ...s, perConversation: round(s.calls / CONVERSATIONS, 2) })),
            peakMemoryMb: round(memory.peak / MB, 2),
            endMemoryMb: round(memory.used / MB, 2),
            eventsLength,
            eventsMb: round(eventsBytes / MB, 2),
          };
        }
        const stopStarted = performance.now();
        for (const w of workers) w.child.kill("SIGTERM");
        const workerExits = await Promise.all(workers.map((w) => waitExit(w, 30_000)));
        const workersStopS = (performance.now() - stopStarted) / 1000;
        const processes = [
          await usageOf(lead, mainExit),
          ...(await Promise.all(workers.map((w, i) => usageOf(w, workerExits[i]!)))),
        ];
        const saved = await countSaved(out);
        if (!sampleInteraction && saved > 0) {
          const first = (await readdir(join(out, "interactions"))).find((n) => n.endsWith(".json"));
          if (first) sampleInteraction = await readFile(join(out, "interactions", first), "utf8");
        }
        const requests = server.stats.completions;
        await rm(out, { recursive: true, force: true });
        const run: ModeRun = {
          mode,
          round: roundNo,
          wallS: round(wallMs / 1000, 2),
          conversationsPerS: round(saved / (wallMs / 1000), 1),
          firstRequestS: round(firstRequestMs / 1000, 2),
          saved,
          requests,
          cpuS: round(processes.reduce((n, p) => n + p.cpuMs, 0) / 1000, 2),
          peakRssMb: round(Math.max(...processes.map((p) => p.maxRssMb)), 1),
          sumPeakRssMb: round(
            processes.reduce((n, p) => n + p.maxRssMb, 0),
            1,
          ),
          load1: round(load1, 2),
          processes: processes.map((p) => ({
            ...p,
            cpuMs: round(p.cpuMs, 0),
            maxRssMb: round(p.maxRssMb, 1),
          })),
          ...(redisFigures ? { redis: redisFigures } : {}),
          ...(workers.length > 0 ? { workersStopS: round(workersStopS, 2) } : {}),
          ...(early.length > 0 ? { workersEndedEarly: early } : {}),
        };
        process.stderr.write(
          `bench queue: round ${roundNo} ${mode}: ${run.wallS} s, ${run.conversationsPerS} conv/s, ` +
            `${saved} saved, ${requests} requests, CPU ${run.cpuS} s, load ${run.load1}` +
            (run.redis ? `, ${run.redis.commandsPerConversation} Redis commands/conversation` : "") +
            "\n",
        );
        return run;
      } finally {
        for (const w of workers)
          if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
        await redis?.stop();
      }
    };

    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with a different mode, so no mode always runs first (or last).
      for (let k = 0; k < MODES.length; k++) runs.push(await runMode(MODES[(r + k) % MODES.length]!, r + 1));
    }

    const pending = await pendingMemory(work, plain);
    const perJob = await perJobMemory(sampleInteraction);
    return summarise(runs, pending, perJob, loadAtStart);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
};

interface PendingFigures {
  personas: number;
  waiting: number;
  counts: Record<string, number>;
  keys: number;
  baselineMb: number;
  usedMb: number;
  rssMb: number;
  secondsToFill: number;
  coordinatorExit: string;
  coordinatorStopS: number;
  coordinatorRssMb: number;
}

/** A coordinator over PENDING personas with no worker: Redis memory once the window is queued. */
async function pendingMemory(work: string, cfg: string): Promise<PendingFigures> {
  const personas = join(work, "personas-pending.jsonl");
  await writeFile(personas, personasJsonl(PENDING));
  const redis = await startBenchRedis();
  if (!redis) throw new Error("redis-server did not start");
  try {
    const baseline = await usedMemory(redis.client);
    const started = performance.now();
    const coordinator = startConvosim(
      "coordinator (no worker)",
      [
        "generate",
        "-c",
        cfg,
        "-p",
        personas,
        "--out",
        join(work, "out-pending"),
        "--no-cache",
        "--quiet",
        "--queue",
        redis.url,
      ],
      join(work, "rusage-pending.json"),
    );
    let last = -1;
    let stableSince = performance.now();
    const deadline = Date.now() + 180_000;
    for (;;) {
      await sleep(250);
      const waiting = await redis.client.llen(WAIT_KEY);
      if (waiting !== last) {
        last = waiting;
        stableSince = performance.now();
      } else if (waiting > 0 && performance.now() - stableSince >= 3000) break;
      if (Date.now() > deadline || coordinator.child.exitCode !== null) break;
    }
    const secondsToFill = (stableSince - started) / 1000;
    const memory = await usedMemory(redis.client);
    const keys = await redis.client.dbsize();
    const queue = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port: redis.port } });
    const counts = await queue.getJobCounts();
    await queue.close();
    const stopAt = performance.now();
    coordinator.child.kill("SIGTERM");
    const exit = await waitExit(coordinator, 30_000);
    const coordinatorStopS = (performance.now() - stopAt) / 1000;
    const usage = await usageOf(coordinator, exit);
    return {
      personas: PENDING,
      waiting: last,
      counts,
      keys,
      baselineMb: round(baseline.used / MB, 2),
      usedMb: round(memory.used / MB, 2),
      rssMb: round(memory.rss / MB, 2),
      secondsToFill: round(secondsToFill, 1),
      coordinatorExit: exit.code !== null ? `exit ${exit.code}` : `signal ${exit.signal}`,
      coordinatorStopS: round(coordinatorStopS, 2),
      coordinatorRssMb: round(usage.maxRssMb, 1),
    };
  } finally {
    await redis.stop();
  }
}

interface PerJobFigures {
  jobs: number;
  taskJsonBytes: number;
  queuedBytesPerJob: number;
  jobHashBytes: number;
  resultJsonBytes: number;
  completedBytesPerJob: number;
  completedJobHashBytes: number;
  eventsLength: number;
  eventsMb: number;
  completedWithoutEventsBytesPerJob: number;
}

/** DIRECT_JOBS tasks added with bullmq's Queue, then completed by a worker returning `interaction`. */
async function perJobMemory(interaction: string | undefined): Promise<PerJobFigures> {
  if (!interaction) throw new Error("no interaction saved by the throughput runs to use as a result");
  const redis = await startBenchRedis();
  if (!redis) throw new Error("redis-server did not start");
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const queue = new Queue<Task>(QUEUE_NAME, { connection });
  try {
    const tasks = Array.from(
      { length: DIRECT_JOBS },
      (_, i) => personaTasks(realisticPersona(i), { seed: 42 })[0]!,
    );
    // One job added and removed first, so the queue's own keys (meta, scripts) are in the baseline.
    await queue.add("conversation", tasks[0]!, { ...JOB_OPTIONS, jobId: "warm-up" });
    await queue.remove("warm-up");
    const before = await usedMemory(redis.client);
    for (let i = 0; i < tasks.length; i += 500) {
      await queue.addBulk(
        tasks.slice(i, i + 500).map((task) => ({
          name: "conversation",
          data: task,
          opts: { ...JOB_OPTIONS, jobId: task.interaction_id },
        })),
      );
    }
    const queued = await usedMemory(redis.client);
    const firstKey = `bull:${QUEUE_NAME}:${tasks[0]!.interaction_id}`;
    const jobHashBytes = Number(await redis.client.call("MEMORY", "USAGE", firstKey, "SAMPLES", "0"));
    const template = JSON.parse(interaction) as { interaction_id: string };
    const worker = new Worker<Task>(
      QUEUE_NAME,
      async (job) => ({
        kind: "interaction",
        interaction: { ...template, interaction_id: job.data.interaction_id },
      }),
      { connection, concurrency: 100 },
    );
    const deadline = Date.now() + 300_000;
    while ((await queue.getJobCountByTypes("completed")) < tasks.length && Date.now() < deadline)
      await sleep(200);
    await worker.close();
    const completed = await usedMemory(redis.client);
    const completedJobHashBytes = Number(
      await redis.client.call("MEMORY", "USAGE", firstKey, "SAMPLES", "0"),
    );
    const eventsLength = await redis.client.xlen(EVENTS_KEY);
    const eventsBytes = Number(await redis.client.call("MEMORY", "USAGE", EVENTS_KEY, "SAMPLES", "0"));
    const resultJson = JSON.stringify({ kind: "interaction", interaction: template });
    return {
      jobs: tasks.length,
      taskJsonBytes: JSON.stringify(tasks[0]).length,
      queuedBytesPerJob: Math.round((queued.used - before.used) / tasks.length),
      jobHashBytes,
      resultJsonBytes: resultJson.length,
      completedBytesPerJob: Math.round((completed.used - before.used) / tasks.length),
      completedJobHashBytes,
      eventsLength,
      eventsMb: round(eventsBytes / MB, 2),
      completedWithoutEventsBytesPerJob: Math.round(
        (completed.used - before.used - eventsBytes) / tasks.length,
      ),
    };
  } finally {
    await queue.close();
    await redis.stop();
  }
}

function freeG(): string {
  try {
    const line = execFileSync("free", ["-g"], { encoding: "utf8" })
      .split("\n")
      .find((l) => l.startsWith("Mem:"));
    const [total, used, , , , available] = (line ?? "").split(/\s+/).slice(1).map(Number);
    return `free -g: ${total} GB total, ${used} used, ${available} available`;
  } catch {
    return "free -g: unavailable";
  }
}

function summarise(runs: ModeRun[], pending: PendingFigures, perJob: PerJobFigures, loadAtStart: number[]) {
  const completed = (r: ModeRun) => r.saved === CONVERSATIONS && r.processes.every((p) => p.code === 0);
  // Medians over the runs that completed (a failed run is listed in the notes and fails a check).
  const of = (mode: Mode) => runs.filter((r) => r.mode === mode && completed(r));
  const med = (mode: Mode, pick: (r: ModeRun) => number) => round(median(of(mode).map(pick)), 2);
  const summary = Object.fromEntries(
    MODES.map((mode) => [
      mode,
      {
        runs: of(mode).length,
        wall_s: med(mode, (r) => r.wallS),
        conversations_per_s: med(mode, (r) => r.conversationsPerS),
        first_request_s: med(mode, (r) => r.firstRequestS),
        cpu_s: med(mode, (r) => r.cpuS),
        peak_rss_mb: med(mode, (r) => r.peakRssMb),
        sum_peak_rss_mb: med(mode, (r) => r.sumPeakRssMb),
        ...(mode === "in-process"
          ? {}
          : {
              redis_commands_per_conversation: med(
                mode,
                (r) => r.redis?.commandsPerConversation ?? Number.NaN,
              ),
              redis_script_calls_per_conversation: med(
                mode,
                (r) => (r.redis?.scriptCalls ?? Number.NaN) / CONVERSATIONS,
              ),
              redis_usec_per_conversation: med(mode, (r) => r.redis?.usecPerConversation ?? Number.NaN),
              redis_net_in_kb_per_conversation: med(
                mode,
                (r) => r.redis?.netInKbPerConversation ?? Number.NaN,
              ),
              redis_net_out_kb_per_conversation: med(
                mode,
                (r) => r.redis?.netOutKbPerConversation ?? Number.NaN,
              ),
              redis_peak_memory_mb: med(mode, (r) => r.redis?.peakMemoryMb ?? Number.NaN),
            }),
      },
    ]),
  ) as unknown as Record<Mode, Record<string, number>>;
  const inProc = summary["in-process"];
  const q1 = summary["queue 1×150"];
  const q3 = summary["queue 3×50"];
  const qrl = summary["queue 1×150 rate_limit"];
  const ratio1 = round(q1.conversations_per_s! / inProc.conversations_per_s!, 3);
  const ratio3 = round(q3.conversations_per_s! / inProc.conversations_per_s!, 3);
  // Per round: the queued run against the in-process run of the same round (same load, same minutes).
  const perRound = (mode: Mode) =>
    of(mode).flatMap((r) => {
      const base = of("in-process").find((b) => b.round === r.round);
      return base ? [round(r.conversationsPerS / base.conversationsPerS, 3)] : [];
    });
  // Throughput without start-up: from the first request to the exit.
  const working = (mode: Mode) => median(of(mode).map((r) => r.saved / (r.wallS - r.firstRequestS)));
  const workRatio1 = round(working("queue 1×150") / working("in-process"), 3);
  const workRatio3 = round(working("queue 3×50") / working("in-process"), 3);
  const allSaved = runs.every(
    (r) => r.saved === CONVERSATIONS && r.requests === CONVERSATIONS * CALLS_PER_CONVERSATION,
  );
  const allExitedCleanly = runs.every((r) => r.processes.every((p) => p.code === 0));
  const topOf = (mode: Mode) => {
    const run = of(mode).find((r) => r.redis)!;
    return run
      .redis!.top.slice(0, 6)
      .map((s) => `${s.command} ${s.perConversation}`)
      .join(", ");
  };
  const loads = runs.map((r) => r.load1);
  const loadAtEnd = loadavg();
  const ideal = round((CONVERSATIONS / MAX_WORKERS) * CALLS_PER_CONVERSATION * (LATENCY_MS / 1000), 2);
  // BullMQ's events stream: every job's events, the "completed" one with the whole result.
  const q1Runs = of("queue 1×150").filter((r) => r.redis && r.redis.eventsLength > 0);
  const eventsPerConversation = round(median(q1Runs.map((r) => r.redis!.eventsLength / CONVERSATIONS)), 2);
  const bytesPerEvent = median(q1Runs.map((r) => (r.redis!.eventsMb * MB) / r.redis!.eventsLength));
  const eventsSteadyMb = round((10_000 * bytesPerEvent) / MB, 1);
  const cpuExtra = (mode: Mode) => round((summary[mode].cpu_s! / inProc.cpu_s! - 1) * 100, 0);
  const line = (mode: Mode) => {
    const s = summary[mode];
    return (
      `${mode}: ${s.wall_s} s (${s.conversations_per_s} conversations/s; first request after ${s.first_request_s} s), ` +
      `CPU ${s.cpu_s} s in all convosim processes, peak RSS ${s.peak_rss_mb} MB (sum over processes ${s.sum_peak_rss_mb} MB)` +
      (mode === "in-process"
        ? "."
        : `; Redis: ${s.redis_commands_per_conversation} commands/conversation (${s.redis_script_calls_per_conversation} script calls), ` +
          `${s.redis_usec_per_conversation} µs of Redis CPU/conversation, ${s.redis_net_in_kb_per_conversation} KB in + ` +
          `${s.redis_net_out_kb_per_conversation} KB out/conversation, peak used_memory ${s.redis_peak_memory_mb} MB.`)
    );
  };
  return {
    name: "queue",
    title: "Through the queue (Redis)",
    setup:
      `${CONVERSATIONS} three-turn conversations (${CONVERSATIONS * CALLS_PER_CONVERSATION} calls, --no-cache), stand-in answering after ` +
      `${LATENCY_MS} ms, max_workers ${MAX_WORKERS}, run by the CLI in process, through a BullMQ queue on a throwaway ` +
      `redis-server ${redisVersion()} (loopback, no persistence) by a coordinator and 1 worker (--concurrency 150), by a ` +
      `coordinator and 3 workers (--concurrency 50 each), and as the 1-worker run with rate_limit: {rpm: ${RATE_LIMIT_RPM}}; ` +
      `${ROUNDS} alternating rounds, medians; wall time from the CLI's or coordinator's start to its exit (workers started ` +
      "first). Then a coordinator over 100,000 personas with no worker, and jobs added straight to the queue.",
    headline: {
      label: "conversations/s through the queue (coordinator + 1 worker)",
      measured: q1.conversations_per_s!,
      ideal: inProc.conversations_per_s!,
      unit: "conv/s",
      idealIs: "the same work in process, same rounds",
    },
    checks: [
      check("queue (1 worker × 150) ÷ in-process throughput", ratio1, "", "≥ 0.80", ratio1 >= 0.8),
      check("queue (3 workers × 50) ÷ in-process throughput", ratio3, "", "≥ 0.80", ratio3 >= 0.8),
      check(
        `Redis used_memory with ${pending.personas.toLocaleString("en-US")} tasks pending`,
        pending.usedMb,
        "MB",
        `< ${MEMORY_TARGET_MB} MB`,
        pending.usedMb < MEMORY_TARGET_MB,
      ),
      check(
        "every run saved every conversation, each call made once",
        runs.filter((r) => r.saved === CONVERSATIONS && r.requests === CONVERSATIONS * CALLS_PER_CONVERSATION)
          .length,
        `of ${runs.length} runs`,
        "all",
        allSaved && allExitedCleanly,
      ),
    ],
    notes: [
      `Machine: nproc ${machineCpus()}, ${freeG()}, CPU ${cpuModel()}. Shared with other ` +
        `sessions: load average (1 min) ${round(loadAtStart[0]!, 1)} at the start, ${round(Math.min(...loads), 1)}–` +
        `${round(Math.max(...loads), 1)} as the runs started, ${round(loadAtEnd[0]!, 1)} at the end; the ratios compare runs ` +
        "of the same rounds, alternated, so the load hits every mode alike; absolute seconds are not this machine's best.",
      line("in-process"),
      line("queue 1×150"),
      line("queue 3×50"),
      line("queue 1×150 rate_limit"),
      `Ratio to in-process (medians): 1 worker ${ratio1}, 3 workers ${ratio3}; per round, 1 worker ` +
        `${perRound("queue 1×150").join(", ")}; 3 workers ${perRound("queue 3×50").join(", ")}. Counted from the first ` +
        `request instead of the start (start-up and workers finding the run left out): 1 worker ${workRatio1}, 3 workers ` +
        `${workRatio3}. The latency bound of the work alone is ${ideal} s (${CONVERSATIONS}/${MAX_WORKERS} waves × ` +
        `${CALLS_PER_CONVERSATION} calls × ${LATENCY_MS} ms).`,
      `CPU: the in-process run spends ${inProc.cpu_s} s of CPU in one process for a ${ideal} s latency bound; the ` +
        `queue's processes together spend ${cpuExtra("queue 1×150")} % more with one worker and ${cpuExtra("queue 3×50")} % ` +
        "more with three (each process pays its own start-up, Redis clients and BullMQ bookkeeping). On 2 cores shared " +
        "with other work that extra CPU is what the queue's throughput pays for, while splitting the work over processes " +
        "lets it use both cores: which of the two wins swings with the machine's load, hence the spread of the per-round " +
        `ratios. The queued runs' first request comes ${round(q1.first_request_s! - inProc.first_request_s!, 2)} s (1 worker) ` +
        `and ${round(q3.first_request_s! - inProc.first_request_s!, 2)} s (3 workers) after the in-process run's ` +
        "(negative: before); the workers were waiting for the run before the coordinator started.",
      `BullMQ's events stream took ${eventsPerConversation} events per conversation, ${round(bytesPerEvent / 1024, 2)} KB ` +
        "each on average (the completed event carries the whole result); BullMQ trims it near 10,000 entries, so in a long " +
        `run it levels off near ${eventsSteadyMb} MB whatever the run's length, but that figure grows with the size of the ` +
        "results (see the completed-jobs figure below, where most of the last 10,000 events were completed ones).",
      `Redis commands per conversation, busiest (1 worker): ${topOf("queue 1×150")}. With rate_limit: ` +
        `${topOf("queue 1×150 rate_limit")}; the shared limit adds ` +
        `${round(qrl.redis_commands_per_conversation! - q1.redis_commands_per_conversation!, 1)} commands and ` +
        `${round(qrl.redis_usec_per_conversation! - q1.redis_usec_per_conversation!, 1)} µs of Redis CPU per conversation. ` +
        "Commands run inside Lua scripts (BullMQ's and the rate limit's) are counted under their own names as well as the EVALSHA.",
      `${pending.personas.toLocaleString("en-US")} personas, coordinator with no worker: ${pending.waiting} jobs waiting ` +
        `(the window, 2 × max_workers) after ${pending.secondsToFill} s, ${pending.keys} keys; used_memory ` +
        `${pending.usedMb} MB (${pending.baselineMb} MB empty), used_memory_rss ${pending.rssMb} MB; the coordinator's ` +
        `peak RSS ${pending.coordinatorRssMb} MB; after SIGTERM it ended with ${pending.coordinatorExit} in ` +
        `${pending.coordinatorStopS} s.`,
      `Per job, ${perJob.jobs.toLocaleString("en-US")} added with bullmq's Queue (a task of a persona with 5 features and ` +
        `one query: ${perJob.taskJsonBytes} bytes of JSON): ${perJob.queuedBytesPerJob} bytes of used_memory per queued ` +
        `job (its hash: ${perJob.jobHashBytes} bytes). Completed, each holding a ${perJob.resultJsonBytes}-byte result ` +
        `(a saved 3-turn interaction): ${perJob.completedBytesPerJob} bytes per job, of which the events stream ` +
        `(${perJob.eventsLength} entries, capped near 10,000 by BullMQ, ${perJob.eventsMb} MB) is shared and bounded; ` +
        `without it ${perJob.completedWithoutEventsBytesPerJob} bytes per completed job (its hash: ${perJob.completedJobHashBytes} bytes).`,
      ...runs
        .filter((r) => r.saved !== CONVERSATIONS || r.processes.some((p) => p.code !== 0))
        .map(
          (r) =>
            `Failed run: round ${r.round} ${r.mode}: ${r.saved} saved, exit codes ` +
            `${r.processes.map((p) => `${p.role} ${p.code ?? p.signal}`).join(", ")}` +
            (r.workersEndedEarly ? `; ${r.workersEndedEarly.join("; ")}` : "") +
            ". Medians are over the runs that completed.",
        ),
      "Reproduce: `sh scripts/setup-redis.sh` (Debian's redis-server), then `npm run bench queue` " +
        "(BENCH_QUEUE_ROUNDS, BENCH_QUEUE_CONVERSATIONS, BENCH_QUEUE_PENDING, BENCH_QUEUE_DIRECT_JOBS change the sizes).",
    ],
    details: {
      conversations: CONVERSATIONS,
      max_workers: MAX_WORKERS,
      latency_ms: LATENCY_MS,
      rounds: ROUNDS,
      latency_bound_s: ideal,
      summary,
      ratio_1_worker: ratio1,
      ratio_3_workers: ratio3,
      ratio_per_round_1_worker: perRound("queue 1×150"),
      ratio_per_round_3_workers: perRound("queue 3×50"),
      ratio_from_first_request_1_worker: workRatio1,
      ratio_from_first_request_3_workers: workRatio3,
      load_average: { start: loadAtStart, end: loadAtEnd },
      pending,
      per_job: perJob,
      runs,
    },
  };
}

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? "";
  } catch {
    return "";
  }
}

function machineCpus(): string {
  try {
    return execFileSync("nproc", { encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

function cpuModel(): string {
  try {
    const text = readFileSync("/proc/cpuinfo", "utf8");
    return /model name\s*:\s*(.+)/.exec(text)?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}
