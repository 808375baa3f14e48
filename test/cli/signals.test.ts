// Signals and runs that never end, through the real CLI against loopback endpoints: the first
// Ctrl-C or SIGTERM starts nothing new and ends conversations in flight at their next call
// (unsaved, their spend in usage.ndjson), exit 130 within seconds; a second one aborts the calls
// in flight and still writes the ledger; max_turns has a ceiling; a conversation that outgrows
// its model's context window ends as context_full. Every wait is on a readiness signal (requests
// reaching the endpoint, files on disk, a line on stderr), bounded; no fixed sleeps.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandInServer } from "../../bench/stand-in-server.js";
import { requireBuild, runCli, startCli } from "../support/cli.js";
import { startEndlessChatServer } from "../support/endless-chat-server.js";
import { waitUntil } from "../support/wait.js";

let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-signals-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function personasFile(name: string, count: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    Array.from({ length: count }, (_, i) =>
      JSON.stringify({
        persona_id: `p${i}`,
        persona_features: {},
        queries: [{ original_query: `how do I speed up report number ${i}?` }],
      }),
    ).join("\n"),
  );
  return path;
}

interface LedgerLine {
  interaction_id: string;
  status: string;
  calls: number;
  interrupted?: boolean;
}

async function ledger(out: string): Promise<LedgerLine[]> {
  const path = join(out, "usage.ndjson");
  if (!existsSync(path)) return [];
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as LedgerLine);
}

