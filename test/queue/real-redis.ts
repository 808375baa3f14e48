// A real redis-server for integration tests: on a free loopback port (Redis has no "--port 0",
// so a port is found by binding a socket first and closing it), with no persistence, in a temp
// directory, stopped and removed afterwards. Never the system service. scripts/setup-redis.sh
// installs Debian's redis-server (npm run setup:test-tools).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RealRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  /**
   * Stops it and starts it again on the same port and folder: "graceful" (SIGTERM: with
   * persistence on, Redis writes its snapshot first) or "crash" (SIGKILL: what was not
   * snapshotted is gone; without persistence, everything).
   */
  restart(how: "graceful" | "crash"): Promise<void>;
}

export interface StartRedisOptions {
  /** Redis's default persistence (RDB snapshots, written on a graceful shutdown); default off. */
  persist?: boolean;
}

export function freePort(): Promise<number> {
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

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/** Starts one; `port` to start it again where a stopped one was (a Redis restart). */
export async function startRedis(port?: number, options: StartRedisOptions = {}): Promise<RealRedis> {
  const dir = mkdtempSync(join(tmpdir(), "convosim-redis-"));
  port ??= await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--appendonly", "no"];
  if (!options.persist) args.push("--save", "");
  let server: ChildProcess;
  let exited = false;
  const launch = async () => {
    server = spawn("redis-server", [...args, "--dir", dir], { stdio: "ignore" });
    exited = false;
    server.once("exit", () => {
      exited = true;
    });
    await untilAnswering(port as number, server, () => exited, dir);
  };
  await launch();
  const listening = port;
  const halt = async (signal: NodeJS.Signals) => {
    if (exited) return;
    const gone = new Promise((r) => server.once("exit", r));
    server.kill(signal);
    await gone;
  };
  return {
    port: listening,
    url: `redis://127.0.0.1:${listening}`,
    stop: async () => {
      await halt("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async (how) => {
      await halt(how === "graceful" ? "SIGTERM" : "SIGKILL");
      await launch();
    },
  };
}

async function untilAnswering(port: number, server: ChildProcess, exited: () => boolean, dir: string) {
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (exited() || Date.now() > deadline) {
      server.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start on port ${port} (installed? sh scripts/setup-redis.sh)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
