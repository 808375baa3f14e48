// Issue 14, the faults of a queued run, with the built CLI as real processes on a real
// redis-server and a loopback OpenAI-compatible stand-in: the coordinator killed with -9 and
// rerun; Redis restarting gracefully (its snapshot kept) and crashing with nothing kept; the
// cluster-wide max_workers; a budget through the queue. Every case ends with each interaction
// saved exactly once.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isUserSimulation, scriptedReply } from "../../src/providers/scripted-replies.js";
import type { ChatMessage } from "../../src/providers/types.js";
import { requireBuild, startCli } from "../support/cli.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";
import { waitUntil } from "../support/wait.js";
import { type RealRedis, startRedis } from "./real-redis.js";

const KEY_VAR = "CONVOSIM_QUEUE_FAULTS_KEY";
const env = { [KEY_VAR]: "sk-test", CONVOSIM_QUEUE_STALLED_MS: "2000" };
let server: LoopbackServer;
let dir: string;
let personas: string;
const DELAY_MS = 60;
/** When each request started and when its answer was due: to count requests open at once. */
const spans: Array<[number, number]> = [];
const running: Array<{ child: { kill(signal: NodeJS.Signals): boolean }; done: Promise<unknown> }> = [];
let redis: RealRedis | undefined;

function personaLines(count: number): string {
  return `${Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      persona_id: `p${i}`,
      persona_features: { role: "nurse" },
      queries: [{ original_query: `How do I schedule shift number ${i}?` }],
    }),
  ).join("\n")}\n`;
}

async function configFile(name: string, maxWorkers: number, baseUrl = `${server.url}/v1`): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  const model = `{ provider: openai, model: m, base_url: "${baseUrl}", api_key_env: ${KEY_VAR} }`;
  await writeFile(
    path,
    [
      "interaction_generation:",
      "  min_turns: 3",
      "  max_turns: 3",
      `  max_workers: ${maxWorkers}`,
      "  retry_delay: 0",
      `  assistant_model: ${model}`,
      `  user_model: ${model}`,
    ].join("\n"),
  );
  return path;
}

beforeAll(async () => {
  requireBuild();
  server = await startLoopbackServer((request) => {
    const body = request.body as { model: string; messages: ChatMessage[] };
    const content = isUserSimulation(body.messages) ? scriptedReply(body.messages) : "An answer.";
    const now = Date.now();
    spans.push([now, now + DELAY_MS]);
    return {
      status: 200,
      delayMs: DELAY_MS,
      body: {
        id: "chatcmpl-faults",
        object: "chat.completion",
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      },
    };
  });
  dir = await mkdtemp(join(tmpdir(), "convosim-queue-faults-"));
  personas = join(dir, "personas.jsonl");
  await writeFile(personas, personaLines(40));
}, 30_000);

