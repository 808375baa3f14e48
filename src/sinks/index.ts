// The sinks' public API: operators that persist results, the reference's storage, resume.
export { type AtomicWriteOptions, atomicWriteFile, cleanTempFiles, type TempCleanup } from "./atomic-file.js";
export {
  CompletedSet,
  loadCompleted,
  loadFailures,
  type OutstandingFailures,
  type VerifyMode,
} from "./completed.js";
export { type FilesSinkOptions, filesSink } from "./files-sink.js";
export {
  type IndexEntry,
  type IndexFile,
  type RebuildResult,
  readIndex,
  rebuildIndex,
} from "./index-file.js";
export { InteractionStorage, type InteractionStorageOptions } from "./interaction-storage.js";
export { CorruptFileError, type OutputPaths, outputPaths } from "./layout.js";
export {
  type NdjsonLine,
  type NdjsonSinkOptions,
  ndjsonSink,
  readNdjson,
  resultRecord,
} from "./ndjson-sink.js";
export {
  type AcquireOptions,
  acquireOutputLock,
  LOCK_FILE,
  type LockHolder,
  type OutputLock,
  OutputLockedError,
} from "./output-lock.js";
export { type Persister, type PersistOptions, persistEach } from "./persist.js";
export { type QuarantinedFile, quarantineUnreadable } from "./quarantine.js";
export { interactionFileName, safeFileName } from "./safe-file-name.js";
export {
  type NoisyQuery,
  noisyInitialQueries,
  type TrainingCollector,
  TrainingDataCollector,
  type TrainingSample,
  toTrainingSample,
  trainingCollectorSink,
} from "./training.js";
export { type UsageLedgerLine, type UsageTotals, usageLedgerLine } from "./usage-ledger.js";
