// The turn guards against what misbehaving simulated users actually write (issue 11), and
// against ordinary user messages that must pass: a guard that rejects real users is as bad
// as one that lets an assistant's answer through.
import { describe, expect, it } from "vitest";
import { checkAssistantReply } from "../../src/conversation/guards/assistant.js";
import {
  checkUserReply,
  type GuardSettings,
  instructionShinglesOf,
  leakReference,
  wordCapFor,
} from "../../src/conversation/guards/index.js";
import { findMarker, stripMarkers } from "../../src/conversation/stop-markers.js";
import { UserSimulator } from "../../src/conversation/user-simulator.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { UserModelConfig } from "../../src/schema/config.js";
import type { Message } from "../../src/schema/interaction.js";

const markers = { stop: "###STOP###", giveUp: "###GIVE_UP###" };
const message = (
  role: Message["role"],
  content: string,
  metadata: Record<string, unknown> = {},
): Message => ({
  role,
  content,
  timestamp: "2026-01-01T00:00:00.000Z",
  metadata,
});
const features = { role: "nurse", tech_proficiency: "beginner", communication_style: "casual" };
const simulator = new UserSimulator(new FakeChatModel({}), UserModelConfig.parse({}));
const prompt = simulator.conversationPrompt({
  persona_features: features,
  original_query: "How do I share my calendar with a coworker?",
});
const messages = [
  message("user", "how do i share my calender with a coworker", {
    clean_content: "How do I share my calendar with a coworker?",
  }),
  message(
    "assistant",
    "Open Outlook, right-click your calendar in the folder pane, choose Sharing Permissions, add your coworker and pick what they can see. Then click OK to send the invitation.",
  ),
];
const settings: GuardSettings = { disabled: new Set(), nearDuplicate: 0.8, copyShare: 0.6 };
const check = (text: string, finishReason = "stop", extra: Partial<GuardSettings> = {}) =>
  checkUserReply(
    { text, finishReason, messages, persona_features: features, leak: prompt.leak, markers },
    { ...settings, ...extra },
  );

describe("turn guards reject what a misbehaving simulated user writes", () => {
  it.each([
    [
      "Certainly! Here's a step-by-step guide:\n1. Open settings\n2. Click share\n3. Done",
      "speaks_as_assistant",
    ],
    ["ok thanks. Is there anything else I can help you with?", "speaks_as_assistant"],
    ["I apologize for the confusion, the calendar is shared now.", "speaks_as_assistant"],
    ["1. Open the app\n2. Tap the calendar\n3. Tap share\n4. Pick the person", "speaks_as_assistant"],
    ["Great question! You can also share it from the web.", "speaks_as_assistant"],
    ["ok that worked\nAssistant: Glad to hear it", "speaker_label"],
    ["Thanks!\n**Agent:** you're welcome", "speaker_label"],
    ["As a persona with tech_proficiency=expert, I would ask about delegation.", "prompt_leak"],
    ["my tech_proficiency is low so can u explain", "prompt_leak"],
    [
      `${prompt.system}`,
      "prompt_leak", // the whole system prompt echoed back (it holds the marker: no stop)
    ],
    ["ugh, I feel like the assistant is being very vague. Can you clarify?", "prompt_leak"],
    ["[reply with a reply that asks about the next step]", "stage_direction"],
    ["*sighs* ok but where is the folder pane", "stage_direction"],
    ["Here's my next message: where is the folder pane?", "stage_direction"],
    ['{"response": "where is it?", "satisfied": false} and more', "wrapped"],
    ['{"response": "where is the folder pane on a ma', "wrapped"],
    ['{"satisfied": false}', "wrapped"],
    ["", "empty"],
    ['""', "empty"],
    ["how do I share my calendar with a coworker?", "repeats_user"],
    ["HOW DO I SHARE MY CALENDAR WITH A COWORKER", "repeats_user"],
    ["how do I share my calendar with a coworker? I want her to see it too", "repeats_user"],
    [
      "Open Outlook, right-click your calendar in the folder pane, choose Sharing Permissions, add your",
      "copies_assistant", // a copy cut short by the token limit
    ],
    [`${Array.from({ length: 5000 }, (_, i) => `word${i % 50}`).join(" ")}?`, "too_long"],
  ])("%j → %s", (text, guard) => {
    const verdict = check(text);
    expect(verdict).toMatchObject({ kind: "reject", guard });
  });

  it("rejects a reply cut off by the token limit (finish_reason length)", () => {
    expect(check("where do i find the folder", "length")).toMatchObject({
      kind: "reject",
      guard: "truncated",
    });
  });

  it("names the reason in a sentence the re-ask can repeat", () => {
    const verdict = check("Customer: where is it?\nAgent: here");
    expect(verdict.kind).toBe("reject");
    if (verdict.kind === "reject") expect(verdict.detail).toMatch(/speaker labels/);
  });
});

