import type { ChatRequest } from "../providers/types.js";

/** A helper model's question with a short JSON verdict for answer: deterministic, capped. */
export function verdictRequest(prompt: string, seed: number): ChatRequest {
  return {
    messages: [{ role: "user", content: prompt }],
    temperature: 0,
    maxTokens: 128,
    seed,
    speakerLabels: { user: "Question", assistant: "Verdict" },
  };
}

// Reading the one JSON object a helper model was asked for, as models actually write it: in a
// code fence, after a sentence, with single quotes left alone. No object: undefined.
export function firstJsonObject(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  // Try the longest candidates first: the object may contain nested braces.
  for (let end = text.lastIndexOf("}"); end > start; end = text.lastIndexOf("}", end - 1)) {
    try {
      const value: unknown = JSON.parse(text.slice(start, end + 1));
      if (value !== null && typeof value === "object" && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // a shorter candidate may parse
    }
  }
  return undefined;
}

/** A yes/no field, also when the model wrote "yes"/"no" or "true"/"false" as text. */
export function booleanField(record: Record<string, unknown> | undefined, name: string): boolean | undefined {
  const value = record?.[name];
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    if (/^(true|yes)$/i.test(value.trim())) return true;
    if (/^(false|no)$/i.test(value.trim())) return false;
  }
  return undefined;
}
