// Runs the built CLI (bin/convosim → dist/) as a child process and collects its output.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, staleness } from "./dist-freshness.js";

export const BIN = join(ROOT, "bin/convosim");

/** Fails the calling test file when dist/ is missing or older than src/ (the global setup rebuilds it). */
export function requireBuild(): void {
  const stale = staleness();
  if (stale)
    throw new Error(
      `${stale}: run \`npm run build\` (the test run's global setup does, unless CONVOSIM_TEST_NO_BUILD=1)`,
    );
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  // `--` as in bin/convosim's first line: node must not read the CLI's --env-file as its own.
  const child = spawn(process.execPath, ["--", BIN, ...args], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd ?? ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.on("error", () => {}); // the CLI may exit before reading stdin
  child.stdin.end(options.input ?? "");
  const done = new Promise<CliRun>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export function runCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliRun> {
  return startCli(args, options).done;
}
