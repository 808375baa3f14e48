import { describe, expect, it } from "vitest";
import { toJsonlRecord, toOpenAI, toShareGPT } from "../../src/exports/formats.js";
import { conversationDigest, endOnAssistant, variantMessages } from "../../src/exports/variant.js";
import type { Interaction } from "../../src/schema/interaction.js";
import { interaction } from "../sinks/fixtures.js";

/** The fixture with its opening message noised the way operators/converse.ts records it. */
function noised(id = "n"): Interaction {
  const base = interaction(id);
  const [first, ...rest] = base.messages;
  return {
    ...base,
    messages: [
      {
        ...first!,
        content: "hey can u help me write sum python code",
        metadata: {
          is_initial: true,
          was_noised: true,
          clean_content: "hey can u help me write some python code",
          noise: { layer: "surface_noise", applied_strategies: ["typo"] },
        },
      },
      ...rest,
    ],
  };
}

describe("variants", () => {
  it("noisy is what the assistant saw, clean restores the stored clean text of noised messages", () => {
    const record = noised();
    expect(variantMessages(record, "noisy")[0]).toEqual({
      role: "user",
      content: "hey can u help me write sum python code",
      was_noised: true,
      clean_content: "hey can u help me write some python code",
    });
    const clean = variantMessages(record, "clean");
    expect(clean[0]?.content).toBe("hey can u help me write some python code");
    // Messages that were not noised, and the assistant's replies, are the same in both.
    expect(clean.slice(1).map((m) => m.content)).toEqual(record.messages.slice(1).map((m) => m.content));
  });

  it("falls back to the noise record's original_text when clean_content is missing", () => {
    const record = noised();
    record.messages[0]!.metadata = { was_noised: true, noise: { original_text: "Original." } };
    expect(variantMessages(record, "clean")[0]?.content).toBe("Original.");
  });

  it("digests equal conversations equally and different ones differently", () => {
    const a = variantMessages(interaction("a"), "noisy");
    const b = variantMessages(interaction("b"), "noisy");
    expect(conversationDigest(a)).toBe(conversationDigest(b));
    expect(conversationDigest(variantMessages(noised(), "noisy"))).not.toBe(conversationDigest(a));
    // Moving text across a message boundary is a different conversation.
    const shifted = a.map((m, i) => (i === 0 ? { ...m, content: `${m.content}x` } : m));
    expect(conversationDigest(shifted)).not.toBe(conversationDigest(a));
  });

  it("cuts a conversation back to its last assistant reply", () => {
    expect(endOnAssistant([{ role: "user" }, { role: "assistant" }, { role: "user" }])).toHaveLength(2);
    expect(endOnAssistant([{ role: "user" }])).toEqual([]);
  });
});

describe("chat formats", () => {
  const record = interaction("i1");
  const messages = variantMessages(record, "noisy");

  it("openai: {messages}, no system message unless one is recorded or given", () => {
    const out = toOpenAI(record, messages);
    expect(out?.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(out?.messages[1]?.content).toBe("Sure! What kind of Python code?");
    expect(toOpenAI(record, messages, { system: "Be brief." })?.messages[0]).toEqual({
      role: "system",
      content: "Be brief.",
    });
    const recorded = { ...record, metadata: { ...record.metadata, assistant_system_prompt: "Stored." } };
    expect(toOpenAI(recorded, messages)?.messages[0]).toEqual({ role: "system", content: "Stored." });
    // --system wins over the recorded one.
    expect(toOpenAI(recorded, messages, { system: "Given." })?.messages[0]?.content).toBe("Given.");
  });

  it("openai ends with an assistant message; nothing is left without a reply", () => {
    const trailing = [
      ...messages,
      { role: "user" as const, content: "thanks", was_noised: false, clean_content: null },
    ];
    expect(toOpenAI(record, trailing)?.messages.at(-1)?.role).toBe("assistant");
    expect(toOpenAI(record, messages.slice(0, 1))).toBeUndefined();
  });

  it("sharegpt: human/gpt with an optional system turn first", () => {
    const out = toShareGPT(record, messages, { system: "S" });
    expect(out?.conversations.map((c) => c.from)).toEqual(["system", "human", "gpt", "human", "gpt"]);
    expect(out?.conversations[2]?.value).toBe("Sure! What kind of Python code?");
  });

  it("jsonl keeps the whole record and takes the variant's text", () => {
    const noisy = noised();
    expect(toJsonlRecord(noisy, variantMessages(noisy, "noisy"))).toEqual(noisy);
    const clean = toJsonlRecord(noisy, variantMessages(noisy, "clean"));
    expect(clean.messages[0]?.content).toBe("hey can u help me write some python code");
    expect(clean.messages[0]?.metadata).toEqual(noisy.messages[0]?.metadata);
    expect(clean.metadata).toEqual(noisy.metadata);
  });
});