afterEach(async () => {
  for (const p of running.splice(0)) {
    p.child.kill("SIGKILL");
    await p.done;
  }
  await redis?.stop();
  redis = undefined;
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function worker(url: string, concurrency: number) {
  const started = startCli(["worker", "--queue", url, "--no-cache", "--concurrency", String(concurrency)], {
    env,
  });
  running.push(started);
  return started;
}

function coordinator(url: string, config: string, out: string, extra: string[] = []) {
  return startCli(
    ["generate", "-c", config, "-p", personas, "-o", out, "--queue", url, "--no-cache", ...extra],
    {
      env,
    },
  );
}

async function savedFiles(out: string): Promise<string[]> {
  return (await readdir(join(out, "interactions")).catch(() => [])).filter((name) => name.endsWith(".json"));
}

/** Every interaction saved once: 40 files, 40 distinct ids in index.json, each file its own id. */
async function expectEachSavedOnce(out: string, count: number): Promise<void> {
  const files = await savedFiles(out);
  expect(files).toHaveLength(count);
  const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    interactions: Array<{ interaction_id: string }>;
  };
  const ids = index.interactions.map((entry) => entry.interaction_id);
  expect(new Set(ids).size).toBe(count);
  expect(ids).toHaveLength(count);
  for (const file of files.slice(0, 5)) {
    const saved = JSON.parse(await readFile(join(out, "interactions", file), "utf8")) as {
      interaction_id: string;
    };
    expect(`${saved.interaction_id}.json`).toBe(file);
  }
}

/** Counted from a summary line "N done, M failed, K skipped". */
function counts(stderr: string): { done: number; skipped: number } {
  const match = /(\d+) done, (\d+) failed, (\d+) skipped/.exec(stderr);
  if (!match) throw new Error(`no summary line in: ${stderr}`);
  return { done: Number(match[1]), skipped: Number(match[3]) };
}

describe("a queued run's faults", () => {
  it("the coordinator killed with -9 mid-run: the rerun saves the rest, nothing twice", async () => {
    redis = await startRedis();
    const config = await configFile("kill-coordinator", 6);
    const out = join(dir, "out-kill-coordinator");
    worker(redis.url, 3);
    worker(redis.url, 3);
    const doomed = coordinator(redis.url, config, out);
    await waitUntil(async () => (await savedFiles(out)).length >= 5, "five saved before the kill");
    doomed.child.kill("SIGKILL");
    await doomed.done;
    const before = (await savedFiles(out)).length;
    expect(before).toBeLessThan(40);
    const rerun = await coordinator(redis.url, config, out).done;
    if (rerun.code !== 0) console.log(rerun.stderr);
    expect(rerun.code).toBe(0);
    const { done, skipped } = counts(rerun.stderr);
    expect(skipped).toBe(before);
    expect(done + skipped).toBe(40);
    await expectEachSavedOnce(out, 40);
  }, 120_000);

  it("Redis restarting gracefully mid-run (its snapshot kept): the run goes on and completes", async () => {
    redis = await startRedis(undefined, { persist: true });
    const config = await configFile("restart-graceful", 6);
    const out = join(dir, "out-restart-graceful");
    worker(redis.url, 3);
    worker(redis.url, 3);
    const run = coordinator(redis.url, config, out);
    await waitUntil(async () => (await savedFiles(out)).length >= 5, "five saved before the restart");
    await redis.restart("graceful");
    const ended = await run.done;
    if (ended.code !== 0) console.log(ended.stderr);
    expect(ended.code).toBe(0);
    expect(counts(ended.stderr).done).toBe(40);
    await expectEachSavedOnce(out, 40);
  }, 120_000);

  it("Redis crashing and losing everything mid-run: lost jobs are queued again, none lost", async () => {
    redis = await startRedis(); // no persistence: a crash forgets every job
    const config = await configFile("restart-crash", 6);
    const out = join(dir, "out-restart-crash");
    worker(redis.url, 3);
    worker(redis.url, 3);
    const run = coordinator(redis.url, config, out);
    await waitUntil(async () => (await savedFiles(out)).length >= 5, "five saved before the crash");
    await redis.restart("crash");
    const ended = await run.done;
    if (ended.code !== 0) console.log(ended.stderr);
    expect(ended.code).toBe(0);
    expect(ended.stderr).toMatch(/Redis lost \d+ queued conversation\(s\) in a restart; queued again/);
    expect(counts(ended.stderr).done).toBe(40);
    await expectEachSavedOnce(out, 40);
  }, 120_000);

  it("max_workers holds for the whole cluster: two workers of 5 never run more than 3 conversations", async () => {
    redis = await startRedis();
    const config = await configFile("cluster-max", 3);
    const out = join(dir, "out-cluster-max");
    spans.length = 0;
    worker(redis.url, 5);
    worker(redis.url, 5);
    const ended = await coordinator(redis.url, config, out).done;
    expect(ended.code).toBe(0);
    await expectEachSavedOnce(out, 40);
    // Each conversation has one call open at a time: calls open at once = conversations running.
    let most = 0;
    for (const [start] of spans) {
      const open = spans.filter(([s, end]) => s <= start && end > start).length;
      most = Math.max(most, open);
    }
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThanOrEqual(2); // and the cluster did run several at once
  }, 120_000);

  it("--budget-tokens holds for the cluster: the coordinator stops queueing, exit 4", async () => {
    redis = await startRedis();
    const config = await configFile("budget", 4);
    const out = join(dir, "out-budget");
    worker(redis.url, 4);
    // A conversation costs about 6 calls × 15 tokens: 600 tokens pay for a handful, not 40.
    const ended = await coordinator(redis.url, config, out, ["--budget-tokens", "600"]).done;
    if (ended.code !== 4) console.log(ended.stderr);
    expect(ended.code).toBe(4);
    expect(ended.stderr).toMatch(/budget reached: [\d,]+ of 600 tokens spent/);
    const saved = (await savedFiles(out)).length;
    expect(saved).toBeGreaterThanOrEqual(1);
    expect(saved).toBeLessThan(40);
    // Passed by at most one wave of conversations in flight (4 × about 90 tokens).
    const spent = Number(/budget reached: ([\d,]+) of/.exec(ended.stderr)![1]!.replace(/,/g, ""));
    expect(spent).toBeLessThanOrEqual(600 + 4 * 120);
  }, 120_000);

  it("a key the endpoint refuses: one request, the rest handed back unstarted, exit 2 as locally", async () => {
    redis = await startRedis();
    const refusing = await startLoopbackServer(() => ({
      status: 401,
      body: { error: { message: "invalid api key", type: "invalid_request_error" } },
    }));
    try {
      const config = await configFile("refused", 4, `${refusing.url}/v1`);
      worker(redis.url, 4);
      const ended = await coordinator(redis.url, config, join(dir, "out-refused")).done;
      if (ended.code !== 2) console.log(ended.stderr);
      expect(ended.code).toBe(2);
      expect(ended.stderr).toMatch(/39 conversation\(s\) not started/);
      expect(refusing.requests.length).toBe(1); // first contact alone: one request finds the key refused
    } finally {
      await refusing.close();
    }
  }, 120_000);

  it("Ctrl-C on the coordinator: exit 130, what is back is saved, the rerun saves the rest once", async () => {
    redis = await startRedis();
    const config = await configFile("ctrl-c", 6);
    const out = join(dir, "out-ctrl-c");
    worker(redis.url, 6);
    const first = coordinator(redis.url, config, out);
    await waitUntil(async () => (await savedFiles(out)).length >= 5, "five saved before the signal");
    first.child.kill("SIGINT");
    const stopped = await first.done;
    expect(stopped.code).toBe(130);
    const before = (await savedFiles(out)).length;
    expect(before).toBeLessThan(40);
    const rerun = await coordinator(redis.url, config, out).done;
    expect(rerun.code).toBe(0);
    const { done, skipped } = counts(rerun.stderr);
    expect(skipped).toBe(before);
    expect(done + skipped).toBe(40);
    await expectEachSavedOnce(out, 40);
  }, 120_000);
});
