// The rule-based noise layers (docs/noise.md): public API.
export {
  applyNoise,
  applyNoiseBatch,
  DEFAULT_GUARD_RAILS,
  type NoiseOptions,
  noiseWith,
  STRATEGIES,
} from "./apply.js";
export type { GuardRails } from "./draft.js";
export { characterErrorRate, levenshtein, replayEdits, whitespaceTokens } from "./edits.js";
export { type LayoutName, layout } from "./keyboard.js";
export { type ProtectedKind, type ProtectedSpan, protectedSpans } from "./protect.js";
export {
  type Distribution,
  distribution,
  editOperations,
  formatRealismReport,
  type Operation,
  PERSONA_TYPES,
  type PersonaRealism,
  type RealismSummary,
  realismReport,
  summarize,
} from "./report.js";
export {
  CHANNELS,
  type Channel,
  channelOf,
  habitsOf,
  type ResolvedSteering,
  resolveSteering,
  type SteeringContext,
  sloppinessOf,
  steeringTable,
  traitsOf,
} from "./steering.js";
export type { LayerName, Strategy } from "./strategy.js";
