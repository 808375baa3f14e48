// Startup: how long the CLI takes before it does anything useful. `--version` and `--help`
// from spawn to exit, and `generate` from spawn to the moment its first model request reaches a
// loopback stand-in (the stand-in's own timestamp of that request). The bound, measured in the
// same run and alternated with the others so load hits every figure alike, is a bare
// `node -e 0` (the same node binary started the same way, doing nothing).
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { benchDir, median, round } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { cliConfig, cliPersonas } from "./cli-run.js";
import { check, type Scenario } from "./types.js";

const ROUNDS = Number(process.env.CONVOSIM_BENCH_STARTUP_ROUNDS ?? 7);
const cli = join(benchDir, "../../bin/convosim");

interface Spawned {
  /** Date.now() just before spawn: the stand-in stamps requests with Date.now() too. */
  spawnedAt: number;
  exitMs: number;
  code: number | null;
  stderr: string;
}

/** Spawns `file args` (the CLI by its shebang, as a user runs it) and resolves on exit. */
function timedSpawn(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(file, args, {
      stdio: ["ignore", "ignore", "pipe"],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ spawnedAt, exitMs: performance.now() - t0, code, stderr }));
  });
}

async function mustSucceed(run: Promise<Spawned>, what: string): Promise<Spawned> {
  const result = await run;
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}: ${result.stderr.trim()}`);
  return result;
}

const seconds = (ms: number) => round(ms / 1000, 3);

export const startup: Scenario = async () => {
  const base = {
    name: "startup",
    title: "Startup: --version, --help, generate to its first model call",
    setup:
      `${ROUNDS} rounds, each running in turn \`node -e 0\` (the bound), \`convosim --version\`, ` +
      "`convosim --help`, and `convosim generate` (one persona, both models on a loopback stand-in, " +
      "response cache off, output folder) timed from spawn to the stand-in's receipt of the first " +
      "request; medians. The CLI is started by its shebang, as a user runs it: that runs the bundle " +
      "(dist/cli, scripts/bundle-cli.mjs); each round also times generate on tsc's modules " +
      "(CONVOSIM_UNBUNDLED=1), for what the bundle buys.",
  };
  const loadBefore = loadavg()[0] ?? 0;
  const server = await startStandInServer({ latency: 0, logLimit: 1000 });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-startup-"));
  const bare: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  const firstCall: number[] = [];
  const generateExit: number[] = [];
  const unbundledFirstCall: number[] = [];
  try {
    await writeFile(join(work, "config.yaml"), cliConfig(server.url, 1));
    await writeFile(join(work, "personas.jsonl"), cliPersonas(1));
    for (let round = 0; round < ROUNDS; round++) {
      bare.push((await mustSucceed(timedSpawn(process.execPath, ["-e", "0"]), "node -e 0")).exitMs);
      version.push((await mustSucceed(timedSpawn(cli, ["--version"]), "--version")).exitMs);
      help.push((await mustSucceed(timedSpawn(cli, ["--help"]), "--help")).exitMs);
      server.reset();
      const out = join(work, `out-${round}`);
      const args = ["generate", "-c", join(work, "config.yaml"), "-p", join(work, "personas.jsonl")];
      const run = await mustSucceed(
        timedSpawn(cli, [...args, "--out", out, "--no-cache", "--quiet"]),
        "generate",
      );
      const first = server.stats.log[0];
      if (!first) throw new Error("generate exited without calling the stand-in");
      firstCall.push(first.at - run.spawnedAt);
      generateExit.push(run.exitMs);
      server.reset();
      const unbundled = await mustSucceed(
        timedSpawn(cli, [...args, "--out", `${out}-unbundled`, "--no-cache", "--quiet"], {
          CONVOSIM_UNBUNDLED: "1",
        }),
        "generate (CONVOSIM_UNBUNDLED=1)",
      );
      const firstUnbundled = server.stats.log[0];
      if (!firstUnbundled) throw new Error("generate (unbundled) exited without calling the stand-in");
      unbundledFirstCall.push(firstUnbundled.at - unbundled.spawnedAt);
    }
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
  const m = {
    bare: median(bare),
    version: median(version),
    help: median(help),
    firstCall: median(firstCall),
    generateExit: median(generateExit),
    unbundledFirstCall: median(unbundledFirstCall),
  };
  return {
    ...base,
    headline: {
      label: "generate, spawn to first model request (median)",
      measured: seconds(m.firstCall),
      ideal: seconds(m.bare),
      unit: "s",
      idealIs: "`node -e 0`, spawn to exit, same run",
    },
    checks: [
      check("--version, spawn to exit (median)", seconds(m.version), "s", "< 0.25 s", m.version < 250),
      check(
        "generate, spawn to first model request (median)",
        seconds(m.firstCall),
        "s",
        "< 0.5 s",
        m.firstCall < 500,
      ),
    ],
    notes: [
      `--help: ${seconds(m.help)} s; \`node -e 0\`: ${seconds(m.bare)} s; --version is ` +
        `${(m.version / m.bare).toFixed(2)}× a bare node start, generate's first request ${(m.firstCall / m.bare).toFixed(2)}×.`,
      `generate (one three-turn conversation, replies in 0 s) exits after ${seconds(m.generateExit)} s.`,
      `generate on tsc's modules (CONVOSIM_UNBUNDLED=1) reaches its first request after ` +
        `${seconds(m.unbundledFirstCall)} s (${(m.unbundledFirstCall / m.bare).toFixed(2)}× a bare node start): ` +
        `the bundle saves ${Math.round(100 * (1 - m.firstCall / m.unbundledFirstCall))} % of that time.`,
      `Absolute times move with the machine's load (it is shared; 1-minute load average ${loadBefore.toFixed(1)} ` +
        `before and ${(loadavg()[0] ?? 0).toFixed(1)} after, on ${cpus().length} cores); the ratios to \`node -e 0\` hold better.`,
    ],
    details: {
      rounds: ROUNDS,
      load_average_before: loadBefore,
      bare_ms: bare.map((v) => round(v, 1)),
      version_ms: version.map((v) => round(v, 1)),
      help_ms: help.map((v) => round(v, 1)),
      first_call_ms: firstCall,
      unbundled_first_call_ms: unbundledFirstCall,
      generate_exit_ms: generateExit.map((v) => round(v, 1)),
    },
  };
};
