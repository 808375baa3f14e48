// The run's config travels through Redis from the coordinator to its workers, so a worker on
// another host needs only the queue URL and its own key variables.
import type { Redis } from "ioredis";
import { ConvosimConfig } from "../schema/config.js";
import { RUN_CONFIG_KEY } from "./names.js";

/** Written by the coordinator before it queues a task (keys are never in a config: see names.ts). */
export async function publishRunConfig(redis: Redis, config: ConvosimConfig): Promise<void> {
  await redis.set(RUN_CONFIG_KEY, JSON.stringify(config));
}

/** The active run's config, or undefined when no coordinator has started one on this Redis. */
export async function readRunConfig(redis: Redis): Promise<ConvosimConfig | undefined> {
  const text = await redis.get(RUN_CONFIG_KEY);
  // Validated again: a worker of another convosim version must not run a config it misreads.
  return text === null ? undefined : ConvosimConfig.parse(JSON.parse(text));
}

/**
 * Polls until a run's config is there (a worker may start before its coordinator). A GET every
 * 200 ms is nothing to Redis and starts the run's first calls at most 200 ms late.
 */
export async function waitForRunConfig(
  redis: Redis,
  signal: AbortSignal | undefined,
  onWaiting?: () => void,
  pollMs = 200,
): Promise<ConvosimConfig | undefined> {
  for (let polls = 0; ; polls++) {
    const config = await readRunConfig(redis);
    if (config || signal?.aborted) return config;
    if (polls === 0) onWaiting?.(); // no run yet: say what this worker waits for
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
