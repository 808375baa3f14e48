// A throwaway redis-server for the queue bench (as test/queue/real-redis.ts does for the tests):
// a free loopback port, no persistence, a temp directory, never the system service. Plus the
// few reads the bench makes of it (INFO sections as key → value).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { sleep } from "./measure.js";

export interface BenchRedis {
  url: string;
  port: number;
  /** A client for the bench's own reads (counted in commandstats only if used during a run). */
  client: Redis;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server; undefined when it is not installed (the scenario is then skipped). */
export async function startBenchRedis(): Promise<BenchRedis | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "convosim-bench-redis-"));
  const port = await freePort();
  let exited = false;
  let server: ChildProcess;
  try {
    server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const spawnFailed = new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(true));
    server.once("exit", () => {
      exited = true;
      resolve(true);
    });
  });
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch {
      client.disconnect();
      if (exited || Date.now() > deadline) {
        server.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
        await Promise.race([spawnFailed, sleep(100)]);
        return undefined;
      }
      await sleep(50);
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client,
    stop: async () => {
      client.disconnect();
      if (!exited) {
        const gone = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One INFO section as key → value (numbers where they are numbers). */
export async function info(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#")) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

export interface CommandStat {
  command: string;
  calls: number;
  usec: number;
}

/**
 * INFO commandstats, busiest first. Redis counts the commands a Lua script runs (redis.call)
 * under their own names as well as the EVALSHA that ran them.
 */
export async function commandStats(client: Redis): Promise<CommandStat[]> {
  const raw = await info(client, "commandstats");
  const stats: CommandStat[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith("cmdstat_")) continue;
    const fields = Object.fromEntries(value.split(",").map((kv) => kv.split("=") as [string, string]));
    stats.push({ command: key.slice(8), calls: Number(fields.calls), usec: Number(fields.usec) });
  }
  return stats.sort((a, b) => b.calls - a.calls);
}

export async function usedMemory(client: Redis): Promise<{ used: number; rss: number; peak: number }> {
  const m = await info(client, "memory");
  return { used: Number(m.used_memory), rss: Number(m.used_memory_rss), peak: Number(m.used_memory_peak) };
}
