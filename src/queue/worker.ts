// `convosim worker`: runs whole conversations (the converse operator: turns, noise, retries,
// cache) for the run active on a Redis, as many at once as --concurrency. Returns each
// ConversationResult as the job's return value; the coordinator saves it and removes the job.
import type { Redis } from "ioredis";
import { lastValueFrom, tap } from "rxjs";
import { openResponseCache } from "../cache/index.js";
import type { ConverseDeps } from "../operators/converse-types.js";
import { buildRuntime, checkRuntimeConfig, runtimeDistractor } from "../run/runtime.js";
import { describeUrl, probeRedis, type QueueConnection, redisClient } from "./connection.js";
import { queueTasks, serveConversations } from "./queue-tasks.js";
import { waitForRunConfig } from "./run-config.js";
import { SharedAdmissions } from "./shared-rate-limit.js";

export interface WorkerOptions {
  connection: QueueConnection;
  /** Conversations in flight on this worker; default: the run's max_workers. */
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
  /** false: no response cache; default: the shared on-disk cache (docs/cache.md). */
  cache?: false;
  cacheDir?: string;
  /** Aborting stops taking jobs; jobs in flight finish and are handed back as results. */
  stopSignal?: AbortSignal;
  /** A job whose worker stopped renewing its lock (killed) is re-run after this long. */
  stalledIntervalMs?: number;
  onNotice?: (line: string) => void;
}

export interface WorkerSummary {
  /** Jobs this worker completed (interactions and failure records). */
  completed: number;
}

export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const notice = options.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  await probeRedis(options.connection);
  const redis = redisClient(options.connection);
  redis.on("error", () => {}); // ioredis reconnects by itself; BullMQ reports what matters
  try {
    const config = await waitForRunConfig(redis, options.stopSignal, () =>
      notice(
        `worker: connected to ${describeUrl(options.connection.url)}; waiting for a run (convosim generate --queue)`,
      ),
    );
    if (!config) return { completed: 0 };
    const env = options.env ?? process.env;
    checkRuntimeConfig(config, env); // a missing api_key_env variable: InputError naming it
    return await work(config, options, env, notice, redis);
  } finally {
    redis.disconnect();
  }
}

async function work(
  config: Awaited<ReturnType<typeof waitForRunConfig>> & object,
  options: WorkerOptions,
  env: NodeJS.ProcessEnv,
  notice: (line: string) => void,
  redis: Redis,
): Promise<WorkerSummary> {
  const ig = config.interaction_generation;
  // rate_limit and the limits learned from the endpoint hold for all workers together: each
  // endpoint's local budget (health, first contact) is chained to the shared one in Redis.
  const shared = new SharedAdmissions(redis, { maxPauseMs: ig.call_retries.max_retry_after * 1000 });
  const runtime = await buildRuntime(config, {
    env,
    wrapAdmission: (local, endpointKey, limit) => shared.wrap(local, endpointKey, limit),
  });
  const cache =
    options.cache === false
      ? undefined
      : openResponseCache(options.cacheDir ? { dir: options.cacheDir } : {});
  const conversationCache = cache ? { store: cache, identityOf: runtime.identityOf } : undefined;
  const distractor = runtimeDistractor(config, runtime, cache ? { cache } : {});
  // As generate() builds them, minus what belongs to the coordinator (progress, budget).
  const deps: ConverseDeps = {
    pool: runtime.pool,
    user: runtime.user,
    limits: { minTurns: ig.min_turns, maxTurns: ig.max_turns },
    ...(distractor ? { noise: distractor } : {}),
    callRetry: runtime.callRetry,
    maxRetries: ig.max_retries,
    retryDelayMs: ig.retry_delay * 1000,
    prices: runtime.prices,
    admissionFor: runtime.admissionFor,
    assistantReasks: ig.assistant_model.max_reasks,
    ...(conversationCache ? { cache: conversationCache } : {}),
    ...(runtime.judge ? { judge: runtime.judge } : {}),
    ...(runtime.verifier ? { verifier: runtime.verifier } : {}),
  };
  let completed = 0;
  const concurrency = options.concurrency ?? ig.max_workers;
  notice(`worker: taking conversations from the queue (${concurrency} at once)`);
  options.stopSignal?.addEventListener(
    "abort",
    () => notice("worker: stopping — no new conversations; finishing those in flight"),
    { once: true },
  );
  try {
    await lastValueFrom(
      queueTasks(options.connection, {
        concurrency,
        ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
        ...(options.stalledIntervalMs !== undefined ? { stalledIntervalMs: options.stalledIntervalMs } : {}),
        onError: (error) => notice(`worker: ${error.message}`),
      }).pipe(
        serveConversations(deps),
        tap(() => completed++),
      ),
      { defaultValue: undefined },
    );
  } finally {
    await cache?.close();
    await runtime.close();
    shared.close();
  }
  return { completed };
}
