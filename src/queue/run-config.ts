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

/** Polls until a run's config is there (a worker may start before its coordinator). */
export async function waitForRunConfig(
  redis: Redis,
  signal: AbortSignal | undefined,
  pollMs = 1000,
): Promise<ConvosimConfig | undefined> {
  for (;;) {
    const config = await readRunConfig(redis);
    if (config || signal?.aborted) return config;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
