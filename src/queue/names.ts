// The names a run uses in Redis, shared by the coordinator and its workers.

/** The BullMQ queue of conversations (one task per job, job id = interaction id). */
export const QUEUE_NAME = "convosim-conversations";

/**
 * The active run's config (JSON, as validated by the coordinator). Keys never go here: a config
 * holds only the *names* of key variables (api_key_env); each worker reads its own.
 */
export const RUN_CONFIG_KEY = "convosim:run:config";

/** Every job's name (BullMQ wants one; there is one kind of job). */
export const JOB_NAME = "conversation";

/**
 * How each task is queued. One attempt: the conversation retries its own steps (max_retries)
 * and returns a failure record rather than throw. Kept after it finishes: the coordinator
 * removes a job once its result is saved, so a result is never lost between the two.
 */
export const JOB_OPTIONS = { attempts: 1, removeOnComplete: false, removeOnFail: false } as const;
