// The simulated user's prompt and how its plain-text replies are read.
import { describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { drawTargetTurns, stopAfterReply, userMayStop } from "../../src/conversation/turn-rules.js";
import { UserSimulator, type UserTurnContext } from "../../src/conversation/user-simulator.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { UserModelConfig } from "../../src/schema/config.js";
import type { Message } from "../../src/schema/interaction.js";

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

const simulator = new UserSimulator(new FakeChatModel({}), UserModelConfig.parse({}));
const context = (overrides: Partial<UserTurnContext> = {}): UserTurnContext => ({
  persona_features: {
    role: "student",
    tech_proficiency: "beginner",
    follow_up_tendency: "deep_dive",
    hobby: "chess",
  },
  system_prompt: "You are preparing for an exam.",
  original_query: "What is recursion?",
  messages: [
    message("user", "wat is recursion", { clean_content: "What is recursion?" }),
    message("assistant", "Recursion is …"),
  ],
  completed_turns: 1,
  target_turns: 3,
  may_stop: false,
  intent: "feedback",
  seed: 1,
  reask: 0,
  ...overrides,
});

describe("UserSimulator prompt", () => {
  it("puts the persona, its known dimensions' guidance and its system_prompt in the system prompt", () => {
    const system = simulator.buildRequest(context()).messages[0]?.content ?? "";
    expect(system).toContain("You are role-playing the USER");
    expect(system).toContain("hobby: chess"); // any feature is listed
    expect(system).toMatch(/everyday words/); // tech_proficiency: beginner
    expect(system).toMatch(/digging into details/); // follow_up_tendency: deep_dive
    expect(system).toContain("You are preparing for an exam.");
  });

  it("flips roles so the model speaks as the user, and shows its own clean text", () => {
    const request = simulator.buildRequest(context());
    expect(request.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(request.messages[2]?.content).toBe("What is recursion?");
    expect(request.speakerLabels).toEqual({ user: "Assistant", assistant: "User" });
  });

  it("offers the stop marker only when the user may stop, and states the turn", () => {
    const before = simulator.buildRequest(context({ may_stop: false })).messages.at(-1)?.content ?? "";
    const after = simulator.buildRequest(context({ may_stop: true })).messages.at(-1)?.content ?? "";
    expect(before).toMatch(/Turn 2 of at most 3/);
    expect(before).not.toContain("###STOP###");
    expect(after).toContain("###STOP###");
  });

  it("asks for feedback on the last answer or a follow-up, per feedback_probability's draw", () => {
    expect(simulator.buildRequest(context({ intent: "feedback" })).messages.at(-1)?.content).toMatch(
      /react to the assistant/i,
    );
    expect(simulator.buildRequest(context({ intent: "followup" })).messages.at(-1)?.content).toMatch(
      /related next question/,
    );
  });
});

describe("UserSimulator.interpret", () => {
  const base = context();
  const ctx = {
    messages: base.messages,
    persona_features: base.persona_features,
    prompt: simulator.conversationPrompt(base),
  };
  it.each([
    [
      "thanks, and how does the base case work?",
      true,
      { kind: "message", content: "thanks, and how does the base case work?" },
    ],
    [
      "User: and the base case?",
      true,
      { kind: "message", content: "and the base case?", unwrapped: "label" },
    ],
    ["###STOP###", true, { kind: "stop", reason: "user_satisfied" }],
    ["Great, thanks! ###STOP###", true, { kind: "stop", reason: "user_satisfied" }],
    ["###GIVE_UP###", true, { kind: "stop", reason: "user_gave_up" }],
    ["###STOP###", false, { kind: "reask", guard: "stop_too_early" }],
    ["ok one more thing ###STOP###", false, { kind: "reask", guard: "stop_too_early" }],
    ["   ", true, { kind: "reask", guard: "empty" }],
    ["Assistant: Sure, here it is", true, { kind: "reask", guard: "speaker_label" }],
    ["How can I help you today?", true, { kind: "reask", guard: "speaks_as_assistant" }],
    ["Recursion is …", true, { kind: "reask", guard: "copies_assistant" }],
    ["What is recursion?", true, { kind: "reask", guard: "repeats_user" }],
    ["[turn 2 of at most 3. You are not done yet", true, { kind: "reask", guard: "prompt_leak" }],
    [
      "Move on to a related next question or request that builds on the answer.",
      true,
      { kind: "reask", guard: "prompt_leak" },
    ],
  ])("%j (may stop: %s)", (text, mayStop, expected) => {
    const reply = simulator.interpret(text, { ...ctx, may_stop: mayStop });
    expect(reply).toMatchObject(expected);
    if (reply.kind === "reask") expect(reply.detail.length).toBeGreaterThan(5);
  });

  it("rejects a reply cut off by the token limit, whatever it says", () => {
    const reply = simulator.interpret("so how would the base case", { ...ctx, may_stop: true }, "length");
    expect(reply).toMatchObject({ kind: "reask", guard: "truncated" });
  });
});

describe("UserSimulator prompt formats and re-asks", () => {
  it("says why the previous reply was rejected and samples a little hotter", () => {
    const request = simulator.buildRequest(
      context({ reask: 1, rejected: { guard: "speaker_label", detail: "it contains speaker labels" } }),
    );
    expect(request.messages.at(-1)?.content).toContain("rejected because it contains speaker labels");
    expect(request.temperature).toBeCloseTo(0.8 + 0.25, 5);
  });

  it("as a transcript: one instruction message holding the conversation, the user's side as 'You'", () => {
    const transcript = new UserSimulator(
      new FakeChatModel({}),
      UserModelConfig.parse({ prompt_format: "transcript" }),
    );
    const request = transcript.buildRequest(context());
    expect(request.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(request.messages[1]?.content).toContain("You: What is recursion?");
    expect(request.messages[1]?.content).toContain("Assistant: Recursion is …");
  });

  it("on a local model: a plain transcript to continue, the user described in the third person", () => {
    const local = { provider: "local", model: "qwen", complete: () => Promise.reject(new Error("unused")) };
    const continuation = new UserSimulator(local, UserModelConfig.parse({}));
    expect(continuation.promptFormat).toBe("transcript");
    const scenario = { goal: "pass the exam", unknown: ["the exam date"], source: "input" as const };
    const request = continuation.buildRequest({ ...context(), scenario });
    expect(request.promptStyle).toBe("transcript");
    expect(request.speakerLabels).toEqual({ user: "Assistant", assistant: "User" });
    expect(request.messages.map((m) => m.role)).toEqual(["system", "assistant", "user"]);
    expect(request.messages[0]?.content).toContain("The user wants: pass the exam");
    expect(request.messages[0]?.content).toMatch(/does not know[^\n]*\n- the exam date/);
    const reasked = continuation.buildRequest({
      ...context(),
      reask: 1,
      rejected: { guard: "repeats_user", detail: "it repeats an earlier user message" },
    });
    expect(reasked.messages[0]?.content).toContain("discarded because it repeats an earlier user message");
  });

  it("puts a scenario's goal, known and unknown facts into the system prompt", () => {
    const system = simulator.systemPrompt({
      ...context(),
      scenario: {
        goal: "pass the exam",
        known: ["exam is on Friday"],
        unknown: ["which chapters are examined"],
        source: "input",
      },
    });
    expect(system).toContain("What you want from this conversation: pass the exam");
    expect(system).toMatch(/Facts you know[^\n]*\n- exam is on Friday/);
    expect(system).toMatch(/do not know[^\n]*\n- which chapters are examined/);
  });
});

describe("turn rules", () => {
  const limits = { minTurns: 2, maxTurns: 5 };
  it("draws target turns within [min, max], seeded", () => {
    const drawn = Array.from({ length: 200 }, (_, seed) => drawTargetTurns(seed, limits));
    expect(Math.min(...drawn)).toBe(2);
    expect(Math.max(...drawn)).toBe(5);
    expect(drawTargetTurns(7, limits)).toBe(drawTargetTurns(7, limits));
    expect(drawTargetTurns(7, limits, 9)).toBe(5); // a given target is clamped to the limits
  });
  it("stops at the target, at max_turns, and lets the user stop only from min_turns", () => {
    expect(stopAfterReply(3, 3, limits)).toBe("target_turns");
    expect(stopAfterReply(5, 5, limits)).toBe("max_turns");
    expect(stopAfterReply(2, 3, limits)).toBeUndefined();
    expect(userMayStop(1, limits)).toBe(false);
    expect(userMayStop(2, limits)).toBe(true);
  });
});

describe("PriceTable", () => {
  it("prices prompt, cached and completion tokens; config entries override built-ins", () => {
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, cached_tokens: 500_000 };
    expect(new PriceTable().cost("openai", "gpt-4o-mini", usage)).toBeCloseTo(0.075 + 0.0375 + 0.6, 6);
    expect(
      new PriceTable({ "openai/gpt-4o-mini": { input: 1, output: 2 } }).cost("openai", "gpt-4o-mini", usage),
    ).toBeCloseTo(3, 6);
    expect(new PriceTable({ "acme/x": { input: 1, output: 1 } }).cost("acme", "x", usage)).toBeCloseTo(2, 6);
    expect(new PriceTable().cost("local", "gemma", usage)).toBe(0);
  });
});
