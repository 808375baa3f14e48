// `npm run check:user-sim`: checks, outside the unit tests, that the simulated user's
// misbehaviour never ends up in saved data. For each mode of the misbehaving stand-in
// (bench/misbehaving-stand-in.ts) it starts the stand-in, writes a config and personas, runs the
// real CLI (`bin/convosim generate --config C --personas P --out DIR`) as a child process, reads
// DIR and applies the checks of bench/user-sim-checks.ts; runs whose every user reply is bad
// ("always") are run a second time on the same DIR, with the default response cache, to check
// that the failed conversations reach the model again. Prints a table; exits 1 if any run fails.
// See docs/user-sim-check.md.
//
//   node dist/bench/check-user-sim.js [--modes a,b] [--bad-asks N] [--always a,b|all|none]
//     [--conversations N] [--max-reasks N] [--jobs N] [--json FILE] [--keep]
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { CLI_NODE_FLAGS } from "../src/run/heap.js";
import { benchDir } from "./measure.js";
import {
  ALL_MODES,
  isUserMode,
  type MisbehavingStats,
  type Misbehaviour,
  startMisbehavingStandIn,
  USER_MODES,
} from "./misbehaving-stand-in.js";
import {
  type CheckSetup,
  checkRerun,
  checkRun,
  type Finding,
  type RunCheck,
  readRunOutput,
} from "./user-sim-checks.js";
import { type CheckRunSettings, checkConfig, checkPersonas, DEFAULT_SETTINGS } from "./user-sim-run.js";

const CLI = join(benchDir, "../../bin/convosim");
const KEY_ENV = "CONVOSIM_CHECK_KEY";

interface Case {
  mode: Misbehaviour;
  badAsks: number | "always";
  rerun: boolean;
}

/** The stand-in's request counts of one run (recorded in --json output and the table). */
type RequestCounts = Omit<MisbehavingStats, "conversations" | "mode" | "badAsks">;

function requestCounts(stats: MisbehavingStats): RequestCounts {
  const { conversations: _c, mode: _m, badAsks: _b, ...counts } = stats;
  return counts;
}

interface CaseResult extends Case {
  check: RunCheck;
  requests: { run: RequestCounts; rerun?: RequestCounts };
  rerunResult?: { asked: number; of: number };
  findings: Finding[];
  seconds: number;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, CLI, ...args], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 20_000) stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

