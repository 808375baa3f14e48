// Endpoint health through the whole pipeline, against real loopback HTTP servers speaking the
// OpenAI API: a body cut short is retried and counted; an endpoint that is down or refuses the
// key stops being called at once; a Retry-After over the ceiling fails fast instead of stalling.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { from } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";
import { formatProgress, ProgressTracker } from "../../src/operators/progress.js";
import { generate } from "../../src/run/generate.js";
import { ConvosimConfig } from "../../src/schema/config.js";
import type { Persona } from "../../src/schema/persona.js";
import { requireBuild, runCli } from "../support/cli.js";

const servers: Array<{ close(): unknown }> = [];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "convosim-endpoint-health-"));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

function personas(count: number): Persona[] {
  return Array.from({ length: count }, (_, i) => ({
    persona_id: `p${i}`,
    persona_features: { role: "engineer" },
    queries: [{ original_query: `How do I organise project number ${i} with a small team?` }],
  })) as Persona[];
}

function configFor(
  baseUrl: string,
  extra: { transport?: "sdk" | "undici"; ig?: Record<string, unknown> } = {},
) {
  const model = {
    provider: "openai",
    model: "stand-in",
    base_url: baseUrl,
    ...(extra.transport ? { transport: extra.transport } : {}),
  };
  return ConvosimConfig.parse({
    interaction_generation: {
      min_turns: 1,
      max_turns: 1,
      max_workers: 4,
      max_retries: 0, // only callModel's own retries: the call must recover by itself
      retry_delay: 0.01,
      call_retries: { count: 3, base_delay: 0.01, max_delay: 0.05 },
      assistant_model: { ...model, max_completion_tokens: 64 },
      user_model: { ...model, max_completion_tokens: 32 },
      ...extra.ig,
    },
  });
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string, index: number) => void;

/** A loopback server whose every request goes through `route`; `requests` counts them. */
async function serve(route: Route): Promise<{ url: string; requests: () => number }> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => route(req, res, Buffer.concat(chunks).toString("utf8"), count++));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests: () => count };
}

