// The simulated user's statistics: how many asks its follow-ups took and why replies were
// rejected (the turn guards), what the stop judge decided, how long user turns are by
// persona style, how often they ask something, how varied they are (distinct-n) and which
// conversations are near-duplicates on the user side. Reads what the simulated user records
// (schema/interaction.ts: message metadata asks, rejections, unwrapped, continued_after_stop;
// interaction metadata user_simulator and judge_verdicts) defensively: interactions saved
// before those fields existed count as one ask per follow-up and no rejection.
//
// Memory: counters, one word-count table per communication style (at most STYLE_CAP), four
// distinct counters (exact to 65,536 n-grams each, then 16 KB sketches) and one 256-byte
// MinHash signature per conversation (up to MAX_SIGNATURES). No text is kept.
import { type FailureRecord, GUARD_NAMES, type Interaction, type Message } from "../schema/interaction.js";
import { NearDuplicateFinder, type NearDuplicateStats } from "./stats-near-duplicates.js";
import { featureValues } from "./stats-personas.js";
import { bump, CappedCounter, type Counts, LengthTally, OTHER, round } from "./stats-tally.js";
import { asksSomething, DistinctCounter, ngramHashes, words } from "./stats-text.js";

export { GUARD_NAMES };

/** The persona feature user-turn lengths are grouped by. */
export const STYLE_FEATURE = "communication_style";
export const UNSPECIFIED_STYLE = "unspecified";
const STYLE_CAP = 50;
/** Asks from which follow-ups share one bucket of asks_per_follow_up. */
const ASKS_TOP = 6;
const NAME_CAP = 100;

/** Words per user turn. */
export interface WordCounts {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  max: number;
}

export interface AskingShare {
  messages: number;
  /** Messages for which asksSomething() is true. */
  asking: number;
  share: number;
}

export interface Diversity {
  messages: number;
  /** Word tokens (unigrams) over all messages. */
  unigrams: number;
  distinct_unigrams: number;
  /** distinct_unigrams / unigrams. */
  distinct_1: number;
  /** Word pairs within a message. */
  bigrams: number;
  distinct_bigrams: number;
  /** distinct_bigrams / bigrams. */
  distinct_2: number;
  /** True when a distinct count passed 65,536 and is a HyperLogLog estimate (±0.8 %). */
  estimated: boolean;
}

export interface SimulatedUserStats {
  /** User messages after the opening one (the simulated user's turns). */
  follow_ups: number;
  /** Follow-ups that record `asks` (the rest predate the record and count as one ask). */
  follow_ups_with_record: number;
  /** Calls the follow-ups took, re-asks included. */
  asks: number;
  /** asks / follow_ups. */
  mean_asks: number;
  /** Follow-ups by the asks they took: "1", "2", …; ASKS_TOP and more under "ASKS_TOP+". */
  asks_per_follow_up: Counts;
  /** Follow-ups that took more than one ask. */
  reasked: number;
  /** reasked / follow_ups. */
  reask_share: number;
  /** Rejected replies recorded on follow-ups. */
  rejections: number;
  /** Those rejections by guard (every known guard listed, zeros included). */
  rejections_by_guard: Counts;
  /** Follow-ups unwrapped before use, and by how (json, quotes, markup). */
  unwrapped: number;
  unwrapped_by_kind: Counts;
  /** Follow-ups where the user wanted to stop before min_turns and was asked to go on. */
  continued_after_stop: number;
  /** The interactions' own summary (metadata.user_simulator), when they record one: it also
   *  counts the asks of the final "stop" reply, which leaves no message behind. */
  conversation_records: {
    interactions: number;
    asks: number;
    rejections: number;
    rejections_by_guard: Counts;
    prompt_formats: Counts;
  };
  /** Conversations in failures.ndjson with error_kind "user_simulator" (none saved), and the
   *  rejections of their last turn (FailureRecord.user_rejections) by guard. */
  failures: { conversations: number; rejections: number; rejections_by_guard: Counts };
  /** The stop judge (metadata.judge_verdicts). */
  judge: {
    /** Interactions with at least one verdict. */
    conversations: number;
    verdicts: number;
    /** Judged interactions with at least one verdict reached = true. */
    reached: number;
  };
  /** Words per user turn by persona_features.communication_style ("unspecified" when absent). */
  words_by_style: Record<string, { follow_ups: WordCounts; openings: WordCounts }>;
  /** Share of user turns that ask something (asksSomething). */
  asking: { follow_ups: AskingShare; openings: AskingShare };
  /** distinct-n of user turns over the whole run. */
  diversity: { follow_ups: Diversity; openings: Diversity };
  near_duplicates: NearDuplicateStats;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const positiveInteger = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 ? value : undefined;

/** The text the user meant: the clean text of a noised message, else what was sent. */
export function userText(message: Message): string {
  const clean = message.metadata?.clean_content;
  return typeof clean === "string" ? clean : String(message.content ?? "");
}

/** The persona's communication style as one label. */
export function styleOf(interaction: Interaction): string {
  return featureValues(interaction.persona_features?.[STYLE_FEATURE])[0] ?? UNSPECIFIED_STYLE;
}

class WordTally {
  readonly #tally = new LengthTally([0]);
  add(count: number): void {
    this.#tally.add(count);
  }
  summary(): WordCounts {
    const { count, mean, p50, p90, max } = this.#tally.summary();
    return { count, mean, p50, p90, max };
  }
}

class AskingTally {
  #messages = 0;
  #asking = 0;
  add(text: string): void {
    this.#messages++;
    if (asksSomething(text)) this.#asking++;
  }
  summary(): AskingShare {
    return {
      messages: this.#messages,
      asking: this.#asking,
      share: this.#messages > 0 ? round(this.#asking / this.#messages, 4) : 0,
    };
  }
}

class DiversityTally {
  #messages = 0;
  #unigrams = 0;
  #bigrams = 0;
  readonly #distinct1 = new DistinctCounter();
  readonly #distinct2 = new DistinctCounter();

