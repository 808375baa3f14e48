// kill -9 and resume: the CLI (bin/convosim generate --out DIR) is killed with SIGKILL about 40 %
// into a run, then run again on the same folder until it completes. Judged by the server's own
// count of requests: calls paid twice = all requests of both runs − calls the final results
// needed. The bound: only conversations in flight at the kill can lose work, so at most
// max_workers × calls per conversation; the calls actually at risk are the requests made before
// the kill minus the calls already saved by then.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeStats } from "../../src/run/stats.js";
import { round, sleep } from "../measure.js";
import { startStandInServer } from "../stand-in-server.js";
import { cliConfig, cliPersonas, runCli } from "./cli-run.js";
import { check, type Scenario } from "./types.js";

const CONVERSATIONS = 300;
const WORKERS = 50;
const CALLS_PER_CONVERSATION = 5;
const LATENCY_MS = 200;
const KILL_AT = 0.4;

export const killResume: Scenario = async () => {
  const server = await startStandInServer({ latency: LATENCY_MS });
  const work = await mkdtemp(join(tmpdir(), "convosim-bench-kill-"));
  try {
    const out = join(work, "out");
    await writeFile(join(work, "config.yaml"), cliConfig(server.url, WORKERS));
    await writeFile(join(work, "personas.jsonl"), cliPersonas(CONVERSATIONS));
    const args = [
      "generate",
      "-c",
      join(work, "config.yaml"),
      "-p",
      join(work, "personas.jsonl"),
      "--no-cache", // every call must reach the server
    ];
    const killAt = Math.round(CONVERSATIONS * CALLS_PER_CONVERSATION * KILL_AT);
    let atKill = { requests: 0, inFlight: 0 };
    const first = await runCli([...args, "--out", out, "--quiet"], () => {
      const s = server.stats;
      if (s.completions < killAt) return false;
      atKill = { requests: s.completions, inFlight: s.inFlight };
      return true;
    });
    await sleep(300); // let the server see the dropped sockets
    const afterKill = await computeStats(out);
    const savedBeforeKill = Object.values(afterKill.usage).reduce((n, u) => n + u.calls, 0);
    const second = await runCli([...args, "--out", out, "--quiet"]);
    const final = await computeStats(out);
    const needed = Object.values(final.usage).reduce((n, u) => n + u.calls, 0);
    const total = server.stats.completions;
    const paidTwice = total - needed;
    const atRisk = atKill.requests - savedBeforeKill;
    const bound = WORKERS * CALLS_PER_CONVERSATION;
    const complete = second.code === 0 && final.interactions === CONVERSATIONS;
    return {
      name: "kill-resume",
      title: "kill -9 and resume",
      setup:
        `CLI run of ${CONVERSATIONS} three-turn conversations (max_workers ${WORKERS}, ${LATENCY_MS} ms per call) ` +
        `killed with SIGKILL after ${killAt} requests, then rerun on the same output folder to completion.`,
      headline: {
        label: "calls paid twice",
        measured: paidTwice,
        ideal: bound,
        unit: "calls",
        idealIs: "the in-flight bound: max_workers × calls per conversation",
      },
      checks: [
        check(
          "rerun completes every conversation",
          final.interactions,
          `of ${CONVERSATIONS}`,
          "all",
          complete,
        ),
        check(
          "calls paid twice within the in-flight bound",
          paidTwice,
          "calls",
          `≤ ${bound} (max_workers × calls per conversation)`,
          paidTwice <= bound,
        ),
      ],
      notes: [
        `At the kill: ${atKill.requests} requests made, ${atKill.inFlight} in flight, ${afterKill.interactions} ` +
          `conversations (${savedBeforeKill} calls) saved. First run ended by ${first.signal ?? `exit ${first.code}`}; ` +
          `rerun exit ${second.code}.`,
        `Calls at risk at the kill (requests so far − calls saved): ${atRisk}. ` +
          `Both runs: ${total} requests for ${needed} calls needed → ${paidTwice} paid twice ` +
          `(${round((paidTwice / needed) * 100, 1)} % of the run).`,
      ],
      details: {
        conversations: CONVERSATIONS,
        workers: WORKERS,
        latency_ms: LATENCY_MS,
        at_kill: atKill,
        saved_before_kill: { interactions: afterKill.interactions, calls: savedBeforeKill },
        final: { interactions: final.interactions, failed: final.failed, calls: needed },
        server_requests_total: total,
        paid_twice: paidTwice,
        at_risk: atRisk,
        bound,
      },
    };
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
};
