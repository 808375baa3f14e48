// The exports' public API: training formats out of an output folder, and the reference's
// TrainingDataExporter. See docs/exports.md.
export { DEFAULT_LICENSE, renderDatasetCard, sizeCategory } from "./card.js";
export { DATASET_INFO, type DatasetInfoEntry, datasetInfoEntry } from "./dataset-info.js";
export { type ExportSummary, exportConversations, formatExportSummary, hfDataFile } from "./export.js";
export {
  type ChatFormatOptions,
  type ExportFormat,
  FORMATS,
  nothingToTrain,
  type OpenAIMessage,
  type OpenAIRecord,
  recordedSystemPrompt,
  type ShareGPTRecord,
  TRAIN_ON,
  type TrainOn,
  toJsonlRecord,
  toOpenAI,
  toShareGPT,
} from "./formats.js";
export { type ExportOptions, resolveExportOptions, STOP_REASONS } from "./options.js";
export { ParquetFileWriter, type ParquetLayout, parquetRow, parquetSchema } from "./parquet.js";
export { readStore } from "./source.js";
export {
  parseSplitSpec,
  personaDraw,
  type SplitBy,
  type SplitPart,
  type SplitSpec,
  splitOf,
} from "./split.js";
export { ExportTally, type ExportTallySnapshot } from "./tally.js";
export {
  ALL_SAMPLES,
  TrainingDataExporter,
  type TrainingExporterOptions,
  type TrainingStatistics,
} from "./training-exporter.js";
export { conversationDigest, type ExportMessage, type Variant, variantMessages } from "./variant.js";
