// The coordinator's side of the queue as operators, for a pipeline composed in code:
//
//   const remote = await openRemoteConversations(parseQueueUrl("redis://127.0.0.1:6379"), { config });
//   await lastValueFrom(tasks.pipe(remote.converse(200), filesSink("out"), remote.acknowledge()));
//   await remote.close();
//
// converse() queues each task as a job (job id = interaction id) and emits its result when a
// worker returns it; acknowledge() removes the job once the result has passed the sink, so a
// result is dropped from Redis only after it is saved. Workers run `convosim worker` or
// queueTasks() + serveConversations() (queue-tasks.ts).
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { filter, type MonoTypeOperatorFunction, mergeMap, type OperatorFunction } from "rxjs";
import type { ConvosimConfig } from "../schema/config.js";
import type { ConversationResult } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { probeRedis, type QueueConnection, redisClient } from "./connection.js";
import { QUEUE_NAME } from "./names.js";
import { ResultWaiter } from "./result-waiter.js";
import { publishRunConfig } from "./run-config.js";

export interface RemoteConversationsOptions {
  /** Written to Redis for the workers (keys never are: only their variables' names). */
  config?: ConvosimConfig;
  /**
   * Conversations running at once across every worker (BullMQ's global concurrency); default
   * the config's max_workers. Each worker's --concurrency caps its own share.
   */
  maxInFlight?: number;
  /** How often finished jobs are looked for beside the event stream (default 5 s). */
  sweepMs?: number;
  onNotice?: (line: string) => void;
}

export interface RemoteConversations {
  /**
   * Runs each task on a worker, at most `window` queued or running at once, and emits its
   * result. A task whose interaction id this run already took is not run again (it is given to
   * `onDuplicate`, e.g. to free its backpressure slot).
   */
  converse(window: number, onDuplicate?: (task: Task) => void): OperatorFunction<Task, ConversationResult>;
  /** Put after the sink: removes each result's job from Redis, now that it is saved. */
  acknowledge(): MonoTypeOperatorFunction<ConversationResult>;
  /** Jobs queued whose result has not arrived yet. */
  readonly pending: number;
  /** Looks for finished jobs now (also runs every sweepMs). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

export function resultId(result: ConversationResult): string {
  return result.kind === "interaction" ? result.interaction.interaction_id : result.failure.interaction_id;
}

/** Connects (an unreachable Redis is an InputError), publishes the run, and listens for results. */
export async function openRemoteConversations(
  connection: QueueConnection,
  options: RemoteConversationsOptions = {},
): Promise<RemoteConversations> {
  await probeRedis(connection);
  const redis = redisClient(connection);
  redis.on("error", () => {}); // ioredis reconnects by itself
  const maxInFlight = options.maxInFlight ?? options.config?.interaction_generation.max_workers;
  const queue = new Queue<Task, ConversationResult>(QUEUE_NAME, {
    connection: redisClient(connection),
    // BullMQ's event stream repeats each result in its "completed" event; its default length
    // (10,000 events) would hold up to ~2,000 results twice over. The coordinator reads events
    // as they come (and sweeps finished jobs besides), so a stream of ~20 events per
    // conversation in flight is plenty and keeps Redis small whatever the result size.
    streams: { events: { maxLen: Math.max(1000, 20 * (maxInFlight ?? 50)) } },
  });
  queue.on("error", () => {});
  const events = new QueueEvents(QUEUE_NAME, { connection: redisClient(connection) });
  events.on("error", () => {});
  const publish = async () => {
    if (options.config) await publishRunConfig(redis, options.config);
    if (maxInFlight !== undefined) await queue.setGlobalConcurrency(maxInFlight);
  };
  await publish();
  await events.waitUntilReady(); // listening before the first job is added: no result missed
  const waiter = new ResultWaiter(queue, events, {
    ...(options.sweepMs !== undefined ? { sweepMs: options.sweepMs } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  watchReconnects(redis, () => {
    // A restart without persistence forgets the run's config and limits: write them again.
    publish().catch(() => {});
    waiter.reconnected();
  });
  const taken = new Set<string>();
  return {
    converse: (window, onDuplicate) => (tasks) =>
      tasks.pipe(
        filter((task) => {
          if (!taken.has(task.interaction_id)) {
            taken.add(task.interaction_id);
            return true;
          }
          onDuplicate?.(task);
          return false;
        }),
        mergeMap((task) => waiter.run(task), window),
      ),
    acknowledge: () => (results) =>
      results.pipe(
        mergeMap(async (result) => {
          await queue.remove(resultId(result));
          return result;
        }),
      ),
    get pending() {
      return waiter.pending;
    },
    sweep: () => waiter.sweep(),
    close: async () => {
      waiter.close();
      await events.close();
      await queue.close();
      redis.disconnect();
    },
  };
}

/** Calls `onReconnect` each time the client is ready again after losing its connection. */
function watchReconnects(redis: Redis, onReconnect: () => void): void {
  let lost = false;
  redis.on("close", () => {
    lost = true;
  });
  redis.on("ready", () => {
    if (!lost) return;
    lost = false;
    onReconnect();
  });
}
