// A deterministic sample of conversations for the report, drawn while the folder streams by.
// Each interaction gets a priority hash(seed, interaction_id) and the `size` lowest are kept
// (bottom-k sampling, a seeded form of reservoir sampling): uniform, independent of the order
// files are read in, and stable when a resumed run adds interactions (a kept one stays kept
// unless a newcomer hashes lower). Only the kept conversations are held, in a compact form.
import { featureValues } from "../run/stats-personas.js";
import type { Interaction } from "../schema/interaction.js";
import { hashKeys } from "../shared/hash.js";

/** Longer messages are cut in the report (the full text stays in the output folder). */
export const MAX_MESSAGE_CHARS = 4_000;

export interface SampledMessage {
  role: string;
  /** What was sent (for a user message: the noisy text the assistant saw). */
  content: string;
  /** The clean text of a noised user message. */
  clean?: string;
  noise?: { layer?: string; strategies: string[] };
}

export interface SampledConversation {
  interaction_id: string;
  persona_id: string;
  /** Feature key → its values as short strings (see featureValues). */
  features: Record<string, string[]>;
  assistant_model: string;
  user_model: string;
  stop_reason: string;
  num_turns: number;
  noised: boolean;
  messages: SampledMessage[];
}

/** 32 well-mixed bits from the seed and the id (shared/hash.ts). */
export function priority(seed: number, id: string): number {
  return hashKeys([`${seed}:${id}`]);
}

const cut = (text: string) =>
  text.length > MAX_MESSAGE_CHARS
    ? `${text.slice(0, MAX_MESSAGE_CHARS)}… [${text.length - MAX_MESSAGE_CHARS} more characters]`
    : text;

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];

export function compact(interaction: Interaction): SampledConversation {
  const model = (m: { provider?: string; model?: string } | undefined) =>
    `${m?.provider ?? "unknown"}/${m?.model ?? "unknown"}`;
  const features: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(interaction.persona_features ?? {})) {
    const values = featureValues(value);
    if (values.length > 0) features[key] = values;
  }
  const messages = interaction.messages.map((message): SampledMessage => {
    const metadata = message.metadata ?? {};
    const out: SampledMessage = { role: message.role, content: cut(message.content) };
    if (metadata.was_noised === true && typeof metadata.clean_content === "string") {
      out.clean = cut(metadata.clean_content);
      const noise = (metadata.noise ?? {}) as Record<string, unknown>;
      const semantic = noise.semantic as { strategy?: unknown } | undefined;
      const strategies = strings(noise.applied_strategies);
      if (typeof semantic?.strategy === "string" && !strategies.includes(semantic.strategy))
        strategies.push(semantic.strategy);
      out.noise = { ...(typeof noise.layer === "string" ? { layer: noise.layer } : {}), strategies };
    }
    return out;
  });
  return {
    interaction_id: interaction.interaction_id,
    persona_id: interaction.persona_id,
    features,
    assistant_model: model(interaction.metadata.assistant_model),
    user_model: model(interaction.metadata.user_model),
    stop_reason: String(interaction.metadata.stop_reason ?? "unknown"),
    num_turns: interaction.num_turns,
    noised:
      interaction.metadata.distractor_applied === true ||
      interaction.messages.some((m) => m.metadata?.was_noised === true),
    messages,
  };
}

interface Entry {
  key: number;
  conversation: SampledConversation;
}

// Max-heap order: the entry with the highest priority (ties: the greater id) is evicted first.
const above = (a: Entry, b: Entry) =>
  a.key !== b.key ? a.key > b.key : a.conversation.interaction_id > b.conversation.interaction_id;

export class ConversationSampler {
  readonly #heap: Entry[] = [];
  #seen = 0;

  constructor(
    readonly size: number,
    readonly seed: number,
  ) {}

  /** Conversations offered so far. */
  get seen(): number {
    return this.#seen;
  }

  offer(interaction: Interaction): void {
    this.#seen++;
    if (this.size <= 0) return;
    const key = priority(this.seed, interaction.interaction_id);
    const heap = this.#heap;
    if (heap.length < this.size) {
      heap.push({ key, conversation: compact(interaction) });
      this.#up(heap.length - 1);
      return;
    }
    const root = heap[0];
    const candidate = {
      key,
      conversation: { interaction_id: interaction.interaction_id } as SampledConversation,
    };
    if (!root || !above(root, candidate)) return;
    // Only now is the interaction worth compacting.
    heap[0] = { key, conversation: compact(interaction) };
    this.#down(0);
  }

  /** The kept conversations, ordered by id so the report reads the same on every build. */
  result(): SampledConversation[] {
    return this.#heap
      .map((entry) => entry.conversation)
      .sort((a, b) =>
        a.interaction_id < b.interaction_id ? -1 : a.interaction_id > b.interaction_id ? 1 : 0,
      );
  }

  #up(index: number): void {
    const heap = this.#heap;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const [child, up] = [heap[i], heap[parent]];
      if (!child || !up || !above(child, up)) break;
      [heap[i], heap[parent]] = [up, child];
      i = parent;
    }
  }

  #down(index: number): void {
    const heap = this.#heap;
    let i = index;
    for (;;) {
      let largest = i;
      for (const child of [2 * i + 1, 2 * i + 2]) {
        const [c, l] = [heap[child], heap[largest]];
        if (c && l && above(c, l)) largest = child;
      }
      if (largest === i) return;
      [heap[i], heap[largest]] = [heap[largest] as Entry, heap[i] as Entry];
      i = largest;
    }
  }
}
