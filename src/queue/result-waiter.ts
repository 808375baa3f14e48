// Waits for the results of jobs this coordinator queued. Two paths, because one is not enough:
// - the queue's event stream ("completed"/"failed"), which carries each result as it happens;
// - a sweep every few seconds of the jobs that finished and are not yet acknowledged, because an
//   event can be missed (a coordinator that starts after its jobs finished, a Redis restart
//   that drops the stream) while the finished job itself is still in Redis.
// After Redis comes back from a restart that lost data, a job may be gone altogether: the sweep
// then finds it missing and queues it again (same job id), so no task is lost with it.
import type { Job, Queue, QueueEvents } from "bullmq";
import type { ConversationResult } from "../schema/interaction.js";
import type { Task } from "../schema/persona.js";
import { JOB_NAME, JOB_OPTIONS } from "./names.js";

type Settle = (result: ConversationResult) => void;

interface Waiting {
  task: Task;
  settle: Settle;
  result: Promise<ConversationResult>;
}

export interface ResultWaiterOptions {
  /** How often finished jobs are looked for beside the events (default 5 s). */
  sweepMs?: number;
  onNotice?: (line: string) => void;
}

export class ResultWaiter {
  readonly #waiting = new Map<string, Waiting>();
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;
  /** Set when Redis reconnected: the next sweep checks that every awaited job still exists. */
  #recheckExistence = false;

  constructor(
    private readonly queue: Queue<Task, ConversationResult>,
    events: QueueEvents,
    private readonly options: ResultWaiterOptions = {},
  ) {
    events.on("completed", ({ jobId, returnvalue }) => this.#deliver(jobId, () => parseReturn(returnvalue)));
    events.on("failed", ({ jobId, failedReason }) => {
      this.#deliver(jobId, (task) => failureOf(task, failedReason));
    });
    this.#timer = setInterval(() => void this.sweep(), options.sweepMs ?? 5000);
    this.#timer.unref();
  }

  /** Jobs queued and not yet answered. */
  get pending(): number {
    return this.#waiting.size;
  }

  /** Queues the task (a no-op when its job is already in Redis) and resolves with its result. */
  async run(task: Task): Promise<ConversationResult> {
    const already = this.#waiting.get(task.interaction_id);
    if (already) return already.result; // the same task twice: one job, one result for both
    let settle: Settle = () => {};
    const result = new Promise<ConversationResult>((resolve) => {
      settle = resolve;
    });
    this.#waiting.set(task.interaction_id, { task, settle, result });
    await this.queue.add(JOB_NAME, task, { ...JOB_OPTIONS, jobId: task.interaction_id });
    return result;
  }

  /** Redis came back after a disconnect: jobs it lost are queued again at the next sweep. */
  reconnected(): void {
    this.#recheckExistence = true;
  }

  /** One pass over finished jobs (and, after a reconnect, missing ones); one at a time. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #sweep(): Promise<void> {
    if (this.#waiting.size === 0) return;
    try {
      const finished = await this.queue.getJobs(["completed", "failed"]);
      for (const job of finished) this.#fromJob(job);
      if (this.#recheckExistence) {
        this.#recheckExistence = false;
        await this.#requeueLost();
      }
    } catch {
      // Redis unreachable right now: the next sweep tries again.
    }
  }

  async #requeueLost(): Promise<void> {
    let requeued = 0;
    for (const [id, { task }] of [...this.#waiting]) {
      const state = await this.queue.getJobState(id);
      if (state !== "unknown") continue;
      await this.queue.add(JOB_NAME, task, { ...JOB_OPTIONS, jobId: id });
      requeued++;
    }
    if (requeued > 0)
      this.options.onNotice?.(
        `coordinator: Redis lost ${requeued} queued conversation(s) in a restart; queued again`,
      );
  }

  #fromJob(job: Job<Task, ConversationResult>): void {
    if (!job.id || !this.#waiting.has(job.id)) return;
    if (job.finishedOn === undefined) return;
    if (job.failedReason) this.#deliver(job.id, (task) => failureOf(task, job.failedReason));
    else this.#deliver(job.id, () => parseReturn(job.returnvalue));
  }

  #deliver(jobId: string, result: (task: Task) => ConversationResult): void {
    const waiting = this.#waiting.get(jobId);
    if (!waiting) return; // not ours, or already delivered (an event and a sweep both saw it)
    this.#waiting.delete(jobId);
    waiting.settle(result(waiting.task));
  }
}

/** Return values arrive as JSON text through the events stream, as objects from a job read. */
function parseReturn(value: unknown): ConversationResult {
  return (typeof value === "string" ? JSON.parse(value) : value) as ConversationResult;
}

/** A job BullMQ gave up on (a worker threw, or it stalled too often) becomes a failure record. */
function failureOf(task: Task, reason: string): ConversationResult {
  return {
    kind: "failure",
    failure: {
      status: "failed",
      interaction_id: task.interaction_id,
      persona_id: task.persona_id,
      query_id: task.query_id,
      reason: `queue: ${reason}`,
      error_kind: "worker",
      attempts: 1,
      completed_turns: 0,
      failed_at: new Date().toISOString(),
      usage: [],
    },
  };
}