  add(tokens: readonly string[]): void {
    this.#messages++;
    this.#unigrams += tokens.length;
    this.#bigrams += Math.max(0, tokens.length - 1);
    ngramHashes(tokens, this.#addUnigram, this.#addBigram);
  }

  readonly #addUnigram = (hash: number) => this.#distinct1.add(hash);
  readonly #addBigram = (hash: number) => this.#distinct2.add(hash);

  summary(): Diversity {
    const distinctUnigrams = this.#distinct1.count();
    const distinctBigrams = this.#distinct2.count();
    return {
      messages: this.#messages,
      unigrams: this.#unigrams,
      distinct_unigrams: distinctUnigrams,
      distinct_1: this.#unigrams > 0 ? round(Math.min(1, distinctUnigrams / this.#unigrams), 4) : 0,
      bigrams: this.#bigrams,
      distinct_bigrams: distinctBigrams,
      distinct_2: this.#bigrams > 0 ? round(Math.min(1, distinctBigrams / this.#bigrams), 4) : 0,
      estimated: this.#distinct1.estimated || this.#distinct2.estimated,
    };
  }
}

/** The guard of a recorded rejection ("unknown" when it names none). */
function guardName(rejection: unknown): string {
  const guard = isRecord(rejection) ? rejection.guard : undefined;
  return typeof guard === "string" && guard !== "" ? guard : "unknown";
}

/** Counts with every known guard first (zeros included), then any other name seen. */
function guardCounts(counter: CappedCounter): Counts {
  const seen = counter.top(NAME_CAP).values;
  const out: Counts = {};
  for (const guard of GUARD_NAMES) out[guard] = seen[guard] ?? 0;
  for (const [name, count] of Object.entries(seen)) if (!(name in out)) out[name] = count;
  return out;
}

export class SimulatedUserTally {
  #followUps = 0;
  #withRecord = 0;
  #asks = 0;
  #reasked = 0;
  readonly #asksPer: Counts = {};
  #rejections = 0;
  readonly #byGuard = new CappedCounter(NAME_CAP);
  #unwrapped = 0;
  readonly #unwrappedKinds = new CappedCounter(NAME_CAP);
  #continued = 0;
  readonly #records = {
    interactions: 0,
    asks: 0,
    rejections: 0,
    byGuard: new CappedCounter(NAME_CAP),
    formats: new CappedCounter(NAME_CAP),
  };
  readonly #failures = { conversations: 0, rejections: 0, byGuard: new CappedCounter(NAME_CAP) };
  readonly #judge = { conversations: 0, verdicts: 0, reached: 0 };
  readonly #styles = new Map<string, { follow_ups: WordTally; openings: WordTally }>();
  readonly #asking = { follow_ups: new AskingTally(), openings: new AskingTally() };
  readonly #diversity = { follow_ups: new DiversityTally(), openings: new DiversityTally() };
  readonly #duplicates = new NearDuplicateFinder();

  add(interaction: Interaction): void {
    const lengths = this.#styleTally(styleOf(interaction));
    const userTokens: string[] = [];
    let opening = true;
    for (const message of interaction.messages ?? []) {
      if (message.role !== "user") continue;
      const text = userText(message);
      const tokens = words(text);
      for (const token of tokens) userTokens.push(token);
      const kind = opening ? "openings" : "follow_ups";
      lengths[kind].add(tokens.length);
      this.#asking[kind].add(text);
      this.#diversity[kind].add(tokens);
      if (!opening) this.#addFollowUp(message.metadata ?? {});
      opening = false;
    }
    this.#duplicates.add(interaction.interaction_id, userTokens);
    this.#addRecord(interaction.metadata?.user_simulator);
    this.#addVerdicts(interaction.metadata?.judge_verdicts);
  }

