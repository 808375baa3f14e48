// The cluster-wide rate limit against a real redis-server, with separate Node processes taking
// permits (test/queue/fixtures/take-permits.mjs, through dist/): together they stay under the cap,
// and a pause one of them publishes (a 429's Retry-After) holds the others too.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SharedAdmissions, sharedAdmissionFor, sharedBudgetKeys } from "../../src/queue/shared-rate-limit.js";
import { ROOT } from "../support/dist-freshness.js";
import { type RealRedis, startRedis } from "./real-redis.js";

const TAKER = join(import.meta.dirname, "fixtures/take-permits.mjs");

interface TakerReport {
  grants: number[];
  pauseSeen: number;
  publishedAt?: number;
  stats: { granted: number; redisErrors: number };
}

interface Taker {
  /** Resolves once the process printed `line` (or rejects if it ended first). */
  said(line: string): Promise<void>;
  go(endAt: number): void;
  report: Promise<TakerReport>;
}

/** A taker process, started and connected to Redis; it asks for permits once told to go. */
async function taker(port: number, key: string, rpm: number, wanted: number, mode?: string): Promise<Taker> {
  const args = [TAKER, String(port), key, String(rpm), String(wanted)];
  if (mode !== undefined) args.push(mode);
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const seen: string[] = [];
  const waiters: Array<() => void> = [];
  lines.on("line", (line) => {
    seen.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const said = async (line: string) => {
    while (!seen.includes(line)) {
      const next = new Promise<void>((resolve) => waiters.push(resolve));
      const gone = await Promise.race([next.then(() => false), ended.then(() => true)]);
      if (gone && !seen.includes(line))
        throw new Error(`taker ended before saying ${line}: ${seen.join(" | ")}`);
    }
  };
  await said("ready");
  return {
    said,
    go: (endAt) => child.stdin.end(`${JSON.stringify({ endAt })}\n`),
    report: ended.then(() => JSON.parse(seen.at(-1) ?? "null") as TakerReport),
  };
}

let redis: RealRedis;

/**
 * The processes run dist/ (the global setup rebuilds a stale one): refuse a build older than
 * the sources under test, which the whole-dist check would also do for unrelated files.
 */
function requireSharedRateLimitBuild(): void {
  for (const name of ["shared-rate-limit", "shared-rate-limit-scripts"]) {
    const built = join(ROOT, `dist/src/queue/${name}.js`);
    const source = join(ROOT, `src/queue/${name}.ts`);
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs)
      throw new Error(`dist/src/queue/${name}.js is missing or older than its source: run \`npm run build\``);
  }
}

beforeAll(async () => {
  requireSharedRateLimitBuild();
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe("shared rate limit across processes (real redis-server)", () => {
  it("three processes asking for 200 permits each stay within the cap over the window", async () => {
    const rpm = 1200; // 20 a second; burst 0.25 s = 5 permits
    const windowMs = 5000;
    const takers = await Promise.all(
      [0, 1, 2].map(() => taker(redis.port, "openai|http://127.0.0.1:1/v1|KEY", rpm, 200)),
    );
    // All three connected: they start together now.
    const startAt = Date.now();
    const endAt = startAt + windowMs;
    for (const t of takers) t.go(endAt);
    const reports = await Promise.all(takers.map((t) => t.report));
    const inWindow = reports.flatMap((report) => report.grants.filter((t) => t >= startAt && t <= endAt));
    const total = reports.reduce((sum, report) => sum + report.grants.length, 0);
    const cap = (rpm / 60_000) * windowMs; // 100
    const burst = (rpm / 60) * 0.25;
    // A grant is stamped after Redis answered; a late one may fall just outside the window.
    expect(total).toBeLessThanOrEqual(cap + burst + 2);
    // Unshared, three processes would have taken 3 × 100; a loaded machine may take fewer than the cap.
    expect(inWindow.length).toBeGreaterThanOrEqual(cap * 0.6);
    for (const report of reports) {
      expect(report.stats.redisErrors).toBe(0);
      expect(report.grants.length).toBeGreaterThan(0); // every process got a share
    }
  }, 60_000);

  it("a 429 in one process pauses the others for its Retry-After", async () => {
    const pauseMs = 1500;
    const key = "openai|http://127.0.0.1:2/v1|KEY";
    // The first process's first call is answered with a 429; the others start asking once its
    // pause is in Redis.
    const [pauserTaker, ...otherTakers] = await Promise.all([
      taker(redis.port, key, 600, 1, `pause:${pauseMs}`),
      taker(redis.port, key, 600, 5, "watch"),
      taker(redis.port, key, 600, 5, "watch"),
    ]);
    pauserTaker!.go(Date.now() + 3000);
    await pauserTaker!.said("published");
    const endAt = Date.now() + pauseMs + 2000;
    for (const t of otherTakers) t.go(endAt);
    const [pauser, ...others] = await Promise.all([pauserTaker!.report, ...otherTakers.map((t) => t.report)]);
    expect(pauser.publishedAt).toBeDefined();
    const pauseEnd = pauser.publishedAt! + pauseMs;
    for (const other of others) {
      expect(other.pauseSeen).toBeGreaterThan(0);
      expect(other.grants.length).toBeGreaterThan(0); // and they go on after it
      // Redis's clock and ours agree on one host; allow a little for the round trips.
      expect(Math.min(...other.grants)).toBeGreaterThanOrEqual(pauseEnd - 50);
    }
  }, 60_000);
});

describe("shared rate limit in one process (real redis-server)", () => {
  it("a grant withdrawn before it is used keeps no permit queued; tokens are corrected by usage", async () => {
    const client = new Redis({ port: redis.port, host: "127.0.0.1" });
    try {
      const key = "openai|http://127.0.0.1:3/v1|KEY";
      const admission = sharedAdmissionFor(client, key, { tpm: 60_000 }); // 1 000 a second, burst 250
      const release = await new Promise<(o: object) => void>((resolve) =>
        admission.admit({ priority: 0, tokens: 200 }).subscribe(resolve),
      );
      const level = async () => Number(await client.hget(sharedBudgetKeys(key).tokens, "level"));
      expect(await level()).toBeLessThanOrEqual(51); // 250 - 200 (plus a few ms of refill)
      release({ usage: { prompt_tokens: 20, completion_tokens: 10 } }); // 170 given back
      await new Promise((r) => setTimeout(r, 100));
      expect(await level()).toBeGreaterThan(200);
      admission.close();
    } finally {
      await client.quit();
    }
  });

  it("with no limit anywhere, calls go on without a Redis round trip each; a pause from elsewhere still lands", async () => {
    const client = new Redis({ port: redis.port, host: "127.0.0.1" });
    const other = new Redis({ port: redis.port, host: "127.0.0.1" });
    try {
      const key = "openai|http://127.0.0.1:6/v1|KEY";
      const admission = sharedAdmissionFor(client, key, {}, { openForMs: 300 });
      const take = () =>
        new Promise<(o: object) => void>((resolve) =>
          admission.admit({ priority: 0, tokens: 0 }).subscribe(resolve),
        );
      const scriptCalls = async () => {
        const line = (await client.info("commandstats"))
          .split("\n")
          .find((l) => l.startsWith("cmdstat_evalsha:"));
        return Number(/calls=(\d+)/.exec(line ?? "")?.[1] ?? 0);
      };
      const before = await scriptCalls();
      for (let i = 0; i < 50; i++) (await take())({ usage: { prompt_tokens: 1, completion_tokens: 1 } });
      // One round trip said "no limit": the rest started without one (a loaded machine may need a few more).
      expect((await scriptCalls()) - before).toBeLessThanOrEqual(5);
      // A 429 in another worker pauses the endpoint: within openForMs this one asks again and waits.
      await sharedAdmissionFor(other, key).publishPause(1500);
      await new Promise((r) => setTimeout(r, 350));
      const asked = Date.now();
      await take();
      expect(Date.now() - asked).toBeGreaterThanOrEqual(700);
      // With a configured limit, every call asks (the bucket is the limit).
      const limited = sharedAdmissionFor(client, "openai|http://127.0.0.1:7/v1|KEY", { rpm: 60_000 });
      const beforeLimited = await scriptCalls();
      for (let i = 0; i < 20; i++)
        await new Promise((resolve) => limited.admit({ priority: 0, tokens: 0 }).subscribe(resolve));
      expect((await scriptCalls()) - beforeLimited).toBeGreaterThanOrEqual(20);
      admission.close();
      limited.close();
    } finally {
      await client.quit();
      await other.quit();
    }
  });

  it("learned limits from x-ratelimit headers pace an endpoint without a configured one", async () => {
    const client = new Redis({ port: redis.port, host: "127.0.0.1" });
    try {
      const key = "openai|http://127.0.0.1:4/v1|KEY";
      const admission = sharedAdmissionFor(client, key);
      await admission.learn({ limitRequests: 120, remainingRequests: 0 }); // 2 a second, nothing left
      const started = Date.now();
      await new Promise((resolve) => admission.admit({ priority: 0, tokens: 0 }).subscribe(resolve));
      // The shared level was lowered to 0: the first permit refills in 1/2 s.
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(await client.hget(sharedBudgetKeys(key).learned, "rpm")).toBe("120");
      admission.close();
    } finally {
      await client.quit();
    }
  });

  it("waits through a Redis restart instead of failing the call", async () => {
    const restarting = await startRedis();
    const client = new Redis({ port: restarting.port, host: "127.0.0.1", retryStrategy: () => 100 });
    client.on("error", () => {}); // reconnecting is expected here
    const errors: unknown[] = [];
    const admission = sharedAdmissionFor(
      client,
      "openai|http://127.0.0.1:5/v1|KEY",
      { rpm: 600 },
      {
        retryMs: 100,
        onRedisError: (error) => errors.push(error),
      },
    );
    let again: RealRedis | undefined;
    try {
      await new Promise((resolve) => admission.admit({ priority: 0, tokens: 0 }).subscribe(resolve));
      await restarting.stop();
      let granted = false;
      admission.admit({ priority: 0, tokens: 0 }).subscribe(() => {
        granted = true;
      });
      await new Promise((r) => setTimeout(r, 600));
      expect(granted).toBe(false);
      again = await startRedis(restarting.port);
      const deadline = Date.now() + 10_000;
      while (!granted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(granted).toBe(true);
    } finally {
      admission.close();
      client.disconnect();
      await again?.stop();
    }
  }, 30_000);

  it("one shared admission per endpoint in a process; the smaller configured limit wins", async () => {
    const client = new Redis({ port: redis.port, host: "127.0.0.1" });
    const admissions = new SharedAdmissions(client);
    try {
      const key = "openai|http://127.0.0.1:6/v1|KEY";
      const first = admissions.for(key, { rpm: 6000 });
      expect(admissions.for(key, { rpm: 120 })).toBe(first);
      expect(admissions.for("openai|http://127.0.0.1:7/v1|KEY")).not.toBe(first);
      // rpm 120 (not 6000): a burst of 0.5 permit rounds up to 1, then one every 500 ms.
      const started = Date.now();
      for (let i = 0; i < 2; i++)
        await new Promise((resolve) => first.admit({ priority: 0, tokens: 0 }).subscribe(resolve));
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    } finally {
      admissions.close();
      await client.quit();
    }
  });
});