async function runCase(
  c: Case,
  count: number,
  settings: CheckRunSettings,
  keep: boolean,
): Promise<CaseResult> {
  const started = performance.now();
  const standIn = await startMisbehavingStandIn({ mode: c.mode, badAsks: c.badAsks });
  const dir = await mkdtemp(join(tmpdir(), `convosim-usersim-${c.mode}-`));
  try {
    const personas = checkPersonas(count);
    const setup: CheckSetup = {
      mode: c.mode,
      ...settings,
      personas: new Map(personas.map((p) => [p.persona_id, p.queries[0]!.original_query])),
    };
    const config = join(dir, "config.yaml");
    const personasFile = join(dir, "personas.jsonl");
    const out = join(dir, "out");
    await writeFile(config, stringify(checkConfig(standIn.url, settings, KEY_ENV)));
    await writeFile(personasFile, `${personas.map((p) => JSON.stringify(p)).join("\n")}\n`);
    await mkdir(join(dir, "responses"));
    // The default response cache (no cache flag), in a folder of this run's own.
    const env = {
      ...process.env,
      [KEY_ENV]: "sk-dummy-not-a-real-key",
      CONVOSIM_RESPONSE_CACHE_DIR: join(dir, "responses"),
    };
    const args = ["generate", "--config", config, "--personas", personasFile, "--out", out, "-q"];
    const findings: Finding[] = [];
    const cliFinding = (run: string, r: { code: number | null; stderr: string }) => {
      if (r.code !== 0 && r.code !== 3)
        findings.push({
          kind: "cli",
          where: run,
          detail: `exit code ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
        });
    };
    cliFinding("run", await runCli(args, env));
    const output = await readRunOutput(out);
    const check = checkRun(output, setup, standIn.stats(), standIn.served());
    const requests: CaseResult["requests"] = { run: requestCounts(standIn.stats()) };
    findings.push(...check.findings);
    let rerunResult: CaseResult["rerunResult"];
    if (c.rerun) {
      standIn.resetCounts();
      cliFinding("rerun", await runCli(args, env));
      const rerun = checkRerun(output.failures, setup, standIn.stats());
      rerunResult = { asked: rerun.asked, of: rerun.of };
      requests.rerun = requestCounts(standIn.stats());
      findings.push(...rerun.findings);
      const after = checkRun(await readRunOutput(out), setup, standIn.stats(), standIn.served());
      for (const f of after.findings)
        if (!findings.some((g) => g.where === f.where && g.detail === f.detail))
          findings.push({ ...f, where: `after rerun: ${f.where}` });
    }
    return {
      ...c,
      check,
      requests,
      findings,
      seconds: (performance.now() - started) / 1000,
      ...(rerunResult ? { rerunResult } : {}),
    };
  } finally {
    await standIn.close();
    if (keep) process.stderr.write(`check:user-sim: kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

function table(results: readonly CaseResult[]): string {
  const rows = results.map((r) => {
    const kinds: Record<string, number> = {};
    for (const f of r.findings) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
    const stops = Object.entries(r.check.stopReasons)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return [
      r.mode,
      String(r.badAsks),
      `${r.check.saved} / ${r.check.failed}`,
      stops || "-",
      String(r.check.badTexts),
      `${r.requests.run.userRequests} / ${r.requests.run.assistantRequests} (${r.requests.run.badReplies} bad)`,
      `${r.check.maxAsksRecorded ?? "-"} / ${r.check.maxAsksServed} (≤${r.check.asksBound})`,
      r.rerunResult
        ? `${r.rerunResult.asked}/${r.rerunResult.of} (${r.requests.rerun?.userRequests ?? 0} req)`
        : "",
      Object.entries(kinds)
        .filter(([k]) => k !== "bad_text" && k !== "marker")
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
      r.findings.some((f) => f.kind !== "metadata") ? "FAIL" : "PASS",
      r.findings.length === 0 ? "PASS" : "FAIL",
    ];
  });
  const head = [
    "mode",
    "bad asks",
    "saved / failed",
    "stop reasons",
    "bad texts",
    "requests user/asst",
    "max asks rec/served",
    "rerun asked",
    "other findings",
    "saved data",
    "verdict",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

const USAGE = `usage: node dist/bench/check-user-sim.js [options]
  --modes a,b         modes run with --bad-asks (default: all: ${ALL_MODES.join(", ")})
  --bad-asks N        bad asks per follow-up before good ones (default 2)
  --always a,b|all|none   user modes also run with every ask bad, then rerun (default: all user modes)
  --conversations N   conversations per run (default 6)
  --max-reasks N      user_model.max_reasks (default 2)
  --prompt-format F   user_model.prompt_format: auto, chat or transcript (default: not set)
  --jobs N            runs at once (default 2)
  --json FILE         also write the results as JSON
  --keep              keep the temporary folders
  --help`;

function modesFrom(raw: string | undefined, all: readonly Misbehaviour[]): Misbehaviour[] {
  if (raw === undefined || raw === "all") return [...all];
  if (raw === "none" || raw === "") return [];
  const wanted = raw.split(",").map((m) => m.trim());
  const unknown = wanted.filter((m) => !all.includes(m as Misbehaviour));
  if (unknown.length > 0) throw new Error(`unknown mode(s) ${unknown.join(", ")}; known: ${all.join(", ")}`);
  return wanted as Misbehaviour[];
}

function positive(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} expects a whole number, got "${raw}"`);
  return value;
}

async function main(): Promise<number> {
  const option = { type: "string" } as const;
  const { values } = parseArgs({
    options: {
      modes: option,
      "bad-asks": option,
      always: option,
      conversations: option,
      "max-reasks": option,
      "prompt-format": option,
      jobs: option,
      json: option,
      keep: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const badAsks = positive(values["bad-asks"], "bad-asks", 2);
  const count = Math.max(1, positive(values.conversations, "conversations", 6));
  const jobs = Math.max(1, positive(values.jobs, "jobs", 2));
  const settings: CheckRunSettings = {
    ...DEFAULT_SETTINGS,
    maxReasks: positive(values["max-reasks"], "max-reasks", DEFAULT_SETTINGS.maxReasks),
  };
  const format = values["prompt-format"];
  if (format !== undefined) {
    if (format !== "auto" && format !== "chat" && format !== "transcript")
      throw new Error(`--prompt-format must be auto, chat or transcript, got "${format}"`);
    settings.promptFormat = format;
  }
  const cases: Case[] = [
    ...modesFrom(values.modes, ALL_MODES).map((mode) => ({ mode, badAsks, rerun: false })),
    ...modesFrom(values.always, USER_MODES)
      .filter(isUserMode)
      .map((mode) => ({ mode, badAsks: "always" as const, rerun: true })),
  ];

  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const index = next++;
      const c = cases[index]!;
      const result = await runCase(c, count, settings, values.keep === true);
      results[index] = result;
      process.stderr.write(
        `check:user-sim: ${c.mode} (bad asks ${c.badAsks}) ${result.findings.length === 0 ? "PASS" : "FAIL"} in ${result.seconds.toFixed(1)} s\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, cases.length) }, worker));

  process.stdout.write(
    `\nsimulated-user check: ${count} conversations per run, min_turns ${settings.minTurns}, max_turns ${settings.maxTurns}, ` +
      `max_reasks ${settings.maxReasks}, max_retries ${settings.maxRetries}, call retries ${settings.callRetries}` +
      `${settings.promptFormat ? `, prompt_format ${settings.promptFormat}` : ""}\n\n`,
  );
  process.stdout.write(`${table(results)}\n`);
  const failed = results.filter((r) => r.findings.length > 0);
  for (const r of failed) {
    process.stdout.write(`\n${r.mode} (bad asks ${r.badAsks}): ${r.findings.length} findings\n`);
    const shown = new Map<string, number>();
    for (const f of r.findings) {
      const n = shown.get(f.kind) ?? 0;
      shown.set(f.kind, n + 1);
      if (n < 3) process.stdout.write(`  [${f.kind}] ${f.where}: ${f.detail}\n`);
    }
    for (const [kind, n] of shown) if (n > 3) process.stdout.write(`  [${kind}] … and ${n - 3} more\n`);
  }
  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify({ date: new Date().toISOString(), settings, count, results }, null, 2)}\n`,
    );
  }
  process.stdout.write(
    `\n${results.length - failed.length} of ${results.length} runs PASS${failed.length > 0 ? `; FAIL: ${failed.map((r) => `${r.mode}/${r.badAsks}`).join(", ")}` : ""}\n`,
  );
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `check:user-sim: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`,
    );
    process.exitCode = 2;
  },
);
