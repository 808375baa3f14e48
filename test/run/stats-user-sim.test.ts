// The simulated-user section of `convosim stats`: re-asks and guard rejections, per-conversation
// records, failures, the stop judge, words per turn by style, the asking heuristic, distinct-n
// and near-duplicate conversations, checked against figures worked out by hand from
// stats-user-sim-fixtures.ts; and the parts (tokenizer, heuristic, distinct counter, MinHash).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeStats, formatStats } from "../../src/run/stats.js";
import {
  MINHASH_SIZE,
  minhash,
  NearDuplicateFinder,
  shingles,
  signatureSimilarity,
} from "../../src/run/stats-near-duplicates.js";
import { asksSomething, DistinctCounter, hash53, words } from "../../src/run/stats-text.js";
import { GUARD_NAMES } from "../../src/run/stats-user-sim.js";
import { assistantMessage, makeInteraction, tempDir, userMessage, writeRun } from "./stats-fixtures.js";
import { userSimFailures, userSimInteractions } from "./stats-user-sim-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const zeroGuards = Object.fromEntries(GUARD_NAMES.map((g) => [g, 0]));

describe("simulated user statistics", () => {
  it("counts asks, re-asks, rejections by guard, unwrapped and continued turns; old messages as one ask", async () => {
    await writeRun(dir, userSimInteractions(), userSimFailures());
    const u = (await computeStats(dir)).simulated_user;
    // Follow-ups: a 2, b 1, c 1, d 2 (old), e 2 (old), f 2. Asks: a 3+2, b 2, c 2, d 1+1,
    // e 1 + (1 rejection listed → 2), f 1+1 = 16.
    expect(u).toMatchObject({
      follow_ups: 10,
      follow_ups_with_record: 6,
      asks: 16,
      mean_asks: 1.6,
      asks_per_follow_up: { "1": 5, "2": 4, "3": 1 },
      reasked: 5,
      reask_share: 0.5,
      rejections: 6,
      unwrapped: 2,
      unwrapped_by_kind: { quotes: 1, json: 1 },
      continued_after_stop: 1,
    });
    // The failed conversation's last turn: three rejected asks, reported apart.
    expect(u.failures).toEqual({
      conversations: 1,
      rejections: 3,
      rejections_by_guard: { ...zeroGuards, empty: 2, repeats_user: 1 },
    });
    expect(u.rejections_by_guard).toEqual({
      ...zeroGuards,
      speaks_as_assistant: 2,
      wrapped: 1,
      too_long: 1,
      stage_direction: 1,
      copies_assistant: 1,
    });
    // Every known guard is listed, in the documented order.
    expect(Object.keys(u.rejections_by_guard)).toEqual([...GUARD_NAMES]);
  });

  it("sums the interactions' own records, including the asks of a failed last step", async () => {
    await writeRun(dir, userSimInteractions(), userSimFailures());
    const { conversation_records } = (await computeStats(dir)).simulated_user;
    expect(conversation_records).toEqual({
      interactions: 4,
      asks: 5 + 2 + 6 + 2,
      rejections: 3 + 1 + 5,
      rejections_by_guard: {
        ...zeroGuards,
        speaks_as_assistant: 2,
        wrapped: 1,
        too_long: 1,
        stage_direction: 1,
        empty: 1,
        prompt_leak: 2,
        verifier: 1,
      },
      prompt_formats: { chat: 3, transcript: 1 },
    });
  });

  it("leaves stop reasons in their table and adds the stop judge's verdicts", async () => {
    await writeRun(dir, userSimInteractions(), userSimFailures());
    const stats = await computeStats(dir);
    expect(stats.stop_reasons).toEqual({
      user_satisfied: 1,
      goal_reached: 1,
      user_sim_failed: 1,
      target_turns: 2,
      max_turns: 1,
    });
    expect(stats.simulated_user.judge).toEqual({ conversations: 2, verdicts: 4, reached: 1 });
    expect(stats.failures_by_kind).toEqual({ user_simulator: 1, rate_limit: 1 });
  });

  it("gives words per user turn by communication style, clean text first", async () => {
    await writeRun(dir, userSimInteractions());
    const { words_by_style } = (await computeStats(dir)).simulated_user;
    expect(Object.keys(words_by_style)).toEqual(["casual", "formal", "unspecified"]);
    // casual follow-ups: a 5, 5; c 9; e 7, 5; f 7, 5 → sorted 5 5 5 5 7 7 9.
    expect(words_by_style.casual).toEqual({
      follow_ups: { count: 7, mean: 6.14, p50: 5, p90: 9, max: 9 },
      openings: { count: 4, mean: 8.5, p50: 8, p90: 10, max: 10 },
    });
    // b's opening is noised: "Please explain recursion in Python." (5), not the noisy 6 words.
    expect(words_by_style.formal).toEqual({
      follow_ups: { count: 1, mean: 8, p50: 8, p90: 8, max: 8 },
      openings: { count: 1, mean: 5, p50: 5, p90: 5, max: 5 },
    });
    expect(words_by_style.unspecified?.follow_ups).toMatchObject({ count: 2, p50: 5, p90: 5 });
  });

  it("counts user turns that ask something, follow-ups and openings apart", async () => {
    await writeRun(dir, userSimInteractions());
    const { asking } = (await computeStats(dir)).simulated_user;
    // Asking follow-ups: "what about", "Could you", "Tell me", "what about" (d), "walk me
    // through" (e, f); not: "Thanks, that helps" ×2, "The hotel costs" ×2.
    expect(asking.follow_ups).toEqual({ messages: 10, asking: 6, share: 0.6 });
    // Openings: all but "My laptop will not turn on".
    expect(asking.openings).toEqual({ messages: 6, asking: 5, share: 0.8333 });
  });

  it("measures distinct-1 and distinct-2 over follow-ups and openings", async () => {
    await writeRun(dir, userSimInteractions());
    const { diversity } = (await computeStats(dir)).simulated_user;
    expect(diversity.follow_ups).toEqual({
      messages: 10,
      unigrams: 61,
      distinct_unigrams: 34,
      distinct_1: 0.5574,
      bigrams: 51,
      distinct_bigrams: 34,
      distinct_2: 0.6667,
      estimated: false,
    });
    expect(diversity.openings).toEqual({
      messages: 6,
      unigrams: 47,
      distinct_unigrams: 27,
      distinct_1: 0.5745,
      bigrams: 41,
      distinct_bigrams: 25,
      distinct_2: 0.6098,
      estimated: false,
    });
  });

  it("finds the identical and the near-identical pair of conversations", async () => {
    await writeRun(dir, userSimInteractions());
    const { near_duplicates } = (await computeStats(dir)).simulated_user;
    expect(near_duplicates).toMatchObject({
      threshold: 0.8,
      conversations_compared: 6,
      conversations_not_compared: 0,
      pairs: 2,
      conversations_in_pairs: 4,
      pairs_is_lower_bound: false,
    });
    expect(near_duplicates.examples.map(({ a, b }) => [a, b])).toEqual([
      ["a_new", "d_old"],
      ["e_old", "f_near"],
    ]);
    expect(near_duplicates.examples[0]?.similarity).toBe(1);
    // True Jaccard 19/21 ≈ 0.905; the 64-value estimate is within a few hundredths.
    expect(near_duplicates.examples[1]?.similarity).toBeGreaterThanOrEqual(0.8);
    expect(near_duplicates.examples[1]?.similarity).toBeLessThan(1);
  });

  it("reads a run of old interactions only: one ask each, nothing rejected, nothing judged", async () => {
    await writeRun(dir, [
      makeInteraction({
        id: "old",
        messages: [
          userMessage("hello there"),
          assistantMessage("hi"),
          userMessage("and you?"),
          assistantMessage("ok"),
        ],
      }),
      makeInteraction({ id: "one-turn" }),
    ]);
    const u = (await computeStats(dir)).simulated_user;
    expect(u).toMatchObject({
      follow_ups: 1,
      follow_ups_with_record: 0,
      asks: 1,
      reasked: 0,
      reask_share: 0,
      rejections: 0,
      rejections_by_guard: zeroGuards,
      conversation_records: { interactions: 0, asks: 0, rejections: 0, prompt_formats: {} },
      failures: { conversations: 0, rejections: 0 },
      judge: { conversations: 0, verdicts: 0, reached: 0 },
      asking: { follow_ups: { messages: 1, asking: 1, share: 1 } },
    });
    expect(Object.keys(u.words_by_style)).toEqual(["unspecified"]);
    // Both open with "hello there", but "old" has a follow-up too: their user turns differ.
    expect(u.near_duplicates).toMatchObject({ conversations_compared: 2, pairs: 0 });
  });

  it("shows the section in the text form", async () => {
    await writeRun(dir, userSimInteractions(), userSimFailures());
    const text = formatStats(await computeStats(dir));
    expect(text).toContain("simulated user:");
    expect(text).toContain(
      "follow-ups: 10, 16 asks (mean 1.60), 5 re-asked (50.0%), 4 without an asks record (counted as 1)",
    );
    expect(text).toContain(
      "rejections: 6 (speaks_as_assistant 2, copies_assistant 1, stage_direction 1, too_long 1, wrapped 1)",
    );
    expect(text).toContain("unwrapped: 2 (json 1, quotes 1)   continued after an early stop: 1");
    expect(text).toContain(
      "gave up: 1 saved with stop reason user_sim_failed, 1 failed (error_kind user_simulator); their last turns: empty 2, repeats_user 1",
    );
    expect(text).toContain("stop judge: 2 conversations judged (4 verdicts), 1 reached the expected outcome");
    expect(text).toContain("casual: n 7 median 5 p90 9 | n 4 median 8 p90 10");
    expect(text).toContain("asking something: follow-ups 6 of 10 (60.0%), openings 5 of 6 (83.3%)");
    expect(text).toContain("diversity, follow-ups: distinct-1 0.557 (34/61), distinct-2 0.667 (34/51)");
    expect(text).toMatch(
      /near-duplicate conversations \(user turns, Jaccard ≥ 0\.8\): 2 pairs, 4 conversations, of 6 compared/,
    );
    expect(text).toContain("a_new ~ d_old (1.00)");
  });
});

