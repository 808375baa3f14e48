// `convosim stats`: counts, success rate, turns, message lengths, stop reasons, model mix,
// persona feature coverage, noise, the simulated user (re-asks, guards, judge, turn lengths,
// asking share, diversity, near-duplicates), tokens and cost by model and role, failures. One
// streamed pass over the output folder; every figure is a counter or a bounded histogram (see
// stats-tally.ts); the only per-conversation state is a 256-byte MinHash signature for the
// near-duplicate check (stats-near-duplicates.ts, capped at 200,000 conversations).
import type { FailureRecord, Interaction, UsageRecord } from "../schema/interaction.js";
import { CompletedSet, loadFailures } from "../sinks/completed.js";
import type { CorruptFileError } from "../sinks/layout.js";
import { interactionFileName } from "../sinks/safe-file-name.js";
import { iterateInteractions } from "./output-reader.js";
import { NoiseTally } from "./stats-noise.js";
import { PersonaTally } from "./stats-personas.js";
import { bump, CappedCounter, LengthTally, round } from "./stats-tally.js";
import type { ModelUsage, RunStats } from "./stats-types.js";
import { SimulatedUserTally } from "./stats-user-sim.js";

export { formatStats } from "./stats-format.js";
export type { NearDuplicatePair, NearDuplicateStats } from "./stats-near-duplicates.js";
export type { NoiseStats } from "./stats-noise.js";
export type { FeatureCoverage, PersonaStats } from "./stats-personas.js";
export type { Counts, Distribution } from "./stats-tally.js";
export { asksSomething, words } from "./stats-text.js";
export type { ModelUsage, RunStats } from "./stats-types.js";
export type { AskingShare, Diversity, SimulatedUserStats, WordCounts } from "./stats-user-sim.js";

export interface ComputeStatsOptions {
  /** Called with every interaction as it streams by (the report samples conversations here). */
  onInteraction?: (interaction: Interaction) => void;
  /** Hears of each interaction file that cannot be read: skipped, counted in `unreadable_files`. */
  onUnreadable?: (error: CorruptFileError) => void;
}

const emptyUsage = (): ModelUsage => ({
  calls: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_tokens: 0,
  cost_usd: 0,
  replayed: 0,
});

function addTo(table: Record<string, ModelUsage>, key: string, record: UsageRecord): void {
  const entry = table[key] ?? emptyUsage();
  table[key] = entry;
  entry.calls++;
  entry.prompt_tokens += record.prompt_tokens;
  entry.completion_tokens += record.completion_tokens;
  entry.cached_tokens += record.cached_tokens ?? 0;
  entry.cost_usd += record.cost_usd;
  if (record.replayed) entry.replayed++;
}

const modelName = (model: { provider?: string; model?: string } | undefined) =>
  `${model?.provider ?? "unknown"}/${model?.model ?? "unknown"}`;

const FAILURE_REASON_LENGTH = 120;

