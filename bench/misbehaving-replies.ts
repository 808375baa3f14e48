// The replies of the misbehaving stand-in (bench/misbehaving-stand-in.ts): its modes, the bad
// reply of each, the good replies of both sides, the texts a checker looks for in saved data,
// and which side a request is for.
import { hashMessages, keywords } from "../src/providers/scripted-replies.js";
import type { ChatMessage } from "../src/providers/types.js";

/** Ways the simulated user misbehaves (one per run). */
export const USER_MODES = [
  "assistant_voice",
  "label_md",
  "label_customer",
  "leak_persona",
  "leak_echo",
  "json",
  "marker_lower",
  "marker_spaced",
  "marker_quoted",
  "stage_direction",
  "huge",
  "truncated",
  "empty",
  "repeat",
] as const;
/** Ways the assistant misbehaves (one per run). */
export const ASSISTANT_MODES = ["assistant_refuses", "assistant_empty", "assistant_marker"] as const;

export type UserMode = (typeof USER_MODES)[number];
export type AssistantMode = (typeof ASSISTANT_MODES)[number];
/** "none": every reply good (the control run). */
export type Misbehaviour = UserMode | AssistantMode | "none";

export const ALL_MODES: readonly Misbehaviour[] = ["none", ...USER_MODES, ...ASSISTANT_MODES];

export function isUserMode(mode: Misbehaviour): mode is UserMode {
  return (USER_MODES as readonly string[]).includes(mode);
}
export function isAssistantMode(mode: Misbehaviour): mode is AssistantMode {
  return (ASSISTANT_MODES as readonly string[]).includes(mode);
}

/** The assistant's refusal (assistant_refuses). */
export const REFUSAL = "I'm sorry, but I can't help with that.";
/** What the bad replies of the marker modes say (the configured marker is ###STOP###). */
export const MARKER_REPLIES = {
  marker_lower: "###stop###",
  marker_spaced: "### STOP###",
  marker_quoted: '"###STOP###"',
} as const;
export const STAGE_DIRECTION = "[reply with a reply that asks about the next step]";
/** The opening of the huge reply and of the truncated one: found in saved text, they are leaks. */
export const HUGE_OPENING = "Let me give you the whole background before I get to my question.";
export const TRUNCATED_OPENING = "Thanks, that mostly makes sense, but when I tried the second step";

/**
 * Text that only a bad reply of the mode contains (besides the generic detectors of
 * bench/user-sim-checks.ts): found in a saved message, the bad reply got through.
 */
export const BAD_SIGNATURES: Readonly<Record<Misbehaviour, readonly string[]>> = {
  none: [],
  assistant_voice: ["Certainly! Here's a step-by-step guide", "Is there anything else I can help you with"],
  label_md: ["**User:**"],
  label_customer: ["Customer:"],
  leak_persona: ["As a persona", "tech_proficiency="],
  leak_echo: ["role-playing the USER"],
  json: ['{"response"', '"satisfied"'],
  marker_lower: [MARKER_REPLIES.marker_lower],
  marker_spaced: [MARKER_REPLIES.marker_spaced],
  marker_quoted: [MARKER_REPLIES.marker_quoted],
  stage_direction: [STAGE_DIRECTION, "[reply with"],
  huge: [HUGE_OPENING],
  truncated: [TRUNCATED_OPENING],
  empty: [],
  repeat: [],
  assistant_refuses: [],
  assistant_empty: [],
  assistant_marker: [],
};

/** Who a request is for: the simulated user, the assistant, or a helper (verifier, judge, scenario). */
export type RequestKind = "user" | "assistant" | "helper";

/**
 * Which side a request asks for, from its leading message (a system message, or the first
 * message of a transcript-style prompt): the role-play instructions make it the simulated
 * user's; a prompt that wants one JSON answer (turn verifier, stop judge, scenario generator)
 * is a helper's, even when it mentions the simulated user. Only the leading messages are read:
 * a leaked prompt that got saved as a user message would otherwise turn the assistant's next
 * request into a "user" one. Adjust here when the prompts change.
 */
export function requestKind(messages: readonly ChatMessage[]): RequestKind {
  const lead = messages
    .filter((m, i) => i === 0 || m.role === "system")
    .map((m) => m.content)
    .join("\n");
  if (/answer with (?:one|a single) (?:line of )?json|you check one message|you judge whether/i.test(lead))
    return "helper";
  if (/role-playing the USER|simulated user/i.test(lead)) return "user";
  return "assistant";
}

export function isSimulatedUserRequest(messages: readonly ChatMessage[]): boolean {
  return requestKind(messages) === "user";
}

/** A helper's good answer: accept the turn, outcome not reached yet, a plain scenario. */
export function helperReply(messages: readonly ChatMessage[]): string {
  const text = messages.map((m) => m.content).join("\n");
  if (/"ok"/.test(text)) return JSON.stringify({ ok: true, problem: "" });
  if (/"reached"/.test(text))
    return JSON.stringify({ reached: false, reason: "The user still has questions." });
  return JSON.stringify({
    goal: "Get the problem solved step by step.",
    expected_outcome: "Clear steps the user can follow on their own.",
    known: ["They have tried restarting once.", "They use a laptop at home."],
    unknown: ["Which version of the software they have."],
    constraints: ["No budget for paid tools."],
  });
}

/** Case, spacing and end punctuation do not make a message new. */
export function comparable(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/[.!?\s]+$/, "")
    .trim();
}

