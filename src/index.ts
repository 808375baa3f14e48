// The public API: sources, operators, sinks, providers, the reference-compatible classes.
// Importing it does no work (no model loading, no files, no network).

// The reference's classes, and its DistractorModel as createDistractor (docs/noise-generation.md)
export { type CreateDistractorOptions, createDistractor, type OwnedDistractor } from "./api/distractor.js";
export { AssistantModel, InteractionGenerator, UserFeedbackModel } from "./api/reference.js";
// Response cache
export * from "./cache/index.js";
// Configuration
export * from "./config/index.js";
// Conversation logic
export { AssistantPool, type PoolMember } from "./conversation/assistant-pool.js";
export { checkAssistantReply } from "./conversation/guards/assistant.js";
export { checkUserReply, type GuardSettings, type GuardVerdict } from "./conversation/guards/index.js";
export { type NoiseHook, type NoiseInput, type NoiseOutcome, noNoise } from "./conversation/noise-hook.js";
export { BUILT_IN_PRICES, PriceTable } from "./conversation/pricing.js";
export { QueryGenerator } from "./conversation/query-generator.js";
export { ScenarioGenerator } from "./conversation/scenario-generator.js";
export { StopJudge } from "./conversation/stop-judge.js";
export { findMarker, stripMarkers } from "./conversation/stop-markers.js";
export { TurnVerifier } from "./conversation/turn-verifier.js";
export { type UserReply, UserSimulator } from "./conversation/user-simulator.js";
// Exports: training formats (jsonl, openai, sharegpt, parquet, hf) and TrainingDataExporter
export * from "./exports/index.js";
// The distractor: noise on user messages during generation (docs/noise-generation.md)
export {
  buildDistractor,
  type Distractor,
  type DistractorNoise,
  type DistractorOptions,
} from "./noise/distractor.js";
export { type NoisyVersionsRecord, noiseMetadata } from "./noise/distractor-metadata.js";
export type { DistractorStats } from "./noise/distractor-stats.js";
export { DistractorConfigError, parseStrategyFile, readStrategyFile } from "./noise/distractor-strategies.js";
// The rule-based noise layers, their steering and the realism report (docs/noise.md)
export {
  applyNoise,
  applyNoiseBatch,
  characterErrorRate,
  formatRealismReport,
  type NoiseOptions,
  PERSONA_TYPES,
  type PersonaRealism,
  type ProtectedSpan,
  protectedSpans,
  type RealismSummary,
  type ResolvedSteering,
  realismReport,
  replayEdits,
  resolveSteering,
  steeringTable,
  traitsOf,
} from "./noise/index.js";
export { type SemanticStrategy, semanticStrategies } from "./noise/semantic/strategies.js";
// Operators
export { admit } from "./operators/admit.js";
export { backoffDelayMs, type CallRetryPolicy, callModel } from "./operators/call-model.js";
export {
  type ConversationEvents,
  type ConverseDeps,
  conversation,
  converse,
  UserSimulatorError,
} from "./operators/converse.js";
export { type ConverseAllOptions, converseAll, type RunEvents } from "./operators/converse-all.js";
export {
  type NoiseItem,
  type NoiseOperatorOptions,
  type NoiseSubject,
  noise,
  noiseInputOf,
} from "./operators/noise.js";
export { formatProgress, type ProgressSnapshot, ProgressTracker } from "./operators/progress.js";
export { type ScenarioGenerationOptions, scenarioGeneration } from "./operators/scenario-generation.js";
export { type StyleTransferOptions, styleTransfer } from "./operators/style-transfer.js";
export { QuotaTracker, supplementRounds } from "./operators/supplement.js";
export { type UserTurnOutcome, userTurn } from "./operators/user-turn.js";
// Providers
export { isTransient, ProviderError, type ProviderErrorKind } from "./providers/errors.js";
export { FakeChatModel } from "./providers/fake.js";
export { checkModelConfig, createChatModel, warmModelThreadFor } from "./providers/registry.js";
export type { ChatMessage, ChatModel, ChatRequest, ChatResult } from "./providers/types.js";
// Report
export {
  buildReport,
  ConversationSampler,
  DEFAULT_SAMPLE_SIZE,
  type Report,
  type ReportOptions,
  type SampledConversation,
  type SampledMessage,
  writeReport,
} from "./report/index.js";
export { Budget, type BudgetLimits, spentInOutput, withinBudget } from "./run/budget.js";
export { estimateRun, estimateRunFrom, type RunEstimate, RunEstimator } from "./run/estimate.js";
// Running
export { type GenerateOptions, generate, type RunSummary } from "./run/generate.js";
export { iterateInteractions } from "./run/output-reader.js";
export { buildRuntime, checkRuntimeConfig, type Runtime, runtimeDistractor } from "./run/runtime.js";
export {
  type ComputeStatsOptions,
  type Counts,
  computeStats,
  type Distribution,
  type FeatureCoverage,
  formatStats,
  type ModelUsage,
  type NoiseStats,
  type PersonaStats,
  type RunStats,
  StatsCollector,
} from "./run/stats.js";
// Schemas and types
export * from "./schema/config.js";
export type {
  ConversationResult,
  FailureRecord,
  Interaction,
  InteractionMetadata,
  Message,
  Role,
  StopReason,
  UsageRecord,
} from "./schema/interaction.js";
export { type Persona, PersonaInput, QueryInput, type Task } from "./schema/persona.js";
export type { Usage } from "./schema/usage.js";
// Sinks
export * from "./sinks/index.js";
// Sources
export * from "./sources/index.js";
