// Issue 14, the queue core: the built CLI as a coordinator (generate --queue) and two worker
// processes (convosim worker) on a real redis-server, against a loopback OpenAI-compatible
// stand-in. Every interaction is saved exactly once in DIR (with index.json); a rerun of the
// coordinator queues nothing; a worker killed with -9 mid-run loses and duplicates nothing (its
// jobs stall and another worker re-runs them); a missing key variable and an unreachable Redis
// are one line and exit 2.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUserSimulation, scriptedReply } from "../../src/providers/scripted-replies.js";
import type { ChatMessage } from "../../src/providers/types.js";
import { requireBuild, runCli, startCli } from "../support/cli.js";
import { type LoopbackServer, startLoopbackServer } from "../support/loopback-server.js";
import { waitUntil } from "../support/wait.js";
import { type RealRedis, startRedis } from "./real-redis.js";

const KEY_VAR = "CONVOSIM_QUEUE_TEST_KEY";
const env = { [KEY_VAR]: "sk-test", CONVOSIM_QUEUE_STALLED_MS: "2000" };
let redis: RealRedis;
let server: LoopbackServer;
let dir: string;
let config: string;
let personas: string;
// Replies take 30 ms, so a worker killed a moment into the run holds conversations mid-way.
let delayMs = 30;

function personaLines(count: number): string {
  return `${Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      persona_id: `p${i}`,
      persona_features: { role: "teacher" },
      queries: [{ original_query: `How do I plan the field trip number ${i}?` }],
    }),
  ).join("\n")}\n`;
}

beforeAll(async () => {
  requireBuild();
  redis = await startRedis();
  server = await startLoopbackServer((request) => {
    const body = request.body as { model: string; messages: ChatMessage[] };
    const content = isUserSimulation(body.messages) ? scriptedReply(body.messages) : "An answer.";
    return {
      status: 200,
      delayMs,
      body: {
        id: "chatcmpl-queue",
        object: "chat.completion",
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      },
    };
  });
  dir = await mkdtemp(join(tmpdir(), "convosim-queue-"));
  config = join(dir, "config.yaml");
  const model = `{ provider: openai, model: m, base_url: "${server.url}/v1", api_key_env: ${KEY_VAR} }`;
  await writeFile(
    config,
    [
      "interaction_generation:",
      "  min_turns: 3",
      "  max_turns: 3",
      "  max_workers: 8",
      "  retry_delay: 0",
      `  assistant_model: ${model}`,
      `  user_model: ${model}`,
    ].join("\n"),
  );
  personas = join(dir, "personas.jsonl");
  await writeFile(personas, personaLines(60));
}, 30_000);

afterAll(async () => {
  await redis?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function worker(extra: string[] = [], workerEnv: NodeJS.ProcessEnv = env) {
  return startCli(["worker", "--queue", redis.url, "--no-cache", ...extra], { env: workerEnv });
}

async function savedIds(out: string): Promise<string[]> {
  return (await readdir(join(out, "interactions"))).filter((name) => name.endsWith(".json"));
}

describe("generate --queue with two workers", () => {
  it("saves every interaction exactly once, and a rerun queues nothing", async () => {
    const out = join(dir, "out");
    const workers = [worker(["--concurrency", "4"]), worker(["--concurrency", "4"])];
    const first = await runCli(
      ["generate", "-c", config, "-p", personas, "-o", out, "--queue", redis.url, "--no-cache"],
      { env },
    );
    expect(first.stderr).toContain("60 done, 0 failed");
    expect(first.code).toBe(0);
    const files = await savedIds(out);
    expect(files).toHaveLength(60);
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as { interactions?: unknown[] };
    expect(JSON.stringify(index)).toContain(files[0]!.replace(/\.json$/, ""));
    const interaction = JSON.parse(await readFile(join(out, "interactions", files[0]!), "utf8")) as {
      messages: unknown[];
    };
    expect(interaction.messages.length).toBeGreaterThanOrEqual(6);

    const requestsBefore = server.requests.length;
    const rerun = await runCli(
      ["generate", "-c", config, "-p", personas, "-o", out, "--queue", redis.url, "--no-cache"],
      { env },
    );
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain("0 done, 0 failed, 60 skipped");
    expect(server.requests.length).toBe(requestsBefore);
    for (const w of workers) w.child.kill("SIGTERM");
    const ended = await Promise.all(workers.map((w) => w.done));
    for (const run of ended) expect(run.code).toBe(0);
  }, 120_000);

  it("a worker killed with -9 mid-run: its jobs stall, another worker re-runs them, nothing lost or doubled", async () => {
    delayMs = 100;
    const out = join(dir, "out-kill");
    await writeFile(personas, personaLines(40));
    const doomed = worker(["--concurrency", "6"]);
    const coordinator = startCli(
      ["generate", "-c", config, "-p", personas, "-o", out, "--queue", redis.url, "--no-cache"],
      { env },
    );
    // Let the doomed worker take jobs and get into them, then kill it without a word.
    const seen = server.requests.length;
    await waitUntil(
      () => server.requests.length >= seen + 12,
      "the doomed worker two calls into its conversations",
    );
    doomed.child.kill("SIGKILL");
    const survivor = worker(["--concurrency", "6"]);
    const run = await coordinator.done;
    expect(run.stderr).toContain("40 done, 0 failed");
    expect(run.code).toBe(0);
    expect(await savedIds(out)).toHaveLength(40);
    survivor.child.kill("SIGTERM");
    expect((await survivor.done).code).toBe(0);
    delayMs = 30;
  }, 120_000);

  it("a worker without the key variable exits 2 naming it", async () => {
    const run = await runCli(["worker", "--queue", redis.url, "--no-cache"], { env: { [KEY_VAR]: "" } });
    if (run.code !== 2) console.log(run.stderr);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(KEY_VAR);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  }, 30_000);

  it("an unreachable Redis is one line and exit 2, for the coordinator and a worker", async () => {
    const closed = "redis://127.0.0.1:1";
    const coordinator = await runCli(
      ["generate", "-c", config, "-p", personas, "-o", join(dir, "never"), "--queue", closed, "-q"],
      { env },
    );
    if (coordinator.code !== 2 || coordinator.stderr.trim().includes("\n")) console.log(coordinator.stderr);
    expect(coordinator.code).toBe(2);
    expect(coordinator.stderr.trim().split("\n")).toHaveLength(1);
    expect(coordinator.stderr).toContain("cannot reach Redis at redis://127.0.0.1:1");
    const lone = await runCli(["worker", "--queue", closed], { env });
    expect(lone.code).toBe(2);
    expect(lone.stderr.trim().split("\n")).toHaveLength(1);
  }, 30_000);
});
