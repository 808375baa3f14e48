// The arithmetic behind run estimates: counters per (assistant model, turn target) that a
// stream of tasks adds to one at a time (memory does not grow with the input), and the token
// counts they imply. Kept apart from estimate.ts, which knows prompts and the config.
import type { PriceTable } from "../conversation/pricing.js";
import type { TurnLimits } from "../conversation/turn-rules.js";

export interface ModelRef {
  provider: string;
  model: string;
  /** max_completion_tokens of the calls this model makes in its role. */
  maxTokens: number;
}

export interface Range {
  expected: number;
  max: number;
}

export interface CallRange extends Range {
  min: number;
}

export interface EstimateRow {
  role:
    | "assistant"
    | "user"
    | "style_transfer"
    | "query_generation"
    | "scenario_generation"
    | "stop_judge"
    | "turn_verifier"
    | "distractor";
  provider: string;
  model: string;
  /** Assistant rows: the share of conversations this pool model gets. */
  share?: number;
  calls: CallRange;
  promptTokens: Range;
  completionTokens: Range;
  costUsd: Range;
  /** False when no price is known for a paid provider: its cost counts as 0. */
  priced: boolean;
}

/** Calls and tokens of one role, before pricing. */
export interface Part {
  calls: CallRange;
  prompt: Range;
  completion: Range;
}

export interface TallyShape {
  members: readonly ModelRef[];
  /** Each pool member's chance of being chosen (AssistantPool.probabilities). */
  probabilities: readonly number[];
  limits: TurnLimits;
  /** Tokens the assistant's system prompt adds to every assistant call (0 without one). */
  assistantSystem: number;
  /** Tokens per chat message that chars/4 does not see. */
  overhead: number;
  /**
   * The stop judge's transcript, per message: at most `message` tokens of text (long messages
   * are shortened) plus `label`; and the most of an assistant reply the turn verifier is shown.
   */
  transcript: { message: number; label: number };
  verifierReply: number;
}

/**
 * Tokens sent besides the history, per conversation, on every call of a role: the simulated
 * user's system prompt and notes; the stop judge's template, query, expected outcome and opening
 * message; the turn verifier's template, persona and scenario. A range where a generated
 * scenario or a styled opening is not known yet. Judge and verifier are 0 when they are off.
 */
export interface FixedPrompts {
  user: Range;
  judge: Range;
  verifier: Range;
}

// Sums over the conversations in one bucket (same pool member, same turn target, same bound).
interface Bucket {
  member: number;
  turns: number;
  boundTurns: number;
  n: number;
  minAssistant: number;
  minUser: number;
  openingExpected: number;
  openingMax: number;
  /** FixedPrompts, summed: what every call of the role sends besides the history. */
  userFixedExpected: number;
  userFixedMax: number;
  judgeFixedExpected: number;
  judgeFixedMax: number;
  verifierFixedExpected: number;
  verifierFixedMax: number;
}

const FIXED_SUMS = [
  "userFixedExpected",
  "userFixedMax",
  "judgeFixedExpected",
  "judgeFixedMax",
  "verifierFixedExpected",
  "verifierFixedMax",
] as const;

function fixedSums(n: number, fixed: FixedPrompts): Pick<Bucket, (typeof FIXED_SUMS)[number]> {
  return {
    userFixedExpected: n * fixed.user.expected,
    userFixedMax: n * fixed.user.max,
    judgeFixedExpected: n * fixed.judge.expected,
    judgeFixedMax: n * fixed.judge.max,
    verifierFixedExpected: n * fixed.verifier.expected,
    verifierFixedMax: n * fixed.verifier.max,
  };
}

interface Helper {
  calls: number;
  prompt: number;
}

export function rowKey(role: EstimateRow["role"], ref: ModelRef): string {
  return `${role}\0${ref.provider}/${ref.model}`;
}

export function emptyRow(role: EstimateRow["role"], ref: ModelRef, priced: boolean): EstimateRow {
  return {
    role,
    provider: ref.provider,
    model: ref.model,
    calls: { min: 0, expected: 0, max: 0 },
    ...emptyRanges(),
    priced,
  };
}

/** Adds a role's calls and tokens to a row, priced as generate() prices real calls. */
export function addPart(row: EstimateRow, part: Part, prices: PriceTable): void {
  row.calls.min += part.calls.min;
  row.calls.expected += part.calls.expected;
  row.calls.max += part.calls.max;
  for (const pick of ["expected", "max"] as const) {
    row.promptTokens[pick] += part.prompt[pick];
    row.completionTokens[pick] += part.completion[pick];
    row.costUsd[pick] += prices.cost(row.provider, row.model, {
      prompt_tokens: part.prompt[pick],
      completion_tokens: part.completion[pick],
    });
  }
}

