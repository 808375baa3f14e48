// The whole pipeline against a real local HTTP server speaking the OpenAI API (loopback):
// the reference's output format, exact call counts, faults that lose nothing, kill -9 and
// resume through the real CLI, stdin → NDJSON, and an API key that never leaks.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import { requireBuild, startCli } from "../support/cli.js";
import { waitUntil } from "../support/wait.js";

const SECRET = "sk-test-SECRET-do-not-leak-4242";

function personasJsonl(count: number): string {
  return `${Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      persona_id: `p${i}`,
      persona_features: { role: i % 2 ? "engineer" : "teacher", tech_proficiency: "intermediate" },
      queries: [{ original_query: `How do I organise project number ${i} with a small team?` }],
    }),
  ).join("\n")}\n`;
}

function configFor(server: StandInServer, extra: Record<string, unknown> = {}) {
  const model = {
    provider: "openai",
    model: "stand-in",
    base_url: server.url,
    api_key_env: "CONVOSIM_TEST_KEY",
  };
  return {
    interaction_generation: {
      min_turns: 3,
      max_turns: 3,
      max_workers: 50,
      retry_delay: 0.05,
      call_retries: { count: 6, base_delay: 0.02, max_delay: 0.5 },
      assistant_model: { ...model, max_completion_tokens: 64 },
      user_model: { ...model, max_completion_tokens: 32 },
      ...extra,
    },
  };
}

async function configFile(dir: string, server: StandInServer): Promise<string> {
  const { stringify } = await import("yaml");
  const path = join(dir, "config.yaml");
  await writeFile(path, stringify(configFor(server)));
  return path;
}

function run(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return startCli(args, { ...options, env: { CONVOSIM_TEST_KEY: SECRET, ...options.env } });
}

