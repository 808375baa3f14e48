// The names a run uses in Redis, shared by the coordinator and its workers.

/** The BullMQ queue of conversations (one task per job, job id = interaction id). */
export const QUEUE_NAME = "convosim-conversations";

/**
 * The active run's config (JSON, as validated by the coordinator). Keys never go here: a config
 * holds only the *names* of key variables (api_key_env); each worker reads its own.
 */
export const RUN_CONFIG_KEY = "convosim:run:config";
