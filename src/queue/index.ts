// `convosim/queue`: scaling out on Redis (docs/scaling.md). A subpath of its own so that
// `import "convosim"` never loads BullMQ and ioredis for a program that does not use them.
export { parseQueueUrl, type QueueConnection } from "./connection.js";
export { type CoordinateOptions, type CoordinateSummary, coordinate } from "./coordinator.js";
export { type QueuedTask, type QueueTasksOptions, queueTasks, serveConversations } from "./queue-tasks.js";
export {
  openRemoteConversations,
  type RemoteConversations,
  type RemoteConversationsOptions,
  resultId,
} from "./remote-converse.js";
export { runWorker, type WorkerOptions, type WorkerSummary } from "./worker.js";
