// Turns a persona's feature dict into prompt text: every feature listed as given, plus
// concrete writing guidance for the dimensions we know (REFERENCE.md), so that known
// dimensions visibly shape the simulated user's messages and how long they keep going.

type Guidance = Readonly<Record<string, string>>;

const GUIDANCE: Readonly<Record<string, Guidance>> = {
  tech_proficiency: {
    beginner:
      "You know little technical vocabulary: describe things in everyday words and ask what jargon means.",
    intermediate: "You know the basics but not the details; ask for clarification on advanced points.",
    advanced: "You are technically fluent: use correct terms and skip the basics.",
    expert: "You are an expert: be precise and terse, challenge vague or wrong answers.",
  },
  communication_style: {
    casual: "Write casually: short sentences, contractions, lowercase is fine.",
    professional: "Write in a clear, polite, professional way.",
    technical: "Write precisely, with exact names, versions and numbers.",
    creative: "Write with some personality and colour.",
  },
  formality_level: {
    very_casual: "Very informal: slang, no greetings, minimal punctuation.",
    casual: "Informal and relaxed.",
    neutral: "Neither formal nor slangy.",
    formal: "Formal and courteous.",
    highly_formal: "Highly formal: full sentences, polite forms of address.",
  },
  follow_up_tendency: {
    one_shot: "You rarely follow up: once you have a usable answer you are done.",
    occasional_followup: "You follow up only when something is missing or unclear.",
    iterative: "You refine step by step, asking for changes to what you got.",
    deep_dive: "You keep digging into details and edge cases before you are satisfied.",
  },
  query_length_pref: {
    short: "Keep your messages short: one or two lines.",
    medium: "Your messages are a few sentences long.",
    long: "You write long, detailed messages with context.",
  },
  scenario: {
    in_a_rush: "You are in a hurry: terse messages, you want the answer now.",
    work_task: "This is for a task at work; you care about getting it right.",
    learning: "You are learning: you want to understand why, not only what.",
    troubleshooting: "Something is broken and you are trying to fix it; you report what happened.",
  },
  feedback_style: {
    direct: "When something is wrong you say so bluntly.",
    polite: "You phrase criticism politely.",
    minimal: "You give very little feedback; you just ask the next thing.",
  },
  multi_intent_rate: {
    single: "You ask one thing at a time.",
    sometimes_multi: "Sometimes you ask two things in one message.",
    often_multi: "You often pack several requests into one message.",
  },
  error_tolerance: {
    low: "You have little patience for mistakes.",
    medium: "You tolerate small mistakes.",
    high: "You are forgiving of mistakes.",
  },
};

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** "- role: engineer" lines for every feature, in the order given. */
export function describePersona(features: Readonly<Record<string, unknown>>): string {
  const lines = Object.entries(features).map(
    ([key, value]) => `- ${key.replace(/_/g, " ")}: ${asText(value)}`,
  );
  return lines.length > 0 ? lines.join("\n") : "- (no details given: an ordinary person)";
}

/** Writing guidance for the known dimensions this persona has. */
export function personaGuidance(features: Readonly<Record<string, unknown>>): string {
  const lines: string[] = [];
  for (const [dimension, table] of Object.entries(GUIDANCE)) {
    const value = features[dimension];
    const hint = typeof value === "string" ? table[value] : undefined;
    if (hint) lines.push(`- ${hint}`);
  }
  return lines.length > 0 ? `Your habits:\n${lines.join("\n")}` : "";
}
