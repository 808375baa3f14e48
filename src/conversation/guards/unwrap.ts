// Wrappers models put around a user message: a JSON object ({"response": "…"}), a code fence,
// an XML-ish tag, quotes, or a leading speaker label of the user's side. An obvious wrapper is
// peeled off (and recorded); a JSON object with no message in it is rejected by the caller.

export type Unwrapped = "json" | "markup" | "quotes" | "label";

/** Fields a model puts the message in, most likely first. */
const MESSAGE_FIELDS = [
  "response",
  "message",
  "user_message",
  "content",
  "text",
  "reply",
  "utterance",
  "user",
  "output",
];

/** Labels of the user's own side: "User:", "**Customer:**", "Me -" … at the very start. */
export const USER_SIDE_LABELS = ["user", "customer", "client", "human", "me", "you", "person", "persona"];

export interface UnwrapResult {
  text: string;
  unwrapped?: Unwrapped;
  /** A JSON object with no message field: nothing to peel, the reply is unusable. */
  unusableJson?: boolean;
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  for (const field of MESSAGE_FIELDS) {
    const inner = record[field];
    if (typeof inner === "string") return inner;
    if (inner && typeof inner === "object") {
      const nested = messageOf(inner);
      if (nested !== undefined) return nested;
    }
  }
  return undefined;
}

function peelOnce(text: string, labels: readonly string[]): UnwrapResult | undefined {
  const fence = /^```[\w-]*\s*\n([\s\S]*?)\n?```$/.exec(text);
  if (fence) return { text: (fence[1] ?? "").trim(), unwrapped: "markup" };
  if (/^\{[\s\S]*\}$/.test(text)) {
    try {
      const inner = messageOf(JSON.parse(text));
      return inner === undefined ? { text, unusableJson: true } : { text: inner.trim(), unwrapped: "json" };
    } catch {
      // Looks like JSON but is not: the other guards judge it as text.
      return /^\{\s*"/.test(text) ? { text, unusableJson: true } : undefined;
    }
  }
  // JSON with text after it, or cut off: not a message, and nothing safe to peel.
  if (/^\{\s*"/.test(text)) return { text, unusableJson: true };
  const tag = /^<([a-z_][\w-]*)>([\s\S]*)<\/\1>$/i.exec(text);
  if (tag) return { text: (tag[2] ?? "").trim(), unwrapped: "markup" };
  const quoted = /^(["“'])([\s\S]*)(["”'])$/.exec(text);
  if (quoted && !/["“”]/.test(quoted[2] ?? "") && (quoted[1] === "'" ? quoted[3] === "'" : quoted[3] !== "'"))
    return { text: (quoted[2] ?? "").trim(), unwrapped: "quotes" };
  const names = labels.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const label = new RegExp(`^[*_\\s]*(?:${names})[*_\\s]*[:：][*_]*\\s*`, "i").exec(text);
  if (label) return { text: text.slice(label[0].length).trim(), unwrapped: "label" };
  return undefined;
}

/** Peels wrappers, outermost first, at most a few layers deep. */
export function unwrap(raw: string, extraLabels: readonly string[] = []): UnwrapResult {
  const labels = [...USER_SIDE_LABELS, ...extraLabels];
  let text = raw.trim();
  let unwrapped: Unwrapped | undefined;
  for (let layer = 0; layer < 4; layer++) {
    const peeled = peelOnce(text, labels);
    if (!peeled) break;
    if (peeled.unusableJson) return { text, unusableJson: true };
    text = peeled.text;
    unwrapped ??= peeled.unwrapped;
  }
  return unwrapped ? { text, unwrapped } : { text };
}
