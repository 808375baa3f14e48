// The worker's side of the queue as a source and an operator, for a pipeline composed in code:
//
//   await lastValueFrom(queueTasks(connection, { concurrency: 50, stopSignal }).pipe(serveConversations(deps)));
//
// queueTasks() emits each job BullMQ hands this process (at most `concurrency` unanswered at
// once); whoever handles it answers with complete(result), which becomes the job's return value
// (the coordinator saves it). serveConversations() runs the converse operator for each and
// answers. A stop signal takes no new job; the source completes once the jobs in flight are
// answered. Unsubscribing early closes at once: unanswered jobs stall and are re-run elsewhere.
import { type Job, Worker } from "bullmq";
import { catchError, EMPTY, last, mergeMap, Observable, type OperatorFunction, tap } from "rxjs";
import { conversation } from "../operators/converse.js";
import type { ConverseDeps } from "../operators/converse-types.js";
import type { ConversationResult } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { type QueueConnection, redisClient } from "./connection.js";
import { QUEUE_NAME } from "./names.js";

export interface QueuedTask {
  readonly task: Task;
  readonly job: Job<Task, ConversationResult>;
  /** The result, returned to the coordinator through Redis. */
  complete(result: ConversationResult): void;
  /** The job fails (BullMQ records the reason; the coordinator saves it as a failure record). */
  fail(error: Error): void;
}

export interface QueueTasksOptions {
  /** Jobs unanswered at once in this process. */
  concurrency: number;
  /** Aborting takes no new job; the jobs in flight are still answered. */
  stopSignal?: AbortSignal;
  /** A job whose worker stopped renewing its lock (killed) is re-run after this long. */
  stalledIntervalMs?: number;
  onError?: (error: Error) => void;
}

export function queueTasks(connection: QueueConnection, options: QueueTasksOptions): Observable<QueuedTask> {
  return new Observable<QueuedTask>((subscriber) => {
    const worker = new Worker<Task, ConversationResult>(
      QUEUE_NAME,
      (job) =>
        new Promise<ConversationResult>((complete, fail) => {
          subscriber.next({ task: job.data, job, complete, fail });
        }),
      {
        connection: redisClient(connection),
        concurrency: options.concurrency,
        // A killed worker's jobs are taken back once their lock runs out (it is renewed every
        // lockDuration/2 while a conversation runs, however long that is).
        ...(options.stalledIntervalMs !== undefined
          ? { stalledInterval: options.stalledIntervalMs, lockDuration: options.stalledIntervalMs }
          : {}),
      },
    );
    worker.on("error", (error) => options.onError?.(error));
    let closing = false;
    const stop = () => {
      closing = true;
      // close() waits for the jobs in flight, so their results reach the coordinator.
      worker.close().then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error),
      );
    };
    if (options.stopSignal?.aborted) stop();
    else options.stopSignal?.addEventListener("abort", stop, { once: true });
    return () => {
      options.stopSignal?.removeEventListener("abort", stop);
      if (!closing) void worker.close(true).catch(() => {});
    };
  });
}

/** Runs the whole conversation for each queued task and answers its job with the result. */
export function serveConversations(deps: ConverseDeps): OperatorFunction<QueuedTask, ConversationResult> {
  return mergeMap((queued) =>
    conversation(queued.task, deps).pipe(
      last(),
      tap((result) => queued.complete(result)),
      catchError((error: unknown) => {
        // conversation() turns model errors into failure records; anything else fails the job.
        queued.fail(error instanceof Error ? error : new Error(String(error)));
        return EMPTY;
      }),
    ),
  );
}