describe("asksSomething", () => {
  const asking = [
    "How do I parse a CSV file?",
    "is that right?",
    "what about the starter",
    "how to install it on windows",
    "What's the difference between them",
    "Can you show me the SQL",
    "ok so could you make it shorter",
    "Is there a faster way",
    "Does it work offline",
    "Please add error handling",
    "Explain the second step again",
    "Thanks. Now fix the test",
    "Thanks, walk me through it",
    "I need the version for Python 3.8",
    "I'd like a shorter answer",
    "let me know the command",
    "I was wondering whether it scales",
    "any tips for the exam",
    "hmm, tell me more",
    "why does it fail",
  ];
  const notAsking = [
    "Thanks, that helps a lot.",
    "Great, it works now.",
    "I see.",
    "When I run it, it crashes with a segfault.",
    "My laptop will not turn on",
    "The hotel costs 120 euros per night",
    "see https://x.io/a?b=1 for the log",
    "What a mess.",
    "",
  ];
  it.each(asking)("asks: %s", (text) => expect(asksSomething(text)).toBe(true));
  it.each(notAsking)("does not ask: %s", (text) => expect(asksSomething(text)).toBe(false));
});

describe("text measures", () => {
  it("words: lowercase letter and digit runs, inner apostrophes kept", () => {
    expect(words("Don’t PANIC: it's 42 — really, C3PO!")).toEqual([
      "don't",
      "panic",
      "it's",
      "42",
      "really",
      "c3po",
    ]);
    expect(words("   ")).toEqual([]);
    expect(words("Ça coûte 3 €")).toEqual(["ça", "coûte", "3"]);
  });

  it("DistinctCounter is exact up to its cap and a close estimate past it", () => {
    const small = new DistinctCounter(100);
    for (let i = 0; i < 250; i++) small.add(hash53(`w${i % 80}`));
    expect(small.count()).toBe(80);
    expect(small.estimated).toBe(false);

    const big = new DistinctCounter(1_000);
    for (let i = 0; i < 200_000; i++) big.add(hash53(`token ${i % 100_000}`));
    expect(big.estimated).toBe(true);
    expect(Math.abs(big.count() - 100_000) / 100_000).toBeLessThan(0.03);
  });

  it("MinHash: identical texts agree everywhere, near ones mostly, unrelated ones hardly", () => {
    const sig = (text: string) => minhash(shingles(words(text)));
    const base = "the quick brown fox jumps over the lazy dog near the old river bank today";
    expect(sig(base)).toHaveLength(MINHASH_SIZE);
    expect(signatureSimilarity(sig(base), sig(base))).toBe(1);
    expect(signatureSimilarity(sig(base), sig(base.replace("today", "tonight")))).toBeGreaterThan(0.75);
    expect(
      signatureSimilarity(sig(base), sig("an entirely different sentence about baking bread")),
    ).toBeLessThan(0.1);
    expect(shingles([])).toEqual(new Set());
    expect(shingles(["hi"]).size).toBe(1);
  });

  it("NearDuplicateFinder counts groups of copies as all their pairs and keeps its caps", () => {
    const finder = new NearDuplicateFinder({ maxSignatures: 5 });
    const text = words("can you help me plan a trip to rome in may");
    for (const id of ["c3", "c1", "c2", "c4"]) finder.add(id, text);
    finder.add("other", words("something else entirely about gardening tomatoes"));
    finder.add("late", text); // past the cap
    finder.add("empty", []); // no words: not compared
    expect(finder.summary()).toEqual({
      threshold: 0.8,
      conversations_compared: 5,
      conversations_not_compared: 1,
      pairs: 6,
      conversations_in_pairs: 4,
      pairs_is_lower_bound: false,
      examples: [{ a: "c1", b: "c2", similarity: 1 }],
    });
  });

  it("NearDuplicateFinder marks the pair count a lower bound when it runs out of checks", () => {
    const finder = new NearDuplicateFinder({ maxPairChecks: 1 });
    // Three texts that share a prefix but are not copies: candidates in several bands.
    const stem = "please give me a short summary of the meeting notes from monday morning";
    for (const end of ["one", "two", "three"]) finder.add(end, words(`${stem} ${end}`));
    const summary = finder.summary();
    expect(summary.pairs_is_lower_bound).toBe(true);
    expect(summary.pairs).toBeLessThanOrEqual(1);
  });
});