/** The good follow-ups of the simulated user: each asks something. */
export const USER_FOLLOW_UPS: ReadonlyArray<(t: string) => string> = [
  (t) => `Okay, that makes sense. What should I check first if ${t} still doesn't work for me?`,
  (t) => `Hmm, I tried that but I'm stuck on ${t}. Is there a simpler way to do it?`,
  (t) => `Got it. How long does ${t} usually take for someone in my situation?`,
  (t) => `Wait, does that still apply to ${t} if I don't have admin rights on my laptop?`,
  (t) => `Could you show me a concrete example for ${t}? I learn better that way.`,
  (t) => `What's the most common mistake people make with ${t}? I want to avoid it.`,
  (t) => `Is there a free tool that helps with ${t}, or do I need to pay for one?`,
  (t) => `Right. And how do I know that ${t} actually worked afterwards?`,
  (t) => `My colleague does ${t} differently. Which way would you recommend, and why?`,
  (t) => `If I only have half an hour today, which part of ${t} should I do first?`,
  (t) => `Sorry, I'm a bit lost. Can you say the part about ${t} again in simpler words?`,
  (t) => `What happens if I skip the ${t} step entirely? Will anything break?`,
];

const ASSISTANT_SENTENCES: ReadonlyArray<(t: string) => string> = [
  (t) => `Begin with the smallest version of ${t} that works, and check it before adding more.`,
  () => "Write down the current settings first, so that you can go back if something goes wrong.",
  (t) => `The most common problem with ${t} is a missing permission; check that early.`,
  () => "Test each change on its own, one at a time, so you know which one made the difference.",
  (t) => `Once ${t} works for one case, repeat the same steps for the others.`,
  () => "Keep a short checklist of the steps; it makes the next time much faster.",
];

/** Two content words of the text, or the fallback. */
export function topicOf(text: string, fallback: string): string {
  const words = keywords(text, 2);
  return words.length > 0 ? words.join(" ") : fallback;
}

function hugeReply(topic: string): string {
  const sentences = [
    HUGE_OPENING,
    `I have been working on ${topic} for a few weeks now, mostly in the evenings after work.`,
    "At first everything seemed fine, but then a few small things started to go wrong one after another.",
    "I asked a friend, who suggested a couple of changes, and I tried each of them carefully.",
    "Some of them helped a little, others made no difference at all, and one made things worse.",
    "I also read several forum threads, but most of them were about older versions of the tools.",
  ];
  const parts: string[] = [];
  let words = 0;
  for (let i = 0; words < 5000; i++) {
    const sentence = sentences[i % sentences.length] as string;
    parts.push(sentence);
    words += sentence.split(/\s+/).length;
  }
  parts.push(`So my question is: what would you do about ${topic}?`);
  return parts.join(" ");
}

/** A plausible assistant answer about the last user message. */
export function goodAssistantReply(messages: readonly ChatMessage[], fallbackTopic: string): string {
  const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const topic = topicOf(lastUser, fallbackTopic);
  const hash = hashMessages(messages);
  const count = 2 + (hash % 3);
  const start = (hash >>> 5) % ASSISTANT_SENTENCES.length;
  const parts = [`About ${topic}: here is what I would do.`];
  for (let i = 0; i < count; i++)
    parts.push(
      (ASSISTANT_SENTENCES[(start + i) % ASSISTANT_SENTENCES.length] as (t: string) => string)(topic),
    );
  parts.push("Tell me more about your setup if you want me to be more specific.");
  return parts.join(" ");
}

/** What the simulated user's bad reply needs to know about its request. */
export interface BadReplyContext {
  /** The request's leading message (the system prompt, or the transcript prompt). */
  lead: string;
  /** The conversation's opening, when known. */
  opening: string | undefined;
  /** The conversation's topic (words of the opening). */
  topic: string;
  messages: readonly ChatMessage[];
  /** The good reply of this ask (what a JSON wrapper wraps). */
  good: string;
  /** 1 for the first ask of the follow-up, 2 for the next, … */
  ask: number;
}

/** The simulated user's bad reply in a user mode, with its finish reason. */
export function badUserReply(
  mode: UserMode,
  context: BadReplyContext,
): { text: string; finishReason: string } {
  const { lead, topic, messages, good, ask } = context;
  const stop = (text: string) => ({ text, finishReason: "stop" });
  switch (mode) {
    case "assistant_voice":
      return stop(
        `Certainly! Here's a step-by-step guide: 1. Open settings. 2. Go to the ${topic} section. ` +
          "3. Save your changes. Is there anything else I can help you with?",
      );
    case "label_md":
      return stop(`**User:** how do I get ${topic} working on my own machine?`);
    case "label_customer":
      return stop(`Customer: I still don't get how ${topic} works, can you explain it again?`);
    case "leak_persona":
      return stop(`As a persona with tech_proficiency=expert, I would ask how ${topic} scales.`);
    case "leak_echo":
      return stop(lead);
    case "json":
      return stop(JSON.stringify({ response: good, satisfied: false }));
    case "marker_lower":
    case "marker_spaced":
    case "marker_quoted":
      return stop(MARKER_REPLIES[mode]);
    case "stage_direction":
      return stop(STAGE_DIRECTION);
    case "huge":
      // A server that ignores the completion limit: the whole ramble, finish_reason "stop".
      return stop(hugeReply(topic));
    case "truncated":
      return {
        text:
          `${TRUNCATED_OPENING} on my laptop the ${topic} page did not show the option you mentioned, ` +
          "and I was wondering whether the",
        finishReason: "length",
      };
    case "empty":
      return stop("");
    case "repeat": {
      const opening = context.opening ?? messages.find((m) => m.role === "assistant")?.content ?? good;
      return stop(ask % 2 === 1 ? opening : opening.toLowerCase());
    }
  }
}
