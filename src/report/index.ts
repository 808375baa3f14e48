// The HTML report: statistics as inline SVG plots and a filterable sample of conversations,
// in one self-contained file.
export { buildReport, DEFAULT_SAMPLE_SIZE, type Report, type ReportOptions, writeReport } from "./build.js";
export { escapeHtml, jsonForScript } from "./escape.js";
export { type Figure, figures } from "./plots.js";
export {
  ConversationSampler,
  MAX_MESSAGE_CHARS,
  type SampledConversation,
  type SampledMessage,
} from "./sample.js";
export { simulatedUserFigures, simulatedUserSection } from "./simulated-user.js";
export { barChart, type ChartSpec, columnChart, type Series } from "./svg.js";