/** The sums of rows: a run's (or one conversation's) calls, tokens and cost. */
export function totals(
  rows: readonly EstimateRow[],
): Pick<EstimateRow, "calls" | "promptTokens" | "completionTokens" | "costUsd"> {
  const sum = { calls: { min: 0, expected: 0, max: 0 }, ...emptyRanges() };
  for (const r of rows) {
    sum.calls.min += r.calls.min;
    for (const pick of ["expected", "max"] as const) {
      sum.calls[pick] += r.calls[pick];
      sum.promptTokens[pick] += r.promptTokens[pick];
      sum.completionTokens[pick] += r.completionTokens[pick];
      sum.costUsd[pick] += r.costUsd[pick];
    }
  }
  return sum;
}

function emptyRanges() {
  return {
    promptTokens: { expected: 0, max: 0 },
    completionTokens: { expected: 0, max: 0 },
    costUsd: { expected: 0, max: 0 },
  };
}

export class Tally {
  conversations = 0;
  supplementConversations = 0;
  /** False once a task's turn target had to be spread over the range (a summary has no seeds). */
  exactTurns = true;
  readonly #buckets = new Map<string, Bucket>();
  readonly #helpers = {
    style: { calls: 0, prompt: 0 },
    queries: { calls: 0, prompt: 0 },
    scenario: { calls: 0, prompt: 0 },
  };
  /** Semantic noise: user messages that may be rewritten (at most), expected rewrites, prompt sizes. */
  readonly #semantic = { messages: 0, expected: 0, prompt: 0, prompts: 0 };
  #openingSum = 0;
  #openingCount = 0;

  constructor(readonly shape: TallyShape) {}

  get limits(): TurnLimits {
    return this.shape.limits;
  }

  get styleCalls(): number {
    return this.#helpers.style.calls;
  }

  get queryCalls(): number {
    return this.#helpers.queries.calls;
  }

  get scenarioCalls(): number {
    return this.#helpers.scenario.calls;
  }

  /** Average opening tokens so far (for conversations whose query is not known yet). */
  get averageOpening(): number {
    return this.#openingCount > 0 ? this.#openingSum / this.#openingCount : 16;
  }

  /** One conversation whose pool member and turn target are known (drawn from its seed). */
  task(member: number, turns: number, opening: Range, fixed: FixedPrompts): void {
    const { minTurns } = this.limits;
    const early = turns > minTurns; // the user may stop once min_turns are done
    this.#add(
      { member, turns, boundTurns: turns },
      {
        n: 1,
        minAssistant: early ? minTurns : turns,
        minUser: early ? minTurns : turns - 1,
        openingExpected: opening.expected,
        openingMax: opening.max,
        ...fixedSums(1, fixed),
      },
    );
    this.#openingSum += opening.expected;
    this.#openingCount += 1;
  }

  /** `count` conversations with unknown seeds: pool members by weight, targets evenly over the range. */
  spread(count: number, opening: Range, fixed: FixedPrompts): void {
    if (count <= 0) return;
    this.exactTurns = false;
    const { minTurns, maxTurns } = this.limits;
    const targets = maxTurns - minTurns + 1;
    for (const [member, p] of this.shape.probabilities.entries()) {
      if (p === 0) continue;
      for (let turns = minTurns; turns <= maxTurns; turns++) {
        const n = (count * p) / targets;
        this.#add(
          { member, turns, boundTurns: maxTurns },
          {
            n,
            minAssistant: n * minTurns,
            minUser: n * (minTurns - 1),
            openingExpected: n * opening.expected,
            openingMax: n * opening.max,
            ...fixedSums(n, fixed),
          },
        );
      }
    }
  }

  /** Conversations a supplement round adds (their queries do not exist yet). */
  supplement(count: number, opening: Range, fixed: FixedPrompts): void {
    const exact = this.exactTurns; // reported apart: see supplementConversations
    this.spread(count, opening, fixed);
    this.exactTurns = exact;
    this.supplementConversations += count;
  }

  style(promptTokens: number, count = 1): void {
    this.#helpers.style.calls += count;
    this.#helpers.style.prompt += promptTokens * count;
  }

  /** Scenario-generation calls: one per conversation whose query brings no scenario. */
  scenario(promptTokens: number, count = 1): void {
    this.#helpers.scenario.calls += count;
    this.#helpers.scenario.prompt += promptTokens * count;
  }

  queryGeneration(promptTokens: number): void {
    this.#helpers.queries.calls += 1;
    this.#helpers.queries.prompt += promptTokens;
  }

  /**
   * User messages that the distractor's semantic layers may rewrite (`expected` of them on
   * average, `max` at most), each with chance `share` (activation × the semantic layers' weight);
   * `promptTokens` per call (message + template).
   */
  semantic(expected: number, max: number, share: number, promptTokens: number): void {
    this.#semantic.expected += expected * share;
    this.#semantic.messages += max;
    this.#semantic.prompt += promptTokens;
    this.#semantic.prompts += 1;
  }

  get semanticMessages(): number {
    return this.#semantic.messages;
  }

  /**
   * The semantic layers' calls: a rewrite and a verdict per attempt; expected one attempt per
   * message drawn, at most `attempts` for every message.
   */
  semanticUsage(expectedTokens: number, maxTokens: number, attempts: number): Part {
    const s = this.#semantic;
    const prompt = s.prompts > 0 ? s.prompt / s.prompts : 0;
    return {
      calls: { min: 0, expected: 2 * s.expected, max: 2 * attempts * s.messages },
      prompt: { expected: 2 * s.expected * prompt, max: 2 * attempts * s.messages * prompt },
      completion: { expected: 2 * s.expected * expectedTokens, max: 2 * attempts * s.messages * maxTokens },
    };
  }

  /** A helper role's calls: one per item expected, up to `repeats` per item at most. */
  helperUsage(
    which: "style" | "queries" | "scenario",
    expectedTokens: number,
    maxTokens: number,
    repeats: number,
  ): Part {
    const h: Helper = this.#helpers[which];
    return {
      calls: { min: h.calls, expected: h.calls, max: h.calls * repeats },
      prompt: { expected: h.prompt, max: h.prompt * repeats },
      completion: { expected: h.calls * expectedTokens, max: h.calls * maxTokens * repeats },
    };
  }

  /**
   * Assistant, simulated-user, stop-judge and turn-verifier calls and tokens of the conversations
   * held by one pool member. `verdicts` are the judge's and verifier's reply tokens per call
   * (their parts are left out of a row while they are off).
   */
  conversationParts(
    member: number,
    ratios: { assistant: number; user: number },
    userMaxTokens: number,
    verdicts: { judge: Range; verifier: Range } = { judge: ZERO, verifier: ZERO },
  ): { conversations: number; assistant: Part; user: Part; judge: Part; verifier: Part } {
    const ref = this.shape.members[member]!;
    const { minTurns } = this.limits;
    const assistant = emptyPart();
    const user = emptyPart();
    const judge = emptyPart();
    const verifier = emptyPart();
    let conversations = 0;
    for (const b of this.#buckets.values()) {
      if (b.member !== member) continue;
      conversations += b.n;
      assistant.calls.min += b.minAssistant;
      user.calls.min += b.minUser;
      // Stopping at min_turns: the judge has looked once (if the target lay beyond), and every
      // user message but the stop was verified.
      judge.calls.min += b.turns > minTurns ? b.n : 0;
      verifier.calls.min += b.minAssistant - b.n;
      const cases = [
        [
          "expected",
          b.turns,
          ratios.assistant * ref.maxTokens,
          ratios.user * userMaxTokens,
          b.openingExpected,
          b.userFixedExpected,
          b.judgeFixedExpected,
          b.verifierFixedExpected,
        ],
        [
          "max",
          b.boundTurns,
          ref.maxTokens,
          userMaxTokens,
          b.openingMax,
          b.userFixedMax,
          b.judgeFixedMax,
          b.verifierFixedMax,
        ],
      ] as const;
      for (const [pick, t, a, u, opening, userFixed, judgeFixed, verifierFixed] of cases) {
        const tokens = conversationTokens(t, b.n, opening, userFixed, a, u, this.shape);
        assistant.calls[pick] += b.n * t;
        user.calls[pick] += b.n * (t - 1);
        assistant.prompt[pick] += tokens.assistantPrompt;
        assistant.completion[pick] += b.n * t * a;
        user.prompt[pick] += tokens.userPrompt;
        user.completion[pick] += b.n * (t - 1) * u;
        const judged = judgeTokens(t, minTurns, b.n, judgeFixed, a, u, this.shape);
        judge.calls[pick] += judged.calls;
        judge.prompt[pick] += judged.prompt;
        judge.completion[pick] += judged.calls * verdicts.judge[pick];
        // One verdict per user message, on the assistant's reply before it (cut) and the message.
        const verified = b.n * (t - 1);
        verifier.calls[pick] += verified;
        verifier.prompt[pick] +=
          (t - 1) * verifierFixed + verified * (Math.min(a, this.shape.verifierReply) + u);
        verifier.completion[pick] += verified * verdicts.verifier[pick];
      }
    }
    return { conversations, assistant, user, judge, verifier };
  }

  #add(key: Pick<Bucket, "member" | "turns" | "boundTurns">, sums: Omit<Bucket, keyof typeof key>): void {
    const id = `${key.member}:${key.turns}:${key.boundTurns}`;
    let bucket = this.#buckets.get(id);
    if (!bucket) {
      bucket = {
        ...key,
        n: 0,
        minAssistant: 0,
        minUser: 0,
        openingExpected: 0,
        openingMax: 0,
        ...fixedSums(0, NO_FIXED),
      };
      this.#buckets.set(id, bucket);
    }
    bucket.n += sums.n;
    bucket.minAssistant += sums.minAssistant;
    bucket.minUser += sums.minUser;
    bucket.openingExpected += sums.openingExpected;
    bucket.openingMax += sums.openingMax;
    for (const k of FIXED_SUMS) bucket[k] += sums[k];
    this.conversations += sums.n;
  }
}