/** Forwards a request to the stand-in server and relays its answer. */
async function forward(standIn: StandInServer, req: IncomingMessage, res: ServerResponse, body: string) {
  const answer = await fetch(`${standIn.url}${req.url?.replace(/^\/v1/, "") ?? ""}`, {
    method: req.method ?? "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await answer.text();
  res.writeHead(answer.status, { "content-type": "application/json" });
  res.end(text);
}

let standIn: StandInServer;
beforeAll(async () => {
  standIn = await startStandInServer();
  servers.push(standIn);
});

describe("a connection reset mid-body (case 8)", () => {
  it.each(["sdk", "undici"] as const)(
    "is retried and counted on the %s transport: the conversation succeeds, every call made counts",
    async (transport) => {
      const proxy = await serve((req, res, body, index) => {
        if (index === 0) {
          // Headers and half a body, then the socket destroyed: the first attempt only.
          const half = JSON.stringify({ choices: [{ message: { content: "x".repeat(4000) } }] });
          res.writeHead(200, { "content-type": "application/json", "content-length": String(half.length) });
          res.write(half.slice(0, half.length / 2), () => setImmediate(() => res.socket?.destroy()));
          return;
        }
        void forward(standIn, req, res, body);
      });
      const summary = await generate({
        config: configFor(proxy.url, { transport }),
        personas: from(personas(1)),
        ndjson: join(dir, `reset-${transport}.ndjson`),
        cache: false,
      });
      expect(summary.failures).toEqual([]);
      expect(summary.done).toBe(1);
      // One turn: assistant reply, then the simulated user's stop or follow-up is not asked
      // (max_turns 1) — so 1 conversation call succeeded after 1 that was cut short.
      expect(proxy.requests()).toBe(summary.calls);
      expect(summary.calls).toBeGreaterThanOrEqual(2);
      const [line] = (await readFile(join(dir, `reset-${transport}.ndjson`), "utf8")).trim().split("\n");
      const usage = (JSON.parse(line ?? "{}") as { metadata: { usage: Array<Record<string, unknown>> } })
        .metadata.usage;
      expect(usage).toHaveLength(summary.calls);
      expect(usage[0]).toMatchObject({ operation: "assistant_response", failed: "connection", cost_usd: 0 });
    },
  );
});

/** A loopback port with nothing listening: every connection is refused (ECONNREFUSED). */
async function closedPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/v1`;
}

describe("an endpoint that is down or refuses the key (case 7)", () => {
  it("a refused connection stops the run within seconds, saves nothing for conversations never run, names the reason", async () => {
    const url = await closedPort();
    const out = join(dir, "down");
    const started = Date.now();
    const summary = await generate({
      config: configFor(url, {
        ig: { max_workers: 8, call_retries: { count: 4, base_delay: 0.5, max_delay: 4 } },
      }),
      personas: from(personas(32)),
      out,
      cache: false,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(15);
    expect(summary.endpointsDown).toEqual([
      { endpoint: url, kind: "endpoint_down", reason: "connection refused (ECONNREFUSED) after 5 attempts" },
    ]);
    expect(summary.done).toBe(0);
    // No conversation got to make a call: none is saved as a failure, all can be rerun.
    expect(summary.failed).toBe(0);
    expect(summary.notStarted).toBe(32);
    expect(summary.calls).toBe(0);
    const failures = await readFile(join(out, "failures.ndjson"), "utf8").catch(() => "");
    expect(failures).toBe("");
  });

  it("a rerun once the endpoint is back does every conversation the down endpoint left", async () => {
    const out = join(dir, "rerun");
    const first = await generate({
      config: configFor(await closedPort()),
      personas: from(personas(10)),
      out,
      cache: false,
    });
    expect(first.notStarted).toBe(10);
    const second = await generate({
      config: configFor(standIn.url), // the stand-in's URL ends in /v1
      personas: from(personas(10)),
      out,
      cache: false,
    });
    expect(second).toMatchObject({ done: 10, failed: 0, skipped: 0, notStarted: 0, endpointsDown: [] });
  });

  it("port 9 on the SDK's fetch ('bad port') takes the endpoint out at once; the conversation that met it is not saved either", async () => {
    const out = join(dir, "bad-port");
    const summary = await generate({
      config: configFor("http://127.0.0.1:9/v1", { transport: "sdk", ig: { max_workers: 8 } }),
      personas: from(personas(12)),
      out,
      cache: false,
    });
    expect(summary.endpointsDown).toEqual([
      {
        endpoint: "http://127.0.0.1:9/v1",
        kind: "endpoint_down",
        reason: "port refused by fetch (BAD_PORT) after 1 attempt",
      },
    ]);
    expect(summary).toMatchObject({ done: 0, failed: 0, notStarted: 12, calls: 0 });
    expect(await readFile(join(out, "failures.ndjson"), "utf8").catch(() => "")).toBe("");
  });

  it("a 401 costs one request, not one per conversation", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
    });
    const summary = await generate({
      config: configFor(`${server.url}/v1`, { ig: { max_workers: 20 } }),
      personas: from(personas(100)),
      ndjson: join(dir, "auth.ndjson"),
      cache: false,
    });
    expect(server.requests()).toBe(1);
    expect(summary.endpointsDown).toEqual([
      { endpoint: `${server.url}/v1`, kind: "auth", reason: "authentication failed (HTTP 401)" },
    ]);
    // The conversation whose call was refused is saved (it made a call); the other 99 never ran.
    expect(summary.failed).toBe(1);
    expect(summary.failures[0]?.error_kind).toBe("auth");
    expect(summary.notStarted).toBe(99);
    expect(summary.calls).toBe(1);
  });
});

describe("the CLI on an endpoint given up on (case 7)", () => {
  beforeAll(() => requireBuild()); // the CLI runs from dist/
  async function cliRun(baseUrl: string, name: string) {
    const { stringify } = await import("yaml");
    const config = join(dir, `${name}.yaml`);
    const personasFile = join(dir, `${name}.jsonl`);
    await writeFile(
      config,
      stringify({
        interaction_generation: {
          min_turns: 1,
          max_turns: 1,
          max_workers: 8,
          assistant_model: { provider: "openai", model: "m", base_url: baseUrl },
          user_model: { provider: "openai", model: "m", base_url: baseUrl },
        },
      }),
    );
    await writeFile(
      personasFile,
      `${personas(30)
        .map((p) => JSON.stringify(p))
        .join("\n")}\n`,
    );
    return runCli([
      "generate",
      "--config",
      config,
      "--personas",
      personasFile,
      "--out",
      join(dir, `${name}-out`),
      "--no-cache",
    ]);
  }

  it("a down endpoint: exit 3, its reason and what a rerun does, within 15 s", async () => {
    const url = await closedPort();
    const started = Date.now();
    const run = await cliRun(url, "cli-down");
    expect((Date.now() - started) / 1000).toBeLessThan(15);
    expect(run.stderr).toContain(
      `endpoint ${url} down: connection refused (ECONNREFUSED) after 5 attempts; 30 conversations not started — rerun to retry`,
    );
    expect(run.code).toBe(3);
  });

  it("a refused key: exit 2, one request", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
    });
    const run = await cliRun(`${server.url}/v1`, "cli-auth");
    expect(server.requests()).toBe(1);
    expect(run.stderr).toContain(
      `endpoint ${server.url}/v1 refused the key: authentication failed (HTTP 401); 29 conversations not started — rerun to retry`,
    );
    expect(run.code).toBe(2);
  });
});

describe("Retry-After: a ceiling, and pauses shown (case 5)", () => {
  /** Answers the first request with a 429 (quota spent, Retry-After), forwards the rest. */
  const throttleFirst = (retryAfterS: number) =>
    serve((req, res, body, index) => {
      if (index === 0) {
        res.writeHead(429, {
          "content-type": "application/json",
          "retry-after": String(retryAfterS),
          "x-ratelimit-remaining-requests": "0",
        });
        res.end(JSON.stringify({ error: { message: "Rate limit reached" } }));
        return;
      }
      void forward(standIn, req, res, body);
    });

  it("a Retry-After over max_retry_after fails fast with its reason instead of stalling the run", async () => {
    const server = await throttleFirst(3600);
    const started = Date.now();
    const summary = await generate({
      config: configFor(`${server.url}/v1`, { ig: { max_workers: 4 } }),
      personas: from(personas(6)),
      ndjson: join(dir, "retry-after-3600.ndjson"),
      cache: false,
    });
    expect((Date.now() - started) / 1000).toBeLessThan(10);
    expect(server.requests()).toBe(1);
    expect(summary.endpointsDown).toEqual([
      {
        endpoint: `${server.url}/v1`,
        kind: "endpoint_down",
        reason: "rate limited with Retry-After 3600 s, over call_retries.max_retry_after (60 s)",
      },
    ]);
    expect(summary.failures.map((f) => f.error_kind)).toEqual(["endpoint_down"]);
    expect(summary.failures[0]?.reason).toMatch(
      /Retry-After 3600 s is over call_retries.max_retry_after, 60 s/,
    );
    expect(summary.notStarted).toBe(5);
  });

  it("a pause of a few seconds is on the progress snapshot with its reason and remaining time", async () => {
    const server = await throttleFirst(4);
    const pauses: Array<{ reason: string; remainingMs: number }> = [];
    const summary = await generate({
      config: configFor(`${server.url}/v1`, { ig: { max_workers: 2 } }),
      personas: from(personas(2)),
      ndjson: join(dir, "retry-after-4.ndjson"),
      cache: false,
      progressIntervalMs: 100,
      onProgress: (snapshot) => {
        if (snapshot.pause) pauses.push(snapshot.pause);
      },
    });
    expect(summary.done).toBe(2);
    expect(pauses.length).toBeGreaterThan(0);
    const host = new URL(server.url).host;
    expect(pauses[0]?.reason).toBe(`rate limited by ${host} (Retry-After)`);
    expect(pauses[0]?.remainingMs).toBeGreaterThan(0);
    expect(pauses[0]?.remainingMs).toBeLessThanOrEqual(4000);
    expect(
      formatProgress({
        ...pausedSnapshot(),
        pause: { reason: pauses[0]!.reason, remainingMs: 3500, waiting: 1 },
      }),
    ).toContain(`paused 4s: rate limited by ${host} (Retry-After)`);
  });
});

function pausedSnapshot() {
  return new ProgressTracker().snapshot();
}
