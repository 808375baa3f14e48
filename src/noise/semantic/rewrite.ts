// One semantic rewrite with its verifier (NOISE.md L4–L6): a model rewrites the message to
// have the chosen gap; cheap local checks, then a second call judges whether the rewrite has
// the gap it claims and invents no facts. A rejected rewrite is tried again (told why) up to
// `attempts` times; the caller counts and drops what never passes.
import type { ChatRequest, ChatResult } from "../../providers/types.js";
import type { NoiseVerdict } from "../../schema/noise.js";
import { hashKeys } from "../random.js";
import { localProblems, parseRewrite, parseVerdict } from "./checks.js";
import { defaultSemanticPrompts, personaLine, render, type SemanticPrompts } from "./prompts.js";
import type { SemanticStrategy } from "./strategies.js";

/** Makes one model call; "rewrite" or "verify" says which (for retries, caching, accounting). */
export type SemanticCall = (request: ChatRequest, purpose: "rewrite" | "verify") => Promise<ChatResult>;

export interface SemanticRewriteOptions {
  call: SemanticCall;
  /** Templates (default prompts/noise-rewrite.md and prompts/noise-verify.md). */
  prompts?: SemanticPrompts;
  /** Rewrites tried before the message is given up (distractor.verifier_attempts). */
  attempts: number;
  /** Sampling temperature of the rewrite (the verifier always runs at 0). Default 0.9. */
  temperature?: number;
  /** Completion-token cap of every call. Default: room for the message plus the JSON. */
  maxTokens?: number;
}

export interface SemanticAttempt {
  rewrite?: string;
  passed: boolean;
  /** Failure codes: unparseable_rewrite, unchanged, invented_number, no_gap, invented_fact, … */
  reasons: string[];
  /** Whether the verifier model was asked (local checks can reject a rewrite before it). */
  verified: boolean;
}

export interface SemanticRewriteOutcome {
  /** The accepted rewrite; absent when every attempt failed. */
  rewrite?: string;
  /** What the writer says it changed. */
  gap?: string;
  verdict: NoiseVerdict;
  attempts: SemanticAttempt[];
  /** Every model call made, in order (all are paid for, accepted or not). */
  calls: ChatResult[];
}

export interface SemanticRewriteInput {
  text: string;
  persona_features: Readonly<Record<string, unknown>>;
  strategies: readonly SemanticStrategy[];
  /** The message's noise seed: the same seed asks the same requests (cache hits on resume). */
  seed: number;
}

function rewriteRequest(
  input: SemanticRewriteInput,
  prompts: SemanticPrompts,
  attempt: number,
  feedback: string,
  options: SemanticRewriteOptions,
): ChatRequest {
  const instructions = input.strategies.map((s) => `- ${s.instruction}`).join("\n");
  const prompt = render(prompts.rewrite, {
    persona_description: personaLine(input.persona_features),
    instructions,
    feedback,
    text: input.text,
  });
  return {
    messages: [{ role: "user", content: prompt }],
    temperature: options.temperature ?? 0.9,
    // Room for the rewrite (a sentence or two longer at most), the JSON and the gap note.
    maxTokens: options.maxTokens ?? 160 + Math.ceil(input.text.length / 2),
    seed: hashKeys(input.seed, "semantic_rewrite", attempt),
  };
}

function verifyRequest(
  input: SemanticRewriteInput,
  prompts: SemanticPrompts,
  rewrite: string,
  claimed: string,
  attempt: number,
  maxTokens: number | undefined,
): ChatRequest {
  const additions = input.strategies.flatMap((s) => (s.may_add ? [s.may_add] : []));
  const prompt = render(prompts.verify, {
    expected: input.strategies.map((s) => `- ${s.gap}`).join("\n"),
    original: input.text,
    rewrite,
    claimed: claimed || "(not stated)",
    allowed:
      additions.length > 0
        ? `The change was allowed to add ${additions.join("; ")}: such additions are not invented facts.`
        : "",
  });
  return {
    messages: [{ role: "user", content: prompt }],
    temperature: 0,
    maxTokens: maxTokens ?? 200,
    seed: hashKeys(input.seed, "semantic_verify", attempt),
  };
}

/** Rewrites `input.text` with the strategies' gap, verified; see SemanticRewriteOutcome. */
export async function semanticRewrite(
  input: SemanticRewriteInput,
  options: SemanticRewriteOptions,
): Promise<SemanticRewriteOutcome> {
  const prompts = options.prompts ?? defaultSemanticPrompts();
  const calls: ChatResult[] = [];
  const attempts: SemanticAttempt[] = [];
  let feedback = "";
  for (let attempt = 1; attempt <= Math.max(1, options.attempts); attempt++) {
    const request = rewriteRequest(input, prompts, attempt, feedback, options);
    const written = await options.call(request, "rewrite");
    calls.push(written);
    const reply = parseRewrite(written.text);
    if (!reply) {
      attempts.push({ passed: false, reasons: ["unparseable_rewrite"], verified: false });
      feedback = "- Your previous reply was not in the JSON form asked for.";
      continue;
    }
    const problems = localProblems(input.text, reply.rewrite, input.strategies);
    if (problems.length > 0) {
      attempts.push({ rewrite: reply.rewrite, passed: false, reasons: problems, verified: false });
      feedback = `- Your previous rewrite was rejected (${problems.join(", ")}): try again.`;
      continue;
    }
    const judged = await options.call(
      verifyRequest(input, prompts, reply.rewrite, reply.gap, attempt, options.maxTokens),
      "verify",
    );
    calls.push(judged);
    const verdict = parseVerdict(judged.text);
    const reasons: string[] = [];
    if (!verdict) reasons.push("unparseable_verdict");
    else {
      if (!verdict.has_gap) reasons.push("no_gap");
      for (const fact of verdict.invented_facts) reasons.push(`invented_fact: ${fact}`);
    }
    const passed = reasons.length === 0;
    attempts.push({ rewrite: reply.rewrite, passed, reasons, verified: true });
    if (passed) {
      return {
        rewrite: reply.rewrite,
        gap: reply.gap,
        verdict: { passed: true, reasons: failureCodes(attempts), attempts: attempts.length },
        attempts,
        calls,
      };
    }
    feedback = `- Your previous rewrite was rejected by a checker (${reasons.join("; ")}): try again.`;
  }
  return {
    verdict: { passed: false, reasons: failureCodes(attempts), attempts: attempts.length },
    attempts,
    calls,
  };
}

/** Every failure reason over the attempts, in order (a pass after a retry keeps the first's). */
function failureCodes(attempts: readonly SemanticAttempt[]): string[] {
  return attempts.flatMap((a) => a.reasons);
}
