// The reference's interaction-level noise record, built from what converse() stored on each
// user message (was_noised, clean_content, noise): metadata.noisy_versions with the opening
// message under initial_query and noised follow-ups under follow_ups, and distractor_type.
// Only messages whose text actually changed appear, so the record never claims noise that
// is not there.
import type { Message } from "../schema/interaction.js";
import type { DistractorType } from "../schema/noise.js";

export interface NoisyVersion {
  noisy_text: string;
  /** The reference's layer: surface_noise, incomplete_information or semantic_ambiguity. */
  noise_type: string | null;
  applied_strategies: string[];
  /** Semantic rewrites: what a good assistant should do with the message. */
  target_behaviour?: string;
}

export interface NoisyQueryRecord {
  clean_query: string;
  noisy_versions: NoisyVersion[];
}

export interface NoisyVersionsRecord {
  initial_query?: NoisyQueryRecord;
  /** Noised follow-ups, by 1-based turn. */
  follow_ups?: Array<NoisyQueryRecord & { turn: number }>;
}

export interface NoiseMetadata {
  distractor_type?: DistractorType;
  noisy_versions?: NoisyVersionsRecord;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

function versionOf(message: Message): NoisyQueryRecord | undefined {
  const clean = message.metadata.clean_content;
  if (message.metadata.was_noised !== true || typeof clean !== "string" || clean === message.content)
    return undefined;
  const noise = asRecord(message.metadata.noise);
  const strategies = Array.isArray(noise.applied_strategies)
    ? noise.applied_strategies.filter((s): s is string => typeof s === "string")
    : [];
  const behaviour = asRecord(noise.semantic).target_behaviour;
  return {
    clean_query: clean,
    noisy_versions: [
      {
        noisy_text: message.content,
        noise_type: typeof noise.layer === "string" ? noise.layer : null,
        applied_strategies: strategies,
        ...(typeof behaviour === "string" ? { target_behaviour: behaviour } : {}),
      },
    ],
  };
}

/**
 * distractor_type (when a distractor of known type ran) and noisy_versions (when at least one
 * user message changed) for an interaction's metadata; empty for a clean conversation.
 */
export function noiseMetadata(messages: readonly Message[], distractorType?: DistractorType): NoiseMetadata {
  const record: NoisyVersionsRecord = {};
  const followUps: Array<NoisyQueryRecord & { turn: number }> = [];
  let turn = 0;
  for (const message of messages) {
    if (message.role !== "user") continue;
    turn++;
    const version = versionOf(message);
    if (!version) continue;
    if (turn === 1 && message.metadata.is_initial !== false) record.initial_query = version;
    else followUps.push({ turn, ...version });
  }
  if (followUps.length > 0) record.follow_ups = followUps;
  const noised = record.initial_query !== undefined || record.follow_ups !== undefined;
  return {
    ...(distractorType ? { distractor_type: distractorType } : {}),
    ...(noised ? { noisy_versions: record } : {}),
  };
}
