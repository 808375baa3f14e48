// The queue as operators (docs/scaling.md, "The same in code"), in one process against a real
// redis-server: openRemoteConversations() on the coordinator's side, queueTasks() on the
// worker's. Every task comes back once as its own result; acknowledge() leaves no job behind; a
// task given twice is one job and one result; the worker's source completes on its stop signal
// once the jobs in flight are answered.
import { Queue } from "bullmq";
import { from, lastValueFrom, mergeMap, tap, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQueueUrl } from "../../src/queue/connection.js";
import { QUEUE_NAME } from "../../src/queue/names.js";
import { queueTasks } from "../../src/queue/queue-tasks.js";
import { openRemoteConversations, resultId } from "../../src/queue/remote-converse.js";
import type { ConversationResult } from "../../src/schema/interaction.js";
import type { Task } from "../../src/schema/persona.js";
import { waitUntil } from "../support/wait.js";
import { type RealRedis, startRedis } from "./real-redis.js";

let redis: RealRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function task(i: number): Task {
  return {
    interaction_id: `interaction_p${i}_q1`,
    persona_id: `p${i}`,
    persona_features: { role: "pilot" },
    query_id: "q1",
    original_query: `Question ${i}?`,
    initial_query: `Question ${i}?`,
    sample_index: 0,
    seed: i,
  };
}

/** What a stand-in worker answers: a failure record naming the task (no model involved). */
function answer(t: Task): ConversationResult {
  return {
    kind: "failure",
    failure: {
      status: "failed",
      interaction_id: t.interaction_id,
      persona_id: t.persona_id,
      query_id: t.query_id,
      reason: `answered ${t.original_query}`,
      error_kind: "worker",
      attempts: 1,
      completed_turns: 0,
      failed_at: new Date().toISOString(),
      usage: [],
    },
  };
}

describe("the queue's operators", () => {
  it("every task comes back once, each job is removed after acknowledge, the worker stops cleanly", async () => {
    const connection = parseQueueUrl(redis.url);
    const stop = new AbortController();
    const handled: string[] = [];
    const worker = lastValueFrom(
      queueTasks(connection, { concurrency: 3, stopSignal: stop.signal }).pipe(
        mergeMap(async (queued) => {
          handled.push(queued.task.interaction_id);
          await new Promise((r) => setTimeout(r, 5));
          queued.complete(answer(queued.task));
        }),
      ),
      { defaultValue: undefined },
    );
    const remote = await openRemoteConversations(connection, { maxInFlight: 4 });
    const duplicates: Task[] = [];
    const tasks = [...Array.from({ length: 12 }, (_, i) => task(i)), task(3)]; // task 3 twice
    const acknowledged: string[] = [];
    const results = await lastValueFrom(
      from(tasks).pipe(
        remote.converse(5, (dup) => duplicates.push(dup)),
        remote.acknowledge(),
        tap((r) => acknowledged.push(resultId(r))),
        toArray(),
      ),
    );
    expect(results.map(resultId).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `interaction_p${i}_q1`).sort(),
    );
    for (const r of results) {
      expect(r.kind === "failure" && r.failure.reason).toBe(
        `answered Question ${resultId(r).replace(/^interaction_p(\d+)_q1$/, "$1")}?`,
      );
    }
    expect(duplicates.length + results.length).toBe(13);
    expect(new Set(handled).size).toBe(handled.length); // one job per interaction id, run once
    const queue = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port: redis.port } });
    const counts = await queue.getJobCounts("waiting", "active", "completed", "failed", "delayed");
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    stop.abort();
    await worker; // completes once closed
    await remote.close();
    await queue.close();
  }, 60_000);

  it("a result that finished before anyone listened is found by the sweep", async () => {
    const connection = parseQueueUrl(redis.url);
    // A worker answers the job before this coordinator exists (its event went by unheard).
    const stop = new AbortController();
    const worker = lastValueFrom(
      queueTasks(connection, { concurrency: 1, stopSignal: stop.signal }).pipe(
        tap((queued) => queued.complete(answer(queued.task))),
      ),
      { defaultValue: undefined },
    );
    const queue = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port: redis.port } });
    const early = task(100);
    await queue.add("conversation", early, { jobId: early.interaction_id, removeOnComplete: false });
    await waitUntil(
      async () => (await queue.getJobState(early.interaction_id)) === "completed",
      "the early job done",
    );
    const remote = await openRemoteConversations(connection, { sweepMs: 100 });
    const [result] = await lastValueFrom(from([early]).pipe(remote.converse(1), toArray()));
    expect(result && resultId(result)).toBe(early.interaction_id);
    stop.abort();
    await worker;
    await remote.close();
    await queue.close();
  }, 60_000);

  it("is the package's subpath convosim/queue; the root export does not load it", async () => {
    const queueApi = await import("convosim/queue");
    expect(typeof queueApi.openRemoteConversations).toBe("function");
    expect(typeof queueApi.queueTasks).toBe("function");
    const root: Record<string, unknown> = await import("convosim");
    expect(typeof root.generate).toBe("function");
    expect("openRemoteConversations" in root).toBe(false);
  });
});
