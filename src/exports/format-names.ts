// The export formats and --train-on choices, in a module that imports nothing: `convosim export
// --help` lists them without loading the exporters.
export const FORMATS = ["jsonl", "openai", "sharegpt", "parquet", "hf"] as const;
export type ExportFormat = (typeof FORMATS)[number];

/**
 * Which assistant messages an openai line trains on. "all": every reply, no weight keys (the
 * format as it always was). "last": the final reply only. "unnoised": the replies to user
 * messages the distractor did not change — a reply to a noised message answered text the
 * model should learn to cope with, not necessarily text whose answer is worth imitating.
 */
export const TRAIN_ON = ["all", "last", "unnoised"] as const;
export type TrainOn = (typeof TRAIN_ON)[number];
