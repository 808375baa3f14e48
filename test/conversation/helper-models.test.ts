// The optional helper models' replies, read as models actually write them: JSON in a code
// fence or after a sentence, "yes"/"no" instead of booleans, nothing readable at all.
import { describe, expect, it } from "vitest";
import { ScenarioGenerator } from "../../src/conversation/scenario-generator.js";
import { StopJudge } from "../../src/conversation/stop-judge.js";
import { TurnVerifier } from "../../src/conversation/turn-verifier.js";
import { FakeChatModel } from "../../src/providers/fake.js";

const model = new FakeChatModel({});

describe("StopJudge.read", () => {
  const judge = new StopJudge(model);
  it.each([
    ['{"reached": true, "reason": "refund confirmed"}', { reached: true, reason: "refund confirmed" }],
    [
      'Verdict:\n```json\n{"reached": "no", "reason": "still asking"}\n```',
      { reached: false, reason: "still asking" },
    ],
    ['{"reached": false}', { reached: false, reason: "(no reason given)" }],
    ["Yes, the refund was confirmed.", { reached: true, reason: "Yes, the refund was confirmed." }],
  ])("%j", (text, expected) => {
    expect(judge.read(text)).toEqual(expected);
  });
  it("an unreadable verdict is 'not reached', and says why", () => {
    expect(judge.read("The assistant was helpful.")).toMatchObject({
      reached: false,
      reason: /unreadable verdict/,
    });
  });
  it("asks about the scenario's expected outcome, else its goal, else the query", () => {
    const messages = [
      { role: "user" as const, content: "hi", timestamp: "", metadata: {} },
      { role: "assistant" as const, content: "hello", timestamp: "", metadata: {} },
    ];
    const prompt = (scenario?: Parameters<StopJudge["buildRequest"]>[1]) =>
      judge.buildRequest("fix my printer", scenario, messages, 1).messages[0]?.content ?? "";
    expect(prompt({ expected_outcome: "printer prints", goal: "g", source: "input" })).toContain(
      "Expected outcome: printer prints",
    );
    expect(prompt({ goal: "get it working", source: "input" })).toContain("Expected outcome: get it working");
    expect(prompt()).toContain('fully answered: "fix my printer"');
    expect(prompt()).toContain("Assistant: hello");
  });
});

describe("TurnVerifier.read", () => {
  const verifier = new TurnVerifier(model);
  it("reads ok / problem, and passes an unreadable verdict", () => {
    expect(verifier.read('{"ok": false, "problem": "written as the assistant"}')).toEqual({
      ok: false,
      problem: "written as the assistant",
    });
    expect(verifier.read('{"ok": true, "problem": ""}')).toEqual({ ok: true, problem: "" });
    expect(verifier.read('{"ok": false}')).toEqual({ ok: false, problem: "the verifier rejected it" });
    expect(verifier.read("looks fine to me")).toEqual({ ok: true, problem: "" });
  });
});

describe("ScenarioGenerator.parse", () => {
  const generator = new ScenarioGenerator(model);
  it("reads a scenario with lists, a string for a list, and drops empty entries", () => {
    expect(
      generator.parse(
        'Here it is: {"goal": "book a flight", "expected_outcome": "a booked seat", "known": "from Oslo", "unknown": ["", "the fare class"], "constraints": []}',
      ),
    ).toEqual({
      goal: "book a flight",
      expected_outcome: "a booked seat",
      known: ["from Oslo"],
      unknown: ["the fare class"],
      source: "generated",
    });
  });
  it("a reply with no goal or outcome is no scenario", () => {
    expect(generator.parse('{"known": ["x"]}')).toBeUndefined();
    expect(generator.parse("I cannot write that.")).toBeUndefined();
  });
});
