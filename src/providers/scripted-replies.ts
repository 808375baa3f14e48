// Deterministic, content-derived replies shared by the bench stand-in server and the `fake`
// provider: the same request always gets the same reply (so replays compare), different turns
// get different replies, and a request from the simulated user gets a user-style follow-up.
// No model is involved; the texts only need to look plausible in a transcript.
import type { ChatMessage } from "./types.js";

/** The simulated-user prompt contains exactly this phrase; requests carrying it act as the user. */
export const USER_ROLE_MARKER = "You are role-playing the USER";

const STOPWORDS = new Set(
  (
    "about above after again also because been before being below between both could does doing " +
    "down during each even from further have having here hers herself himself into itself just " +
    "like more most much must myself need only other ours over same should some such than that " +
    "their theirs them themselves then there these they this those through under until very want " +
    "were what when where which while will with would your yours yourself please thanks thank " +
    "could explain tell know help make sure really well answer here question"
  ).split(" "),
);

/** FNV-1a over the request's texts: cheap, stable across runs and platforms. */
export function hashMessages(messages: readonly ChatMessage[]): number {
  let hash = 0x811c9dc5;
  for (const message of messages) {
    const text = `${message.role}\u0000${message.content}\u0001`;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
  }
  return hash >>> 0;
}

/** Up to `limit` distinct content words of the text, in order of appearance. */
export function keywords(text: string, limit = 2): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/[A-Za-z][A-Za-z0-9'-]{3,}/g)) {
    const word = match[0].toLowerCase().replace(/'s$/, "");
    if (STOPWORDS.has(word) || found.includes(word)) continue;
    found.push(word);
    if (found.length === limit) break;
  }
  return found;
}

function topicOf(messages: readonly ChatMessage[]): { topic: string; words: string[] } {
  let last: ChatMessage | undefined;
  for (let i = messages.length - 1; i >= 0 && last === undefined; i--) {
    if (messages[i]?.role !== "system") last = messages[i];
  }
  const words = keywords(last?.content ?? "");
  const topic = words.length === 0 ? "that" : words.join(" and ");
  return { topic, words };
}

const USER_TEMPLATES: ReadonlyArray<(topic: string) => string> = [
  (t) => `Thanks. Could you also explain ${t}?`,
  (t) => `That helps. Can you give me a concrete example of ${t}?`,
  (t) => `I'm not sure I follow the part about ${t}. Could you clarify it?`,
  (t) => `OK. Could you go into a bit more detail on ${t}?`,
  (t) => `Got it. What are the common mistakes people make with ${t}?`,
  (t) => `Thanks, that's useful. How would ${t} work in a small project?`,
];

const ASSISTANT_SENTENCES: ReadonlyArray<(w: string) => string> = [
  (w) => `Start by being clear about what ${w} has to achieve in your situation.`,
  () => "A practical approach is to begin small and check each step before moving on.",
  (w) => `The most common pitfall with ${w} is skipping the basics.`,
  () => "If you share more about your constraints, I can tailor this further.",
  (w) => `A simple example: apply ${w} to one case first, then generalise.`,
  () => "Keep notes of what you try, so you can compare the results later.",
];

/** True when the request comes from the simulated user (its system prompt carries the marker). */
export function isUserSimulation(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => m.role === "system" && m.content.includes(USER_ROLE_MARKER));
}

/**
 * The reply to a request: a user follow-up (never a stop marker, so conversations run to their
 * target length) when the request simulates the user, otherwise an assistant-style answer.
 */
export function scriptedReply(messages: readonly ChatMessage[]): string {
  const hash = hashMessages(messages);
  const { topic, words } = topicOf(messages);
  if (isUserSimulation(messages)) {
    // Templates rotate turn by turn from a start fixed by the conversation's opening, so a
    // simulated user never repeats an earlier follow-up of the same conversation.
    // In the simulated user's (role-flipped) history its own opening message is the first "assistant" one.
    const opening = messages.find((m) => m.role === "assistant") ?? messages.find((m) => m.role !== "system");
    const start = hashMessages(opening ? [opening] : []) % USER_TEMPLATES.length;
    const turn = messages.filter((m) => m.role === "assistant").length;
    return (USER_TEMPLATES[(start + turn) % USER_TEMPLATES.length] as (t: string) => string)(topic);
  }
  const sentences = 2 + (hash % 4);
  const parts = [`Here is an answer about ${topic}.`];
  // Consecutive templates from a hash-chosen start: varied, and never the same sentence twice.
  const start = (hash >>> 7) % ASSISTANT_SENTENCES.length;
  for (let i = 0; i < sentences; i++) {
    const word = words[i % Math.max(1, words.length)] ?? "this";
    parts.push(
      (ASSISTANT_SENTENCES[(start + i) % ASSISTANT_SENTENCES.length] as (w: string) => string)(word),
    );
  }
  return parts.join(" ");
}
