// `convosim generate --queue`: this process becomes the coordinator. It streams tasks into the
// queue with backpressure (at most `window` queued or running at once), waits for each job's
// result (a ConversationResult returned by a worker), saves it through the same files sink as a
// local run, and only then removes the job: a result is acknowledged once it is on disk.
// Job ids are interaction ids, so a task is never queued twice; a rerun on the same DIR skips
// what is saved and picks up jobs an earlier coordinator left in Redis (finished or not).
import { type Job, Queue, QueueEvents } from "bullmq";
import { defer, filter, lastValueFrom, mergeMap, type Observable, take, tap } from "rxjs";
import { admit } from "../operators/admit.js";
import { lockOutputFolder } from "../run/output-folder-lock.js";
import { preflightOutputFolder } from "../run/preflight.js";
import type { ConvosimConfig } from "../schema/config.js";
import type { ConversationResult } from "../schema/interaction.js";
import type { Persona, Task } from "../schema/persona.js";
import { filesSink } from "../sinks/files-sink.js";
import { loadCompletedForRun } from "../sinks/quarantine.js";
import { Backpressure } from "../sources/backpressure.js";
import type { PersonaInputSource } from "../sources/open.js";
import { readPersonas } from "../sources/read-personas.js";
import { toTasks } from "../sources/tasks.js";
import { probeRedis, type QueueConnection, redisClient } from "./connection.js";
import { QUEUE_NAME } from "./names.js";
import { publishRunConfig } from "./run-config.js";

export interface CoordinateOptions {
  connection: QueueConnection;
  config: ConvosimConfig;
  personas: Observable<Persona> | PersonaInputSource;
  personasName?: string;
  /** The output folder: the reference's layout, exactly as a local run writes it. */
  out: string;
  limit?: number;
  /** Tasks queued or running at once; default 2 × max_workers (never the whole input). */
  window?: number;
  onNotice?: (line: string) => void;
  /** Called with every result after it is saved. */
  onResult?: (result: ConversationResult) => void;
}

export interface CoordinateSummary {
  done: number;
  failed: number;
  /** Saved by an earlier run on the same output folder. */
  skipped: number;
  /** Tasks added to the queue by this coordinator (jobs already in Redis not counted). */
  queued: number;
}

export async function coordinate(options: CoordinateOptions): Promise<CoordinateSummary> {
  const notice = options.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  await probeRedis(options.connection); // unreachable: exit 2 before the folder is touched
  await preflightOutputFolder(options.out);
  const lock = await lockOutputFolder(options.out, notice);
  const redis = redisClient(options.connection);
  redis.on("error", () => {}); // ioredis reconnects by itself
  const queue = new Queue<Task, ConversationResult>(QUEUE_NAME, {
    connection: redisClient(options.connection),
  });
  const events = new QueueEvents(QUEUE_NAME, { connection: redisClient(options.connection) });
  try {
    await publishRunConfig(redis, options.config);
    await events.waitUntilReady(); // listening before the first job is added: no result missed
    return await collect(options, queue, events, notice);
  } finally {
    await events.close();
    await queue.close();
    redis.disconnect();
    await lock.release();
  }
}

async function collect(
  options: CoordinateOptions,
  queue: Queue<Task, ConversationResult>,
  events: QueueEvents,
  notice: (line: string) => void,
): Promise<CoordinateSummary> {
  const ig = options.config.interaction_generation;
  const window = options.window ?? 2 * ig.max_workers;
  const backpressure = new Backpressure(window);
  const completed = await loadCompletedForRun(options.out, notice);
  const summary: CoordinateSummary = { done: 0, failed: 0, skipped: 0, queued: 0 };
  // Dedup on this side too: a result is saved at most once per run whatever Redis replays.
  const saved = new Set<string>();
  const personas$ =
    typeof options.personas === "object" && "subscribe" in options.personas
      ? options.personas
      : readPersonas(options.personas, {
          backpressure,
          requireAny: true,
          ...(options.personasName ? { name: options.personasName } : {}),
        });
  const remote = (task: Task) =>
    defer(async () => {
      const added = await queue.add("conversation", task, {
        jobId: task.interaction_id,
        attempts: 1, // the conversation retries its own steps (max_retries); a job is not rerun on error
        removeOnComplete: false, // removed by the coordinator once the result is saved
        removeOnFail: false,
      });
      if (added.data.interaction_id === task.interaction_id && added.timestamp >= startedAt) summary.queued++;
      return resultOf(added, task, events);
    });
  const startedAt = Date.now();
  await lastValueFrom(
    personas$.pipe(
      toTasks({
        seed: ig.seed,
        samplesPerQuery: ig.samples_per_query,
        ...(ig.queries_per_persona !== undefined ? { queriesPerPersona: ig.queries_per_persona } : {}),
      }),
      options.limit !== undefined ? take(options.limit) : (tasks) => tasks,
      filter((task) => {
        if (!completed.has(task.interaction_id)) return true;
        summary.skipped++;
        return false;
      }),
      admit(backpressure),
      mergeMap(remote, window),
      filter((result) => {
        const id = idOf(result);
        if (saved.has(id)) {
          backpressure.released();
          return false;
        }
        saved.add(id);
        return true;
      }),
      filesSink(options.out),
      // Acknowledged only now, with the result on disk: a coordinator killed before this line
      // finds the job still in Redis on its rerun and saves it then.
      mergeMap(async (result) => {
        await queue.remove(idOf(result));
        backpressure.released();
        return result;
      }),
      tap((result) => {
        if (result.kind === "interaction") summary.done++;
        else summary.failed++;
        options.onResult?.(result);
      }),
    ),
    { defaultValue: undefined },
  );
  return summary;
}

function idOf(result: ConversationResult): string {
  return result.kind === "interaction" ? result.interaction.interaction_id : result.failure.interaction_id;
}

/** The job's result once a worker returns it; a job BullMQ gave up on becomes a failure record. */
async function resultOf(
  job: Job<Task, ConversationResult>,
  task: Task,
  events: QueueEvents,
): Promise<ConversationResult> {
  try {
    const value: unknown = await job.waitUntilFinished(events);
    // Return values arrive as JSON text through the events stream, as objects when already finished.
    return (typeof value === "string" ? JSON.parse(value) : value) as ConversationResult;
  } catch (error) {
    return {
      kind: "failure",
      failure: {
        status: "failed",
        interaction_id: task.interaction_id,
        persona_id: task.persona_id,
        query_id: task.query_id,
        reason: `queue: ${error instanceof Error ? error.message : String(error)}`,
        error_kind: "worker",
        attempts: job.attemptsMade,
        completed_turns: 0,
        failed_at: new Date().toISOString(),
        usage: [],
      },
    };
  }
}