  addFailure(failure: FailureRecord): void {
    if (failure.error_kind !== "user_simulator") return;
    this.#failures.conversations++;
    const rejections = Array.isArray(failure.user_rejections) ? failure.user_rejections : [];
    for (const rejection of rejections) {
      this.#failures.rejections++;
      this.#failures.byGuard.add(guardName(rejection));
    }
  }

  #styleTally(style: string) {
    // Past STYLE_CAP styles, new ones are counted together under OTHER.
    const key = this.#styles.has(style) || this.#styles.size < STYLE_CAP ? style : OTHER;
    let entry = this.#styles.get(key);
    if (!entry) {
      entry = { follow_ups: new WordTally(), openings: new WordTally() };
      this.#styles.set(key, entry);
    }
    return entry;
  }

  #addFollowUp(metadata: Record<string, unknown>): void {
    this.#followUps++;
    const rejections = Array.isArray(metadata.rejections) ? metadata.rejections : [];
    const recorded = positiveInteger(metadata.asks);
    if (recorded !== undefined) this.#withRecord++;
    // Without a record: one ask, plus one per rejection listed (a partial record).
    const asks = recorded ?? rejections.length + 1;
    this.#asks += asks;
    if (asks > 1) this.#reasked++;
    bump(this.#asksPer, asks >= ASKS_TOP ? `${ASKS_TOP}+` : String(asks));
    for (const rejection of rejections) {
      this.#rejections++;
      this.#byGuard.add(guardName(rejection));
    }
    const unwrapped = metadata.unwrapped;
    if (unwrapped !== undefined && unwrapped !== false && unwrapped !== null) {
      this.#unwrapped++;
      this.#unwrappedKinds.add(typeof unwrapped === "string" ? unwrapped : "unknown");
    }
    if (metadata.continued_after_stop === true) this.#continued++;
  }

  #addRecord(record: unknown): void {
    if (!isRecord(record)) return;
    const r = this.#records;
    r.interactions++;
    r.asks += positiveInteger(record.asks) ?? 0;
    if (isRecord(record.rejections))
      for (const [guard, count] of Object.entries(record.rejections)) {
        if (typeof count !== "number" || !Number.isFinite(count) || count <= 0) continue;
        r.rejections += count;
        r.byGuard.add(guard, count);
      }
    if (typeof record.prompt_format === "string") r.formats.add(record.prompt_format);
  }

  #addVerdicts(verdicts: unknown): void {
    if (!Array.isArray(verdicts) || verdicts.length === 0) return;
    this.#judge.conversations++;
    this.#judge.verdicts += verdicts.length;
    if (verdicts.some((v) => isRecord(v) && v.reached === true)) this.#judge.reached++;
  }

  summary(): SimulatedUserStats {
    const words_by_style: SimulatedUserStats["words_by_style"] = {};
    const styles = [...this.#styles.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    for (const [style, tally] of styles)
      words_by_style[style] = { follow_ups: tally.follow_ups.summary(), openings: tally.openings.summary() };
    const r = this.#records;
    return {
      follow_ups: this.#followUps,
      follow_ups_with_record: this.#withRecord,
      asks: this.#asks,
      mean_asks: this.#followUps > 0 ? round(this.#asks / this.#followUps, 4) : 0,
      asks_per_follow_up: { ...this.#asksPer },
      reasked: this.#reasked,
      reask_share: this.#followUps > 0 ? round(this.#reasked / this.#followUps, 4) : 0,
      rejections: this.#rejections,
      rejections_by_guard: guardCounts(this.#byGuard),
      unwrapped: this.#unwrapped,
      unwrapped_by_kind: this.#unwrappedKinds.top(NAME_CAP).values,
      continued_after_stop: this.#continued,
      conversation_records: {
        interactions: r.interactions,
        asks: r.asks,
        rejections: r.rejections,
        rejections_by_guard: guardCounts(r.byGuard),
        prompt_formats: r.formats.top(NAME_CAP).values,
      },
      failures: {
        conversations: this.#failures.conversations,
        rejections: this.#failures.rejections,
        rejections_by_guard: guardCounts(this.#failures.byGuard),
      },
      judge: { ...this.#judge },
      words_by_style,
      asking: { follow_ups: this.#asking.follow_ups.summary(), openings: this.#asking.openings.summary() },
      diversity: {
        follow_ups: this.#diversity.follow_ups.summary(),
        openings: this.#diversity.openings.summary(),
      },
      near_duplicates: this.#duplicates.summary(),
    };
  }
}
