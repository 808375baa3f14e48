// The text patterns behind the turn guards. Each is tuned on what small and large models
// actually write when they slip out of the user's role; each has cases in
// test/conversation/turn-guards.test.ts, including user messages that must pass.

/** Phrases a user does not write and an assistant does, anywhere in the text. */
export const SERVICE_PHRASES =
  /\b(?:is there anything else (?:i|you'?d like|you would like)|anything else i can (?:help|do|assist)|how (?:can|may) i (?:help|assist)(?: you)?(?: today)?\b|i(?:'d| would) be (?:happy|glad|delighted) to (?:help|assist|explain)|happy to help\b|i hope (?:this|that) helps|hope this helps|let me know if you (?:have|need) any (?:other|more|further)|feel free to (?:ask|reach out|let me know)|i apologi[sz]e for (?:the|any) (?:confusion|inconvenience|misunderstanding)|as an ai\b|i'?m an ai\b|as a (?:large )?language model|here(?:'s| is) (?:a|the|your) (?:step[- ]by[- ]step|detailed|complete|quick) (?:guide|breakdown|explanation|answer)|great question|(?:certainly|absolutely|of course|sure)[!,.]? here(?:'s| is| are)\b|you(?:'re| are) welcome[!.]? (?:if|let)|glad i could help)/i;

/** A line that starts with a speaker label of either side ("Assistant:", "**AI:**", "Agent -"). */
const labelLines = new Map<string, RegExp>();

export function speakerLabelLine(extraNames: readonly string[]): RegExp {
  const key = extraNames.join("\u0000");
  let cached = labelLines.get(key);
  if (!cached) {
    cached = buildSpeakerLabelLine(extraNames);
    // Persona names are few per run; a cap keeps a run of millions of named personas bounded.
    if (labelLines.size < 1000) labelLines.set(key, cached);
  }
  return cached;
}

function buildSpeakerLabelLine(extraNames: readonly string[]): RegExp {
  const names = [
    "user",
    "customer",
    "client",
    "human",
    "me",
    "assistant",
    "ai",
    "agent",
    "bot",
    "chatbot",
    "support",
    "system",
    "persona",
    "model",
    ...extraNames.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
  ].join("|");
  return new RegExp(`(?:^|\\n)[ \\t>*_#-]*(?:${names})[ \\t*_]*[:：]`, "i");
}

/** Bracketed or starred stage directions and meta text about the reply itself. */
export const STAGE_DIRECTION =
  /\[[^\]\n]*\b(?:reply|respond|response|message|turn|user|assistant|persona|note|pause|pauses|sigh|sighs|laugh|laughs|smile|smiles|nods?|thinks?|thinking|waits?|continues?|insert|placeholder|your name|typing|end)\b[^\]\n]*\]|\*(?:sighs?|laughs?|smiles?|nods?|frowns?|types?|thinks?|pauses?|waits?|shrugs?|groans?)\b[^*\n]*\*|\((?:note|nb|ooc|out of character|stage direction)\s*[:-]|^(?:here(?:'s| is) my (?:next |follow-up |first )?(?:message|reply|response|question)|my (?:next |follow-up )?(?:message|reply|response)(?: would be| is)?|(?:as|playing) the user,)\s*[:,]?/im;

/**
 * Words of the simulation showing through: the role-play, the persona, the turn notes, and the
 * assistant named in the third person (a user talking *to* it says "you"; a model narrating the
 * transcript says "the assistant").
 */
export const META_LEAK =
  /\b(?:as (?:a|the|this|my) (?:persona|simulated user|user persona|user simulator)|(?:my|the) persona(?:'s)?\b|role-?play(?:ing)?\b|simulated user|persona (?:features?|description|traits?)|stop[_ ]marker|\[?turn \d+ of (?:at most )?\d+|the (?:ai )?assistant(?:'s)?\b)/i;

/** An answer-shaped reply: three or more list items or headings. */
export const LIST_ITEM = /(?:^|\n)\s*(?:\d+[.)]|[-*•]|#{1,4})\s+\S/g;

/** Something a user asks or requests: a question, or a request form. */
export const ASKS_SOMETHING =
  /\?|\b(?:can|could|would|will) you\b|\b(?:please|pls|plz)\b|\bhow (?:do|can|should|would) i\b|\b(?:i need|i want|i'd like|i would like|help me|show me|tell me|explain|give me|let me know|what about|how about)\b|^(?:and |also |so |ok(?:ay)?,? )?(?:make|write|add|change|fix|try|use|show|list|give|explain|rewrite|shorten|simplify|redo|do)\b/im;
