// The weighted pool of assistant models. One model is chosen per conversation from the
// conversation's own seeded stream and held by that conversation for all its turns: no
// shared mutable lock (the reference's thread-local lock is the flaw this replaces).
import type { ChatModel } from "../providers/types.js";
import { randomStream, weightedIndex } from "./random.js";

export interface PoolMember {
  model: ChatModel;
  /** Relative weight; weights need not sum to 1. */
  weight: number;
  temperature: number;
  maxTokens: number;
  /** System prompt for the assistant, if any. */
  systemPrompt?: string | undefined;
  /** Tokens of prompt and reply the model holds (providers/context-window.ts); default 128k. */
  contextWindow?: number | undefined;
}

export class AssistantPool {
  private readonly weights: number[];

  constructor(readonly members: readonly PoolMember[]) {
    if (members.length === 0) throw new Error("AssistantPool: at least one model is needed");
    if (members.some((m) => !(m.weight >= 0))) throw new Error("AssistantPool: weights must not be negative");
    this.weights = members.map((m) => m.weight);
    if (!this.weights.some((w) => w > 0))
      throw new Error("AssistantPool: at least one weight must be positive");
  }

  /** Normalised probabilities, in member order. */
  get probabilities(): number[] {
    const total = this.weights.reduce((a, b) => a + b, 0);
    return this.weights.map((w) => w / total);
  }

  /** The member for a conversation seeded `seed`: same seed, same choice. */
  choose(seed: number): PoolMember {
    const index = weightedIndex(randomStream(seed, "assistant_model"), this.weights);
    return this.members[index]!;
  }
}
