// What a model reply must look like before a semantic rewrite is even shown to the verifier:
// parsing the JSON the prompts ask for (small models wrap it in fences or prose), and cheap
// local checks that need no model call — code, URLs and paths kept verbatim, no new numbers.
import { protectedSpans } from "../protect.js";
import type { SemanticStrategy } from "./strategies.js";

/** The first JSON object in a reply: bare, fenced (```json … ```), or inside some prose. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const candidates: string[] = [];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  if (fenced?.[1]) candidates.push(fenced[1]);
  candidates.push(text);
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start !== -1 && end > start) candidates.push(text.slice(start, end + 1));
  for (const candidate of candidates) {
    try {
      const value: unknown = JSON.parse(candidate.trim());
      if (typeof value === "object" && value !== null && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // not this one; try the next candidate
    }
  }
  return undefined;
}

export interface RewriteReply {
  rewrite: string;
  /** The writer's own account of what it changed ("" when it gave none). */
  gap: string;
}

/** The rewrite in a reply: the JSON form the prompt asks for, or a plain-text message. */
export function parseRewrite(text: string): RewriteReply | undefined {
  const json = parseJsonObject(text);
  if (json) {
    const rewrite = typeof json.rewrite === "string" ? json.rewrite.trim() : "";
    if (rewrite === "") return undefined;
    return { rewrite, gap: typeof json.gap === "string" ? json.gap.trim() : "" };
  }
  // A model that ignored the format but wrote a message: usable if it is not JSON-shaped debris.
  const plain = text
    .trim()
    .replace(/^(rewrite|rewritten message|message|user)\s*:\s*/i, "")
    .replace(/^"(.*)"$/s, "$1")
    .trim();
  if (plain === "" || plain.startsWith("{")) return undefined;
  return { rewrite: plain, gap: "" };
}

export interface VerifierReply {
  has_gap: boolean;
  invented_facts: string[];
  reason: string;
}

/** The verifier's verdict; undefined when the reply holds no usable verdict. */
export function parseVerdict(text: string): VerifierReply | undefined {
  const json = parseJsonObject(text);
  if (!json) return undefined;
  const hasGap = json.has_gap;
  const gapValue = typeof hasGap === "string" ? hasGap.toLowerCase() === "true" : hasGap;
  if (typeof gapValue !== "boolean") return undefined;
  const invented = Array.isArray(json.invented_facts)
    ? json.invented_facts.filter((f): f is string => typeof f === "string" && f.trim() !== "")
    : [];
  return {
    has_gap: gapValue,
    invented_facts: invented,
    reason: typeof json.reason === "string" ? json.reason : "",
  };
}

const VERBATIM = new Set(["code_block", "inline_code", "url", "email", "path"]);
const CONTENT_WORD = /\p{L}{4,}/gu;
// Talk about the task instead of the user's message: small models write "Here is the rewritten message".
const META = /\b(rewrit\w*|new message|the message|original message|json)\b/i;

/** Share of the original's content words (4+ letters) that the rewrite still uses. */
export function contentOverlap(original: string, rewrite: string): number {
  const words = new Set((original.toLowerCase().match(CONTENT_WORD) ?? []) as string[]);
  if (words.size === 0) return 1;
  const kept = new Set((rewrite.toLowerCase().match(CONTENT_WORD) ?? []) as string[]);
  let shared = 0;
  for (const word of words) if (kept.has(word)) shared++;
  return shared / words.size;
}
const NUMBER = /\d+(?:[.,]\d+)*/g;

/**
 * Reasons a rewrite fails before any verifier call: empty or unchanged, fewer than 40 % of the
 * original's content words kept (the request is gone), talk about the task ("the rewritten
 * message"), far longer than the original, code/URL/email/path of the original not kept
 * verbatim, or a number the original does not have (an invented fact for certain). Empty when
 * it passes. A small verifier model passes nearly anything; these checks do not.
 */
export function localProblems(
  original: string,
  rewrite: string,
  strategies: readonly SemanticStrategy[],
): string[] {
  const problems: string[] = [];
  if (rewrite.trim() === "") return ["empty_rewrite"];
  if (rewrite.trim() === original.trim()) return ["unchanged"];
  // Every strategy keeps the request recognisable: most of its words stay.
  if (contentOverlap(original, rewrite) < 0.4) problems.push("lost_request");
  if (META.test(rewrite) && !META.test(original)) problems.push("meta_text");
  // One or two added sentences are the most any strategy calls for.
  if (rewrite.length > Math.max(original.length * 3, original.length + 400)) problems.push("too_long");
  for (const span of protectedSpans(original)) {
    if (!VERBATIM.has(span.kind)) continue;
    const value = original.slice(span.start, span.end);
    const mayDrop = strategies.some((s) => s.touches_slots) && span.kind !== "code_block";
    if (!rewrite.includes(value) && !mayDrop) {
      problems.push(`changed_${span.kind}`);
      break;
    }
  }
  const known = new Set(original.match(NUMBER) ?? []);
  const added = (rewrite.match(NUMBER) ?? []).filter((n) => !known.has(n));
  if (added.length > 0) problems.push("invented_number");
  return problems;
}
