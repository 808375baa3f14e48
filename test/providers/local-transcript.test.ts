import { describe, expect, it } from "vitest";
import {
  buildTranscript,
  cleanCompletion,
  DEFAULT_PREAMBLE,
  fitTranscript,
  transcriptStopTriggers,
} from "../../src/providers/local/transcript.js";
import type { ChatMessage } from "../../src/providers/types.js";

const twoTurns: ChatMessage[] = [
  { role: "system", content: "You are a concise assistant." },
  { role: "user", content: "What is the capital of France?" },
  { role: "assistant", content: "Paris." },
  { role: "user", content: "And how many people live there?" },
];

describe("buildTranscript", () => {
  it("renders the system text, the turns and ends with the assistant prefix", () => {
    const { prompt, droppedMessages } = buildTranscript(twoTurns);
    expect(prompt).toBe(
      "You are a concise assistant.\n\n" +
        "User: What is the capital of France?\n" +
        "Assistant: Paris.\n" +
        "User: And how many people live there?\n" +
        "Assistant:",
    );
    expect(droppedMessages).toBe(0);
  });

  it("frames the transcript itself when there is no system message", () => {
    const { prompt } = buildTranscript([{ role: "user", content: "hi" }]);
    expect(prompt).toBe(`${DEFAULT_PREAMBLE}\n\nUser: hi\nAssistant:`);
  });

  it("joins several system messages, wherever they are, into the preamble", () => {
    const { prompt } = buildTranscript([
      { role: "system", content: "Rule one." },
      { role: "user", content: "hi" },
      { role: "system", content: "  Rule two.  " },
    ]);
    expect(prompt.startsWith("Rule one.\n\nRule two.\n\nUser: hi\nAssistant:")).toBe(true);
  });

  it("collapses blank lines inside a turn, since a blank line ends a generated turn", () => {
    const { prompt } = buildTranscript([{ role: "user", content: "line one\r\n\r\n  \nline two\n" }]);
    expect(prompt).toContain("User: line one\nline two\nAssistant:");
    expect(prompt.split("\n\n")).toHaveLength(2);
  });

  it("uses custom speaker labels in turns, the final prefix and the stop triggers", () => {
    const labels = { user: "Support agent", assistant: "Maria" };
    const { prompt, stopTriggers } = buildTranscript(twoTurns.slice(1, 3), labels);
    expect(prompt.endsWith("Support agent: What is the capital of France?\nMaria: Paris.\nMaria:")).toBe(
      true,
    );
    expect(stopTriggers).toEqual(["\nSupport agent:", "\nMaria:", "\n\n"]);
  });
});

describe("transcriptStopTriggers", () => {
  it("stops at either speaker's next line and at a blank line", () => {
    expect(transcriptStopTriggers()).toEqual(["\nUser:", "\nAssistant:", "\n\n"]);
  });
});

describe("fitTranscript", () => {
  // A stand-in tokenizer: one token per 4 characters.
  const countTokens = (prompt: string) => Math.ceil(prompt.length / 4);
  const long: ChatMessage[] = [
    { role: "system", content: "System rules that must always stay." },
    ...Array.from({ length: 6 }, (_, i): ChatMessage[] => [
      { role: "user", content: `question ${i} ${"x".repeat(80)}` },
      { role: "assistant", content: `answer ${i} ${"y".repeat(80)}` },
    ]).flat(),
    { role: "user", content: "the last question" },
  ];

  it("keeps everything when the budget allows", () => {
    const full = buildTranscript(long);
    const fitted = fitTranscript(long, { countTokens, maxPromptTokens: countTokens(full.prompt) });
    expect(fitted.prompt).toBe(full.prompt);
    expect(fitted.droppedMessages).toBe(0);
  });

  it("drops the oldest turns first and keeps the system text and the last message", () => {
    const budget = 150;
    const fitted = fitTranscript(long, { countTokens, maxPromptTokens: budget });
    expect(countTokens(fitted.prompt)).toBeLessThanOrEqual(budget);
    expect(fitted.droppedMessages).toBeGreaterThan(0);
    expect(fitted.prompt.startsWith("System rules that must always stay.\n\n")).toBe(true);
    expect(fitted.prompt.endsWith("User: the last question\nAssistant:")).toBe(true);
    expect(fitted.prompt).not.toContain("question 0");
    // Keeping one more (older) message would have broken the budget: nothing was dropped needlessly.
    const [system, ...turns] = long;
    const oneMore = buildTranscript([system!, ...turns.slice(fitted.droppedMessages - 1)]);
    expect(countTokens(oneMore.prompt)).toBeGreaterThan(budget);
  });

  it("returns the smallest transcript when even that is over budget", () => {
    const fitted = fitTranscript(long, { countTokens, maxPromptTokens: 5 });
    expect(fitted.droppedMessages).toBe(12);
    expect(fitted.prompt).toBe("System rules that must always stay.\n\nUser: the last question\nAssistant:");
  });
});

describe("cleanCompletion", () => {
  it("trims and removes a repeated own speaker prefix only", () => {
    expect(cleanCompletion("  Sure thing.  \n")).toBe("Sure thing.");
    expect(cleanCompletion("Assistant: Sure.")).toBe("Sure.");
    expect(cleanCompletion("User: hi")).toBe("User: hi");
    expect(cleanCompletion("Maria: ok", { user: "Bot", assistant: "Maria" })).toBe("ok");
    expect(cleanCompletion("   ")).toBe("");
  });
});
