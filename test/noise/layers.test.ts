// Each rule-based strategy, forced alone on a message it applies to, does its one kind of change.
import { describe, expect, it } from "vitest";
import { applyNoise, STRATEGIES } from "../../src/noise/apply.js";
import { lexicon } from "../../src/noise/lexicon.js";

/** Only `name`, forced; every other strategy off. */
function forceOnly(name: string, text: string, persona: Record<string, unknown> = {}, seed = 0) {
  const strategies = Object.fromEntries(
    STRATEGIES.map((s) => [s.name, s.name === name ? { mandatory: true } : { enabled: false }]),
  );
  return applyNoise(text, persona, { probability: 1, seed, strategies, ensureChange: false });
}

// The guard rail allows 5 % of a message's characters (case aside): a change of three characters
// needs a message of 60, so short examples sit behind this neutral sentence.
// (It offers no site to any strategy but the message-wide ones.)
const PAD = "Calm, normal, stable, green, fine, steady, unchanged overnight, honestly;\n";

const CASES: Array<[string, string, (noisy: string) => boolean, Record<string, unknown>?]> = [
  ["lowercase", "Can you help Me with This?", (n) => n === "can you help me with this?"],
  ["no_final_punctuation", "Can you help me with this?", (n) => n === "Can you help me with this"],
  ["punctuation_run", `${PAD}Why is this broken?`, (n) => /broken(\?\?|\?!|\?\?\?|\?!!)$/.test(n)],
  ["dropped_apostrophe", "I don't know why it fails", (n) => n === "I dont know why it fails"],
  ["textism", `${PAD}Please tell me because I need it`, (n) => /\b(pls|plz|bc|cuz|bcuz)\b/.test(n)],
  ["stretched_vowel", `${PAD}This is so slow today`, (n) => /\bs(o{3,}|lo{3,}w)\b/.test(n)],
  [
    "emoji",
    `${PAD}It works now, thanks.`,
    (n) => /It works now, thanks\. \p{Extended_Pictographic}$/u.test(n),
  ],
  ["filler", `${PAD}How do I reset it?`, (n) => n.length > PAD.length + 18 && n.includes("reset it")],
  [
    "split_message",
    "It crashed again. What should I do?",
    (n) => n === "It crashed again.\nWhat should I do?",
  ],
  [
    "incomplete_sentence",
    `${PAD}I am trying to install the driver on my old laptop again, since the last update.`,
    (n) => /^(t|T)rying to install the driver on/.test(n.slice(PAD.length)),
  ],
  [
    "misspelling",
    `${PAD}This is definitely necessary`,
    (n) => /definately|definitly|defintely|definatly|neccessary|necessery|neccesary/.test(n),
  ],
  [
    "real_word_confusion",
    `${PAD}Their report is ready`,
    (n) => n.endsWith("There report is ready") || n.endsWith("They're report is ready"),
  ],
  ["word_segmentation", `${PAD}I need a lot of help with the setup`, (n) => /alot|set up/.test(n)],
  [
    "keyboard_slip",
    "Something is wrong with the keyboard",
    (n) => n !== "Something is wrong with the keyboard",
  ],
  [
    "learner_grammar",
    `${PAD}It doesn't work when I open the file and it depends on the setting`,
    (n) => /don't|depends of|open file|on setting/.test(n),
    { native_language: "Portuguese" },
  ],
  [
    "run_on",
    "It crashed. I restarted it, and it crashed again.",
    (n) => n.split(/[.,]/).length < 4,
    { channel: "voice" },
  ],
  ["stray_line_break", `${"word ".repeat(30)}end.`, (n) => n.includes("\n"), { channel: "paste" }],
  [
    "leftover_markdown",
    `${PAD}Here is what I see.`,
    (n) => /^(> |- |\* |## )Calm/.test(n),
    { channel: "paste" },
  ],
];

describe("each strategy", () => {
  it.each(CASES)("%s", (name, text, check, persona) => {
    const result = forceOnly(name, text, persona);
    expect(result.changed).toBe(true);
    expect(check(result.noisy_text), result.noisy_text).toBe(true);
    expect(new Set(result.edits.map((e) => e.strategy))).toEqual(new Set([name]));
    expect(result.applied_strategies).toContain(name);
    expect(result.layer).toBe("surface_noise");
  });

  it("covers every strategy but idiosyncrasy (tested with steering)", () => {
    expect(new Set(CASES.map(([name]) => name))).toEqual(
      new Set(STRATEGIES.map((s) => s.name).filter((n) => n !== "idiosyncrasy")),
    );
  });
});

describe("strategy settings", () => {
  const text = "I think their report is definitely wrong. Can you check it?";

  it("disables a whole family by the reference's name", () => {
    for (let seed = 0; seed < 40; seed++) {
      const result = applyNoise(
        text,
        { communication_style: "casual" },
        {
          probability: 1,
          seed,
          strategies: { typo_misspelling: { enabled: false } },
        },
      );
      for (const edit of result.edits)
        expect(["keyboard_slip", "misspelling", "real_word_confusion", "idiosyncrasy"]).not.toContain(
          edit.strategy,
        );
    }
  });

  it("lists the reference's names before ours and names the layers", () => {
    const result = forceOnly("misspelling", text);
    expect(result.applied_strategies).toEqual(["typo_misspelling", "misspelling"]);
    expect(result.layers).toEqual(["L1_spelling"]);
    const grammar = forceOnly("learner_grammar", `${PAD}I open the file`, { native_language: "Polish" });
    expect(grammar.applied_strategies).toEqual(["learner_grammar"]);
    expect(grammar.layers).toEqual(["L3_grammar"]);
  });

  it("gates a strategy by its probability setting", () => {
    const off = applyNoise(text, {}, { probability: 1, strategies: { lowercase: { probability: 0 } } });
    expect(off.edits.filter((e) => e.strategy === "lowercase")).toEqual([]);
  });
});

describe("persona-driven choice", () => {
  it("gives learner-English slips only to learners", () => {
    const text = "It doesn't work when I open the file and I tried the other option at night.";
    const count = (persona: Record<string, unknown>) =>
      Array.from({ length: 60 }, (_, seed) => applyNoise(text, persona, { probability: 1, seed })).filter(
        (r) => r.applied_strategies.includes("learner_grammar"),
      ).length;
    expect(count({ native_language: "Portuguese", english_proficiency: "intermediate" })).toBeGreaterThan(10);
    expect(count({ native_language: "English" })).toBe(0);
  });

  it("gives voice dictation no misspellings, no emoji and no textisms", () => {
    const text = "Please tell me because I definitely need the information tomorrow. Thanks!";
    for (let seed = 0; seed < 60; seed++) {
      const result = applyNoise(text, { channel: "voice" }, { probability: 1, seed });
      for (const name of ["misspelling", "emoji", "textism"])
        expect(result.applied_strategies).not.toContain(name);
    }
  });

  it("ships a misspelling list of a few hundred words", () => {
    expect(lexicon().misspellings.size).toBeGreaterThan(250);
    expect(lexicon().habitWords.length).toBeGreaterThan(30);
  });
});