describe("turn guards unwrap obvious wrappers", () => {
  it.each([
    [
      '{"response": "where is the folder pane on a mac?", "satisfied": false}',
      "where is the folder pane on a mac?",
      "json",
    ],
    ['```json\n{"message": "and on my phone?"}\n```', "and on my phone?", "markup"],
    ['"where is the folder pane?"', "where is the folder pane?", "quotes"],
    ["**User:** how do I stop sharing it later?", "how do I stop sharing it later?", "label"],
    ["Customer: how do I stop sharing it later?", "how do I stop sharing it later?", "label"],
    ["<response>and on my phone?</response>", "and on my phone?", "markup"],
  ])("%j", (text, content, unwrapped) => {
    expect(check(text)).toEqual({ kind: "message", content, unwrapped });
  });
});

describe("stop markers as models write them", () => {
  it.each([
    "###STOP###",
    "###stop###",
    "### STOP###",
    "### STOP ###",
    '"###STOP###"',
    "**###STOP###**",
    "`###STOP###`.",
    "Thanks, that's all I needed! ###STOP###",
    "##STOP##",
  ])("%j is a stop", (text) => {
    expect(findMarker(text, markers)).toBe("stop");
    expect(check(text)).toMatchObject({ kind: "marker", marker: "stop" });
  });

  it.each(['**Stop###"', "### stop", "STOP.", "**Stop**", "GIVE UP###", "stop"])(
    "a broken marker %j is a marker, never a message",
    (text) => {
      expect(findMarker(text, markers)).toBeDefined();
      expect(stripMarkers(text, markers).replace(/[\s"'*_.#]/g, "")).toBe("");
    },
  );

  it("finds the give-up marker in its forms", () => {
    expect(findMarker("### give up ###", markers)).toBe("give_up");
    expect(findMarker("###GIVE-UP###", markers)).toBe("give_up");
  });

  it("strips every form from a text, leaving the rest", () => {
    expect(stripMarkers("Hope that helps! **### stop###**", markers)).toBe("Hope that helps!");
    expect(stripMarkers('Done. "###STOP###".', markers)).toBe("Done.");
  });

  it("does not take an ordinary 'stop' for the marker", () => {
    expect(findMarker("how do I stop sharing it?", markers)).toBeUndefined();
    expect(check("how do I stop sharing it?")).toMatchObject({ kind: "message" });
  });

  it("a marker inside an echo of the assistant's text is no stop", () => {
    const echo = `${messages[1]?.content} ###STOP###`;
    expect(check(echo)).toMatchObject({ kind: "reject", guard: "copies_assistant" });
  });
});

describe("turn guards let real user messages through", () => {
  it.each([
    "ok that worked, thanks. can she also edit events or only see them?",
    "where's the folder pane? i only see mail and a calendar icon",
    "I don't see Sharing Permissions, I'm on a Mac. What now?",
    "hmm no, that's not it. my version looks different",
    "Thanks! One more thing: how do I stop sharing it later?",
    "that didnt work lol",
    "Could you explain what 'delegate access' means? I'm not very technical.",
    "I'm sorry, I don't know which version I have. How do I check?",
    "My manager said to use the web version. Is it the same there?",
    "Step 3 says click OK but there is no OK button, just Save. Is that the same?",
  ])("%j", (text) => {
    expect(check(text)).toMatchObject({ kind: "message", content: text });
  });
});

describe("near-duplicates of earlier user turns (seen from Qwen2.5-Coder 0.5B)", () => {
  const said = [
    ...messages,
    message("user", "I don't know, how do I check if this dip occurs every fifth week or not?"),
    message("assistant", "Look at the revenue for the first five weeks and compare them."),
  ];
  const again = (text: string) =>
    checkUserReply(
      { text, finishReason: "stop", messages: said, persona_features: features, leak: prompt.leak, markers },
      settings,
    );
  it("one word changed is a repeat", () => {
    expect(again("I don't know, how do I check if the dip occurs every fifth week or not?")).toMatchObject({
      kind: "reject",
      guard: "repeats_user",
    });
  });
  it("a changed number or content word is a new request", () => {
    expect(again("I don't know, how do I check if this dip occurs every fourth week or not?")).toMatchObject({
      kind: "message",
    });
  });
  it("a new question on the same topic is not", () => {
    expect(again("ok and if the dip is real, what would cause it every fifth week?")).toMatchObject({
      kind: "message",
    });
  });
});

describe("settings", () => {
  it("too_long follows the persona's style unless a cap is set", () => {
    expect(wordCapFor({ query_length_pref: "short" })).toBeLessThan(wordCapFor({}));
    expect(wordCapFor({ communication_style: "verbose" })).toBeGreaterThan(wordCapFor({}));
    const long = `${"really ".repeat(100)}what now?`;
    expect(check(long)).toMatchObject({ kind: "reject", guard: "too_long" });
    expect(check(long, "stop", { maxWords: 500 })).toMatchObject({ kind: "message" });
  });

  it("a disabled guard does not reject", () => {
    expect(
      check("Customer: where?\nAgent: here", "stop", { disabled: new Set(["speaker_label"]) }),
    ).toMatchObject({
      kind: "message",
    });
  });

  it("scenario facts the user may say are not a leak; instruction text is", () => {
    const leak = leakReference(
      instructionShinglesOf([
        "Share what you know a little at a time, when it matters or when you are asked.",
      ]),
      ["my office is on the third floor of the east building"],
      { office_floor: "3" },
    );
    const input = (text: string) => ({
      text,
      finishReason: "stop",
      messages,
      persona_features: {},
      leak,
      markers,
    });
    expect(
      checkUserReply(
        input("my office is on the third floor of the east building, does that matter?"),
        settings,
      ),
    ).toMatchObject({ kind: "message" });
    expect(
      checkUserReply(input("I will share what you know a little at a time, when it matters"), settings),
    ).toMatchObject({
      kind: "reject",
      guard: "prompt_leak",
    });
    expect(checkUserReply(input("my office_floor is 3"), settings)).toMatchObject({
      kind: "reject",
      guard: "prompt_leak",
    });
  });
});

describe("assistant replies", () => {
  it("flags refusals without removing them", () => {
    expect(checkAssistantReply("I'm sorry, but I can't help with that.", markers)).toEqual({
      content: "I'm sorry, but I can't help with that.",
      refusal: true,
      markerStripped: false,
      speaksAsUser: false,
    });
    expect(
      checkAssistantReply("I can't see your screen, but here is how it usually looks.", markers).refusal,
    ).toBe(false);
  });
  it("strips the stop marker from the assistant's text", () => {
    expect(checkAssistantReply("Here you go. ###STOP###", markers)).toEqual({
      content: "Here you go.",
      refusal: false,
      markerStripped: true,
      speaksAsUser: false,
    });
  });
  it("takes a reply that is the user's kind of question for the assistant speaking as the user", () => {
    expect(checkAssistantReply("How can I visualize my data in Python?", markers).speaksAsUser).toBe(true);
    expect(checkAssistantReply("Could you share the error message you see?", markers).speaksAsUser).toBe(
      false,
    );
    expect(checkAssistantReply("Use pandas.plot(). Do you want an example?", markers).speaksAsUser).toBe(
      false,
    );
  });
});