const ZERO: Range = { expected: 0, max: 0 };
const NO_FIXED: FixedPrompts = { user: ZERO, judge: ZERO, verifier: ZERO };

function emptyPart(): Part {
  return {
    calls: { min: 0, expected: 0, max: 0 },
    prompt: { expected: 0, max: 0 },
    completion: { expected: 0, max: 0 },
  };
}

/**
 * Prompt tokens of `n` conversations of `t` turns whose openings sum to `opening` tokens and
 * whose user-side fixed prompts sum to `userFixed`, with replies of `a` (assistant) and `u`
 * (user) tokens. Every call resends the history, each message with `overhead` tokens:
 * - assistant call k (1..t): system + opening + (k-1) × (reply + follow-up);
 * - user call k (1..t-1), after reply k: fixed + opening + k replies + (k-1) follow-ups.
 * Linear in the sums, so one bucket stands for any number of conversations.
 */
export function conversationTokens(
  t: number,
  n: number,
  opening: number,
  userFixed: number,
  a: number,
  u: number,
  shape: Pick<TallyShape, "assistantSystem" | "overhead">,
): { assistantPrompt: number; userPrompt: number } {
  const o = shape.overhead;
  const pairs = (t * (t - 1)) / 2; // Σ_{k=1..t} (k-1), also Σ_{k=1..t-1} k
  const userFollowUps = ((t - 1) * (t - 2)) / 2; // Σ_{k=1..t-1} (k-1)
  const assistantPrompt = t * (n * shape.assistantSystem + opening + n * o) + n * (a + u + 2 * o) * pairs;
  const userPrompt =
    (t - 1) * (userFixed + opening + n * o) + n * (a + o) * pairs + n * (u + o) * userFollowUps;
  return { assistantPrompt, userPrompt };
}

/**
 * The stop judge's calls and prompt tokens over `n` conversations of `t` turns whose fixed judge
 * prompts (template, query, outcome, opening) sum to `fixed`, with replies of `a` and `u` tokens.
 * It looks after each assistant reply k from min_turns until the reply that ends the conversation
 * (k = m..t-1), each time at the transcript so far: the opening, k replies and k-1 follow-ups,
 * each message shortened to at most `transcript.message` tokens and labelled.
 */
export function judgeTokens(
  t: number,
  m: number,
  n: number,
  fixed: number,
  a: number,
  u: number,
  shape: Pick<TallyShape, "transcript">,
): { calls: number; prompt: number } {
  const looks = Math.max(0, t - m);
  const replies = (looks * (m + t - 1)) / 2; // Σ_{k=m..t-1} k
  const followUps = replies - looks; // Σ_{k=m..t-1} (k-1)
  const { message, label } = shape.transcript;
  const prompt =
    looks * fixed +
    n * (replies * (Math.min(a, message) + label) + followUps * (Math.min(u, message) + label));
  return { calls: n * looks, prompt };
}
