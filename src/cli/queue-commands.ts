// The command line of the queue (src/queue/): `generate --queue URL` as the coordinator and
// `worker --queue URL`. Bad input — an unreachable Redis, a missing key variable — is one line
// and exit 2 through reportError, like every other command. The queue's modules (BullMQ, ioredis)
// are imported when a queued run or a worker starts, never by a local run or by --help.
import type { Command } from "commander";
import { InputError } from "../config/errors.js";
import type { ProgressSnapshot } from "../operators/progress.js";
import type { CoordinateOptions } from "../queue/coordinator.js";
import { EXIT } from "./fail.js";

/** generate --queue: the same folder, files, progress and exit codes as a local run, with the work done by workers. */
export async function runCoordinator(
  url: string,
  options: Omit<CoordinateOptions, "connection" | "stopSignal" | "onProgress" | "onNotice">,
  display: { quiet: boolean; total?: number },
): Promise<number> {
  const { describeUrl, parseQueueUrl } = await import("../queue/connection.js");
  const { coordinate } = await import("../queue/coordinator.js");
  const { liveProgress, progressDisplay } = await import("./progress-display.js");
  const { outputPaths } = await import("../sinks/layout.js");
  const connection = parseQueueUrl(url);
  const printer = display.quiet
    ? undefined
    : await progressDisplay(process.stderr, {
        ...(display.total !== undefined ? { total: display.total } : {}),
        live: liveProgress(process.stderr, process.stdout, false),
        failuresAt: outputPaths(options.out).failures,
      });
  const say = (line: string) => (printer ? printer.note(line) : process.stderr.write(`${line}\n`));
  if (!display.quiet)
    say(
      `coordinator: queueing tasks on ${describeUrl(url)}; start workers with \`convosim worker --queue ${describeUrl(url)}\``,
    );
  // First signal: queue nothing more and stop waiting (what workers finish stays in Redis for a
  // rerun to save); second: exit at once.
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      say("stopping: no new conversation is queued; results not back yet stay in Redis (rerun to save them)");
      stop.abort();
    } else process.exit(EXIT.interrupted);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const summary = await coordinate({
      ...options,
      connection,
      onNotice: say,
      stopSignal: stop.signal,
      ...(printer ? { onProgress: (s: ProgressSnapshot) => printer.update(s) } : {}),
    });
    printer?.end(summary);
    if (!display.quiet) {
      const left =
        summary.leftInQueue > 0 ? `; ${summary.leftInQueue} queued or on workers (rerun to save them)` : "";
      say(
        `${summary.done} done, ${summary.failed} failed, ${summary.skipped} skipped (saved earlier); saved to ${options.out}/ (index: ${options.out}/index.json)${left}`,
      );
    }
    const { runExitCode } = await import("./run-exit.js");
    return runExitCode(summary);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

interface WorkerCommandOptions {
  queue: string;
  concurrency?: number;
  cache?: boolean;
  cacheDir?: string;
}

export function registerWorkerCommand(
  program: Command,
  setExit: (code: number) => void,
  integer: (name: string, min: number) => (value: string) => number,
): void {
  program
    .command("worker")
    .description("run conversations for the run a coordinator (generate --queue) started on this Redis")
    .requiredOption("--queue <url>", "redis://HOST:PORT[/DB] of the run")
    .option(
      "--concurrency <n>",
      "conversations in flight here (default: the run's max_workers)",
      integer("--concurrency", 1),
    )
    .option("--cache-dir <dir>", "response cache folder (default: ~/.cache/convosim/responses)")
    .option("--no-cache", "neither read nor write the response cache")
    .action(async (options: WorkerCommandOptions) => {
      setExit(await workerCommand(options));
    });
}

async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const stop = new AbortController();
  // SIGTERM or Ctrl-C: take no new job, finish those in flight (their results reach the
  // coordinator); a second signal exits at once and BullMQ re-runs them as stalled jobs.
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) stop.abort();
    else process.exit(EXIT.interrupted);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const stalled = process.env.CONVOSIM_QUEUE_STALLED_MS;
    if (stalled !== undefined && !/^\d+$/.test(stalled))
      throw new InputError({
        field: "CONVOSIM_QUEUE_STALLED_MS",
        message: `must be milliseconds (got ${stalled})`,
      });
    const { parseQueueUrl } = await import("../queue/connection.js");
    const { runWorker } = await import("../queue/worker.js");
    await runWorker({
      connection: parseQueueUrl(options.queue),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.cache === false ? { cache: false as const } : {}),
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(stalled !== undefined ? { stalledIntervalMs: Number(stalled) } : {}),
      stopSignal: stop.signal,
    });
    return EXIT.ok;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
