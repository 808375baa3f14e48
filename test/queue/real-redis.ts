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
export async function startRedis(port?: number): Promise<RealRedis> {
  const dir = mkdtempSync(join(tmpdir(), "convosim-redis-"));
  port ??= await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const server: ChildProcess = spawn("redis-server", [...args, "--dir", dir], { stdio: "ignore" });
  let exited = false;
  server.once("exit", () => {
    exited = true;
  });
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (exited || Date.now() > deadline) {
      server.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start on port ${port} (installed? sh scripts/setup-redis.sh)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const listening = port;
  return {
    port: listening,
    url: `redis://127.0.0.1:${listening}`,
    stop: async () => {
      if (!exited) {
        const gone = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