/** Accumulates RunStats from interactions and failures fed one at a time. */
export class StatsCollector {
  readonly #stats: RunStats = {
    interactions: 0,
    failed: 0,
    success_rate: 0,
    turns: {},
    average_turns: 0,
    stop_reasons: {},
    assistant_models: {},
    user_models: {},
    message_lengths: { user: new LengthTally().summary(), assistant: new LengthTally().summary() },
    persona_features: { personas: 0, features: {}, other_keys: 0 },
    noise: new NoiseTally().summary(),
    simulated_user: new SimulatedUserTally().summary(),
    failures_by_kind: {},
    failures_by_reason: {},
    unreadable_failure_lines: 0,
    unreadable_files: 0,
    usage: {},
    usage_by_model: {},
    usage_by_role: {},
    total_tokens: { prompt: 0, completion: 0, cached: 0 },
    total_cost_usd: 0,
  };
  #turnSum = 0;
  readonly #lengths = { user: new LengthTally(), assistant: new LengthTally() };
  readonly #personas = new PersonaTally();
  readonly #noise = new NoiseTally();
  readonly #user = new SimulatedUserTally();
  readonly #reasons = new CappedCounter(200);

  add(interaction: Interaction): void {
    const stats = this.#stats;
    stats.interactions++;
    this.#turnSum += interaction.num_turns;
    bump(stats.turns, String(interaction.num_turns));
    bump(stats.stop_reasons, String(interaction.metadata.stop_reason ?? "unknown"));
    bump(stats.assistant_models, modelName(interaction.metadata.assistant_model));
    bump(stats.user_models, modelName(interaction.metadata.user_model));
    for (const message of interaction.messages) {
      if (message.role === "user" || message.role === "assistant")
        this.#lengths[message.role].add(message.content.length);
    }
    this.#personas.add(interaction);
    this.#noise.add(interaction);
    this.#user.add(interaction);
    this.#addUsage(interaction.metadata.usage ?? []);
  }

  addFailure(failure: FailureRecord): void {
    this.#stats.failed++;
    bump(this.#stats.failures_by_kind, failure.error_kind ?? "unknown");
    this.#user.addFailure(failure);
    const reason = String(failure.reason ?? "").split("\n")[0] ?? "";
    this.#reasons.add(
      reason.length > FAILURE_REASON_LENGTH ? `${reason.slice(0, FAILURE_REASON_LENGTH - 1)}…` : reason,
    );
    this.#addUsage(failure.usage ?? []);
  }

  addUnreadableFile(): void {
    this.#stats.unreadable_files += 1;
  }

  addUnreadableFailureLines(count: number): void {
    this.#stats.unreadable_failure_lines += count;
  }

  #addUsage(records: readonly UsageRecord[]): void {
    const stats = this.#stats;
    for (const record of records) {
      const model = `${record.provider}/${record.model}`;
      addTo(stats.usage, `${record.operation} ${model}`, record);
      addTo(stats.usage_by_model, model, record);
      addTo(stats.usage_by_role, record.operation, record);
      stats.total_tokens.prompt += record.prompt_tokens;
      stats.total_tokens.completion += record.completion_tokens;
      stats.total_tokens.cached += record.cached_tokens ?? 0;
      stats.total_cost_usd += record.cost_usd;
    }
  }

  /** A snapshot of the figures so far (the collector can keep accumulating). */
  result(): RunStats {
    const stats = this.#stats;
    const total = stats.interactions + stats.failed;
    return structuredClone({
      ...stats,
      success_rate: total > 0 ? stats.interactions / total : 0,
      average_turns: stats.interactions > 0 ? this.#turnSum / stats.interactions : 0,
      message_lengths: { user: this.#lengths.user.summary(), assistant: this.#lengths.assistant.summary() },
      persona_features: this.#personas.summary(),
      noise: this.#noise.summary(),
      simulated_user: this.#user.summary(),
      failures_by_reason: this.#reasons.top(20).values,
      // Sums of many small floats: keep the JSON free of 0.30000000000000004-style tails.
      total_cost_usd: round(stats.total_cost_usd, 10),
    });
  }
}

/** Streams an output folder once and returns its statistics. */
export async function computeStats(dir: string, options: ComputeStatsOptions = {}): Promise<RunStats> {
  const collector = new StatsCollector();
  // The files read are what supersedes failures: no second scan of the folder.
  const read = new Set<string>();
  const onUnreadable = (error: CorruptFileError): void => {
    collector.addUnreadableFile();
    options.onUnreadable?.(error);
  };
  for await (const interaction of iterateInteractions(dir, { onUnreadable })) {
    collector.add(interaction);
    read.add(interactionFileName(interaction.interaction_id));
    options.onInteraction?.(interaction);
  }
  const { failures, malformed } = await loadFailures(dir, new CompletedSet(read, [], []));
  for (const failure of failures) collector.addFailure(failure);
  collector.addUnreadableFailureLines(malformed.length);
  return collector.result();
}