let dir: string;
beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "convosim-pipeline-"));
  process.env.CONVOSIM_TEST_KEY = SECRET;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pipeline against the OpenAI-compatible stand-in server", () => {
  it("saves 200 three-turn conversations in the reference's format with exactly 5 calls each", async () => {
    const server = await startStandInServer({ latency: { kind: "fixed", ms: 5 } });
    try {
      const out = join(dir, "two-hundred");
      const personas = join(dir, "p200.jsonl");
      await writeFile(personas, personasJsonl(200));
      const summary = await generate({
        config: ConvosimConfig.parse(configFor(server)),
        personas,
        out,
        cache: false,
      });
      expect(summary).toMatchObject({ done: 200, failed: 0, calls: 1000 });
      expect(server.stats.completions).toBe(1000);
      const files = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
      expect(files).toHaveLength(200);
      const one = JSON.parse(await readFile(join(out, "interactions", files[0]!), "utf8"));
      expect(Object.keys(one)).toEqual(
        expect.arrayContaining([
          "interaction_id",
          "persona_id",
          "persona_features",
          "original_query",
          "initial_query",
          "messages",
          "num_turns",
          "metadata",
        ]),
      );
      expect(one.num_turns).toBe(3);
      expect(one.messages.map((m: { role: string }) => m.role)).toEqual([
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
      ]);
      expect(one.metadata.assistant_model).toEqual({ provider: "openai", model: "stand-in" });
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
      expect(index.count).toBe(200);
      expect(index.interactions[0]).toEqual(
        expect.objectContaining({
          interaction_id: expect.any(String),
          filepath: expect.any(String),
          num_turns: 3,
          query_id: expect.any(String),
        }),
      );
    } finally {
      await server.close();
    }
  }, 60_000);

  it("loses nothing when 5% of calls answer 500/503 and others 429 with Retry-After", async () => {
    const server = await startStandInServer({
      latency: { kind: "fixed", ms: 2 },
      seed: 3,
      faults: { serverErrorRate: 0.05, rateLimitRate: 0.03, retryAfterSeconds: 0.2 },
    });
    try {
      const personas = join(dir, "p100.jsonl");
      await writeFile(personas, personasJsonl(100));
      const out = join(dir, "faults");
      const summary = await generate({
        config: ConvosimConfig.parse(configFor(server)),
        personas,
        out,
        cache: false,
      });
      expect(summary.failed).toBe(0);
      expect(summary.done).toBe(100);
      expect((server.stats.byStatus["500"] ?? 0) + (server.stats.byStatus["503"] ?? 0)).toBeGreaterThan(0);
      expect(server.stats.byStatus["429"] ?? 0).toBeGreaterThan(0);
      expect(server.stats.byStatus["200"]).toBe(500); // failed attempts retried, no turn paid twice
      expect((await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"))).toHaveLength(100);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("resumes after kill -9: every interaction exactly once, at most the in-flight ones paid twice", async () => {
    const server = await startStandInServer({ latency: { kind: "fixed", ms: 40 } });
    try {
      const personas = join(dir, "p150.jsonl");
      await writeFile(personas, personasJsonl(150));
      const config = await configFile(dir, server);
      const out = join(dir, "killed");
      const args = [
        "generate",
        "--config",
        config,
        "--personas",
        personas,
        "--out",
        out,
        "--max-workers",
        "20",
        "-q",
      ];
      const first = run(args);
      // Kill as soon as some, but not all, conversations are saved (bounded: a child that dies or
      // stalls fails the test with what it waited for, instead of polling until the test timeout).
      await waitUntil(async () => {
        if (first.child.exitCode !== null)
          throw new Error(`the run exited (${first.child.exitCode}) before the kill`);
        const saved = existsSync(join(out, "interactions"))
          ? (await readdir(join(out, "interactions"))).length
          : 0;
        return saved >= 30;
      }, "30 saved conversations");
      first.child.kill("SIGKILL");
      expect((await first.done).signal).toBe("SIGKILL");
      const callsBefore = server.stats.completions;
      const second = await run(args).done;
      expect(second.code).toBe(0);
      const files = (await readdir(join(out, "interactions"))).filter((f) => f.endsWith(".json"));
      expect(files).toHaveLength(150);
      expect(new Set(files).size).toBe(150);
      for (const name of files) JSON.parse(await readFile(join(out, "interactions", name), "utf8")); // none corrupt
      const paidTwice = server.stats.completions - 150 * 5;
      expect(paidTwice).toBeGreaterThanOrEqual(0);
      // Paid twice: at most the conversations not yet on disk at the kill — max_workers (20) in
      // flight plus those finished but still being written by the files sink (16 writes at a time).
      expect(paidTwice).toBeLessThanOrEqual((20 + 16) * 5);
      expect(callsBefore).toBeGreaterThan(0);
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
      expect(index.count).toBe(150);
    } finally {
      await server.close();
    }
  }, 90_000);

  it("reads personas from stdin and writes NDJSON to stdout; the key never reaches outputs or logs", async () => {
    const server = await startStandInServer({ latency: { kind: "fixed", ms: 1 } });
    try {
      const config = await configFile(dir, server);
      const piped = run(["generate", "--config", config, "--personas", "-"], { input: personasJsonl(12) });
      const { code, stdout, stderr } = await piped.done;
      expect(code).toBe(0);
      const lines = stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(12);
      expect(lines.every((l) => l.num_turns === 3)).toBe(true);
      expect(stdout + stderr).not.toContain(SECRET);
      const out = join(dir, "two-hundred");
      for (const name of await readdir(out)) {
        if (name.endsWith(".json") || name.endsWith(".ndjson"))
          expect(await readFile(join(out, name), "utf8")).not.toContain(SECRET);
      }
    } finally {
      await server.close();
    }
  }, 60_000);

  it("exits 2 with a short message and no model call for a missing key variable", async () => {
    const server = await startStandInServer({});
    try {
      const config = await configFile(dir, server);
      const r = run(["generate", "--config", config, "--personas", "-"], {
        input: personasJsonl(1),
        env: { CONVOSIM_TEST_KEY: "" },
      });
      const { code, stderr } = await r.done;
      expect(code).toBe(2);
      expect(stderr).toMatch(/CONVOSIM_TEST_KEY/);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(server.stats.requests).toBe(0);
    } finally {
      await server.close();
    }
  });
});