async function savedFiles(out: string): Promise<string[]> {
  if (!existsSync(join(out, "interactions"))) return [];
  return (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
}

/** The child's end, or a failure (and a kill) when it has not ended within `ms`. */
async function endsWithin<T>(
  done: Promise<T>,
  ms: number,
  child: { kill(signal: NodeJS.Signals): boolean },
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the CLI had not exited ${ms} ms after the signal`));
    }, ms);
  });
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

const modelBlock = (url: string, extra = "") => `{ provider: openai, model: m, base_url: "${url}"${extra} }`;

describe("signals", () => {
  it("SIGTERM on never-ending conversations (max_turns at the ceiling): exit 130 within seconds, every call in the ledger, nothing saved", async () => {
    const server = await startEndlessChatServer({ latencyMs: 40 });
    try {
      const config = join(dir, "endless.yaml");
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 200\n  max_turns: 200\n  max_workers: 3\n  assistant_model: ${modelBlock(server.url)}\n  user_model: ${modelBlock(server.url)}\n`,
      );
      const personas = await personasFile("three.jsonl", 3);
      const out = join(dir, "endless-out");
      const run = startCli([
        "generate",
        "--config",
        config,
        "--personas",
        personas,
        "--out",
        out,
        "--no-cache",
      ]);
      // Ready: every conversation is a few turns in.
      await waitUntil(() => server.received >= 15, "15 requests at the endpoint");
      const signalledAt = performance.now();
      run.child.kill("SIGTERM");
      const result = await endsWithin(run.done, 10_000, run.child);
      const seconds = (performance.now() - signalledAt) / 1000;
      expect(result.code, result.stderr).toBe(130);
      expect(seconds).toBeLessThan(10);
      expect(result.stderr).toMatch(/stopping \(0 done, 3 in flight\)/);
      expect(result.stderr).toMatch(/nothing saved; 3 stopped conversation\(s\) not saved/);
      expect(result.stderr).not.toMatch(/saved to/);
      // The first signal lets requests already sent finish, so every answer was a call recorded.
      const lines = await ledger(out);
      // One line per conversation that had paid for a call (all three, unless the endpoint's
      // admission had not yet let one through), each an interrupted one.
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(3);
      expect(lines.every((l) => l.status === "interrupted")).toBe(true);
      expect(lines.every((l) => l.interrupted === true)).toBe(true);
      expect(lines.reduce((n, l) => n + l.calls, 0)).toBe(server.answered);
      expect(server.answered).toBe(server.received);
      expect(await savedFiles(out)).toEqual([]);
      expect(existsSync(join(out, "failures.ndjson"))).toBe(false);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("a second signal aborts the calls in flight; the ledger still holds the calls made; exit 130", async () => {
    const server = await startEndlessChatServer({ latencyMs: 2_000 });
    try {
      const config = join(dir, "slow.yaml");
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 200\n  max_turns: 200\n  max_workers: 2\n  assistant_model: ${modelBlock(server.url)}\n  user_model: ${modelBlock(server.url)}\n`,
      );
      const personas = await personasFile("two.jsonl", 2);
      const out = join(dir, "aborted-out");
      const run = startCli([
        "generate",
        "--config",
        config,
        "--personas",
        personas,
        "--out",
        out,
        "--no-cache",
      ]);
      let stderr = "";
      run.child.stderr.on("data", (d) => (stderr += d));
      // Ready: the first answers are recorded and the second round of calls hangs on the server.
      await waitUntil(() => server.received >= 4, "4 requests at the endpoint", { timeoutMs: 30_000 });
      run.child.kill("SIGINT");
      await waitUntil(() => /stopping/.test(stderr), "the 'stopping' line on stderr");
      const signalledAt = performance.now();
      run.child.kill("SIGINT");
      const result = await endsWithin(run.done, 10_000, run.child);
      expect(result.code, result.stderr).toBe(130);
      // Aborted at once: not after the 2 s the hanging calls would have taken.
      expect(performance.now() - signalledAt).toBeLessThan(10_000);
      expect(result.stderr).toMatch(/aborting the calls in flight/);
      const lines = await ledger(out);
      const calls = lines.reduce((n, l) => n + l.calls, 0);
      expect(lines.every((l) => l.status === "interrupted")).toBe(true);
      // Two answered before the calls that were aborted (each conversation's first call).
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(calls).toBeLessThanOrEqual(server.answered);
      expect(await savedFiles(out)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("one SIGTERM while every call hangs at the endpoint: the calls get 10 s, then are aborted; exit 130", async () => {
    const server = await startEndlessChatServer({ latencyMs: 600_000 }); // answers nothing in time
    try {
      const config = join(dir, "hung.yaml");
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 2\n  max_turns: 2\n  max_workers: 2\n  assistant_model: ${modelBlock(server.url)}\n  user_model: ${modelBlock(server.url)}\n`,
      );
      const personas = await personasFile("hung.jsonl", 2);
      const out = join(dir, "hung-out");
      const run = startCli([
        "generate",
        "--config",
        config,
        "--personas",
        personas,
        "--out",
        out,
        "--no-cache",
      ]);
      // Ready: a call hangs at the endpoint (the other conversation may still be queued for it).
      await waitUntil(() => server.received >= 1, "a call at the endpoint");
      const sentBefore = server.received;
      const signalledAt = performance.now();
      run.child.kill("SIGTERM");
      const result = await endsWithin(run.done, 25_000, run.child);
      const seconds = (performance.now() - signalledAt) / 1000;
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toMatch(/calls still running 10 s after the stop: aborted/);
      // Not before the grace (10 s), well before request_timeout (120 s).
      expect(seconds).toBeGreaterThanOrEqual(9.5);
      expect(seconds).toBeLessThan(25);
      expect(server.received).toBe(sentBefore); // nothing new was sent after the signal
      expect(await savedFiles(out)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("Ctrl-C starts no new conversation: saved ≤ done + in flight at the signal; rerunning completes the rest", async () => {
    const server = await startStandInServer({ latency: 150 });
    try {
      const config = join(dir, "two-turns.yaml");
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 2\n  max_turns: 2\n  max_workers: 4\n  assistant_model: { provider: openai, model: m, base_url: "${server.url}" }\n  user_model: { provider: openai, model: m, base_url: "${server.url}" }\n`,
      );
      const personas = await personasFile("forty.jsonl", 40);
      const out = join(dir, "interrupted");
      const cacheDir = join(dir, "cache");
      const args = [
        "generate",
        "--config",
        config,
        "--personas",
        personas,
        "--out",
        out,
        "--cache-dir",
        cacheDir,
      ];
      const running = startCli(args);
      // Ready: two conversations saved (so the handler is installed and work is under way).
      await waitUntil(async () => (await savedFiles(out)).length >= 2, "two saved conversations");
      running.child.kill("SIGINT");
      const first = await endsWithin(running.done, 10_000, running.child);
      expect(first.code, first.stderr).toBe(130);
      const [, done, inFlight] = first.stderr.match(/stopping \((\d+) done, (\d+) in flight\)/) ?? [];
      expect(done, first.stderr).toBeDefined();
      const saved = await savedFiles(out);
      expect(saved.length).toBeGreaterThanOrEqual(2);
      expect(saved.length).toBeLessThanOrEqual(Number(done) + Number(inFlight));
      expect(saved.length).toBeLessThan(40);
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
      expect(index.count).toBe(saved.length);
      expect(first.stderr).toMatch(/saved to /);
      const second = await runCli(args);
      expect(second.code, second.stderr).toBe(0);
      expect(await savedFiles(out)).toHaveLength(40);
      // The conversations the signal ended are redone, their calls already made replayed for free.
      const stopped = (await ledger(out)).filter((line) => line.status === "interrupted");
      const paidBefore = stopped.reduce((n, line) => n + line.calls, 0);
      if (paidBefore > 0) expect(second.stderr).toMatch(/\+\d+ replayed from the cache/);
    } finally {
      await server.close();
    }
  }, 90_000);

  it("max_turns above the ceiling is bad input: one line naming the field, exit 2, no call", async () => {
    const server = await startEndlessChatServer({ latencyMs: 0 });
    try {
      const config = join(dir, "too-many.yaml");
      await writeFile(
        config,
        `interaction_generation:\n  max_turns: 100000\n  assistant_model: ${modelBlock(server.url)}\n  user_model: ${modelBlock(server.url)}\n`,
      );
      const result = await runCli(["generate", "--config", config, "--limit", "1"]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/max_turns.*at most 200/);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(server.received).toBe(0);
    } finally {
      await server.close();
    }
  }, 30_000);

  it("a conversation that would outgrow context_window ends as context_full, saved, on an assistant reply", async () => {
    const server = await startEndlessChatServer({ latencyMs: 0 });
    try {
      const config = join(dir, "small-window.yaml");
      await writeFile(
        config,
        `interaction_generation:\n  min_turns: 1\n  max_turns: 200\n  assistant_model: ${modelBlock(server.url, ", context_window: 1500, max_completion_tokens: 200")}\n  user_model: ${modelBlock(server.url, ", max_completion_tokens: 100")}\n`,
      );
      const personas = await personasFile("one.jsonl", 1);
      const out = join(dir, "context-out");
      const result = await runCli([
        "generate",
        "--config",
        config,
        "--personas",
        personas,
        "--out",
        out,
        "--no-cache",
        "-q",
      ]);
      expect(result.code, result.stderr).toBe(0);
      const [file] = await savedFiles(out);
      const saved = JSON.parse(await readFile(join(out, "interactions", file as string), "utf8"));
      expect(saved.metadata.stop_reason).toBe("context_full");
      expect(saved.num_turns).toBeGreaterThan(1);
      expect(saved.messages.at(-1).role).toBe("assistant");
      // It stopped because one more turn (a user message of up to 100 tokens and a reply of up to
      // 200) would not fit on top of the history; one turn earlier it still did.
      const tokens = (messages: Array<{ content: string }>) =>
        Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      expect(tokens(saved.messages) + 100 + 200).toBeGreaterThan(1500);
      expect(tokens(saved.messages.slice(0, -2)) + 100 + 200).toBeLessThanOrEqual(1500);
      expect(server.received).toBeLessThan(2 * 200);
    } finally {
      await server.close();
    }
  }, 60_000);
});
