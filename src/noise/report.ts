// The realism report (NOISE.md, "How we know it is realistic"): per persona type, the character
// error rate distribution, the share of messages left clean, the operation mix, where slips
// land in a word, and token inflation. Pure functions over results, so `convosim noise --report`
// and `convosim stats` can share them.
import type { NoiseEdit, NoiseResult } from "../schema/noise.js";
import { applyNoise, DEFAULT_GUARD_RAILS, type NoiseOptions } from "./apply.js";
import { Draft } from "./draft.js";
import { characterErrorRate, replayEdits, whitespaceTokens } from "./edits.js";
import { protectedSpans } from "./protect.js";
import { resolveSteering } from "./steering.js";

/** Persona types the report compares when none are given (docs/noise.md). */
export const PERSONA_TYPES: Readonly<Record<string, Record<string, unknown>>> = {
  base: {},
  formal_desktop_expert: {
    communication_style: "professional",
    formality_level: "highly_formal",
    tech_proficiency: "expert",
    device: "desktop",
  },
  casual_mobile_beginner: {
    communication_style: "casual",
    formality_level: "very_casual",
    tech_proficiency: "beginner",
    device: "mobile",
    channel: "mobile_raw",
  },
  voice: { channel: "voice" },
  learner: { native_language: "Portuguese", english_proficiency: "intermediate" },
  frustrated_rushed: { emotional_state: "frustrated", time_sensitivity: "high" },
};

export interface Distribution {
  mean: number;
  median: number;
  p90: number;
  max: number;
}

export type Operation = "substitute" | "insert" | "delete" | "transpose" | "case";

export interface RealismSummary {
  messages: number;
  /** Share of messages with no edit. */
  clean_share: number;
  /** Character error rate over all messages (clean ones count 0). */
  cer: Distribution;
  /** The same over noised messages only. */
  cer_noised: Distribution;
  /** The guard-rail measure: case-insensitive CER, over all messages. */
  cer_ignore_case: Distribution;
  /** Character operations of the edits, and their shares. */
  operations: Record<Operation, number>;
  operation_shares: Record<Operation, number>;
  /** Share of keyboard slips that touch a word's first letter (few do in real typing). */
  first_letter_share: number;
  /** Share of content words (not function words, 3+ letters) left unchanged, ignoring case. */
  content_words_kept: number;
  /** Whitespace tokens of the noisy texts / of the clean texts. */
  token_inflation: number;
  /** Messages in which each strategy changed something. */
  strategies: Record<string, number>;
  /** Replays that failed and protected spans that changed (both must be 0). */
  replay_failures: number;
  protected_violations: number;
}

export interface PersonaRealism extends RealismSummary {
  persona: string;
  features: Record<string, unknown>;
  channel: string;
  traits: string[];
  sloppiness: number;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { mean: 0, median: 0, p90: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return {
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    median: at(0.5),
    p90: at(0.9),
    max: sorted[sorted.length - 1] as number,
  };
}

/** Character operations of one edit (optimal string alignment, transpositions counted once). */
export function editOperations(edit: Pick<NoiseEdit, "before" | "after">): Record<Operation, number> {
  const a = Array.from(edit.before);
  const b = Array.from(edit.after);
  const ops: Record<Operation, number> = { substitute: 0, insert: 0, delete: 0, transpose: 0, case: 0 };
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const cost = (x: string, y: string) => (x === y ? 0 : x.toLowerCase() === y.toLowerCase() ? 0.5 : 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min(
        (up[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (up[j - 1] as number) + cost(a[i - 1] as string, b[j - 1] as string),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] && a[i - 1] !== a[i - 2])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  // Walk back along one optimal path.
  let i = a.length;
  let j = b.length;
  while (i > 0 || j > 0) {
    const here = (d[i] as number[])[j] as number;
    const x = a[i - 1] as string;
    const y = b[j - 1] as string;
    if (
      i > 1 &&
      j > 1 &&
      x === b[j - 2] &&
      a[i - 2] === y &&
      x !== a[i - 2] &&
      here === ((d[i - 2] as number[])[j - 2] as number) + 1
    ) {
      ops.transpose++;
      i -= 2;
      j -= 2;
    } else if (i > 0 && j > 0 && here === ((d[i - 1] as number[])[j - 1] as number) + cost(x, y)) {
      if (x !== y) ops[x.toLowerCase() === y.toLowerCase() ? "case" : "substitute"]++;
      i--;
      j--;
    } else if (i > 0 && here === ((d[i - 1] as number[])[j] as number) + 1) {
      ops.delete++;
      i--;
    } else {
      ops.insert++;
      j--;
    }
  }
  return ops;
}

/** Summarises results of one persona type. */
export function summarize(results: readonly NoiseResult[]): RealismSummary {
  const cers: number[] = [];
  const noised: number[] = [];
  const folded: number[] = [];
  const operations: Record<Operation, number> = {
    substitute: 0,
    insert: 0,
    delete: 0,
    transpose: 0,
    case: 0,
  };
  const strategies: Record<string, number> = {};
  let clean = 0;
  let cleanTokens = 0;
  let noisyTokens = 0;
  let slips = 0;
  let firstLetter = 0;
  let replayFailures = 0;
  let violations = 0;
  let contentWords = 0;
  let contentChanged = 0;
  for (const result of results) {
    const { original_text: text, noisy_text: noisy } = result;
    const cer = characterErrorRate(text, noisy);
    cers.push(cer);
    folded.push(characterErrorRate(text, noisy, { ignoreCase: true }));
    if (result.edits.length === 0) clean++;
    else noised.push(cer);
    cleanTokens += whitespaceTokens(text);
    noisyTokens += whitespaceTokens(noisy);
    try {
      if (replayEdits(text, result.edits) !== noisy) replayFailures++;
    } catch {
      replayFailures++;
    }
    for (const span of protectedSpans(text)) {
      if (result.edits.some((e) => e.start < span.end && e.end > span.start)) violations++;
    }
    const real = result.edits.filter((e) => e.before.toLowerCase() !== e.after.toLowerCase());
    for (const word of new Draft(text, DEFAULT_GUARD_RAILS).words) {
      if (!word.content) continue;
      contentWords++;
      if (real.some((e) => e.start < word.end && e.end > word.start)) contentChanged++;
    }
    for (const name of new Set(result.edits.map((e) => e.strategy)))
      strategies[name] = (strategies[name] ?? 0) + 1;
    for (const edit of result.edits) {
      const ops = editOperations(edit);
      for (const op of Object.keys(ops) as Operation[]) operations[op] += ops[op];
      if (edit.strategy === "keyboard_slip") {
        slips++;
        if (edit.start === 0 || !/[A-Za-z'’]/.test(text[edit.start - 1] ?? "")) firstLetter++;
      }
    }
  }
  const total = Object.values(operations).reduce((sum, n) => sum + n, 0);
  const shares = Object.fromEntries(
    Object.entries(operations).map(([op, n]) => [op, total === 0 ? 0 : n / total]),
  ) as Record<Operation, number>;
  return {
    messages: results.length,
    clean_share: results.length === 0 ? 1 : clean / results.length,
    cer: distribution(cers),
    cer_noised: distribution(noised),
    cer_ignore_case: distribution(folded),
    operations,
    operation_shares: shares,
    first_letter_share: slips === 0 ? 0 : firstLetter / slips,
    content_words_kept: contentWords === 0 ? 1 : 1 - contentChanged / contentWords,
    token_inflation: cleanTokens === 0 ? 1 : noisyTokens / cleanTokens,
    strategies,
    replay_failures: replayFailures,
    protected_violations: violations,
  };
}

/**
 * Noises every message once per persona type (each message its own interaction, turn 1) and
 * summarises each type.
 */
export function realismReport(
  messages: readonly string[],
  personas: Readonly<Record<string, Record<string, unknown>>> = PERSONA_TYPES,
  options: NoiseOptions = {},
): PersonaRealism[] {
  return Object.entries(personas).map(([persona, features]) => {
    const steering = resolveSteering(features, options.steering, {
      seed: options.seed,
      channel: options.channel,
    });
    const results = messages.map((text, index) =>
      applyNoise(text, features, {
        ...options,
        interactionId: `${options.interactionId ?? "report"}:${index}`,
      }),
    );
    return {
      persona,
      features,
      channel: steering.channel,
      traits: steering.traits,
      sloppiness: steering.sloppiness,
      ...summarize(results),
    };
  });
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function formatRealismReport(report: readonly PersonaRealism[]): string {
  const lines: string[] = [];
  for (const r of report) {
    lines.push(
      `${r.persona}  (channel ${r.channel}; traits ${r.traits.join(", ") || "none"}; sloppiness ${r.sloppiness.toFixed(2)})`,
      `  messages ${r.messages}, clean ${pct(r.clean_share)}, token inflation ×${r.token_inflation.toFixed(3)}, content words kept ${pct(r.content_words_kept)}`,
      `  CER all      mean ${pct(r.cer.mean)}  median ${pct(r.cer.median)}  p90 ${pct(r.cer.p90)}  max ${pct(r.cer.max)}`,
      `  CER noised   mean ${pct(r.cer_noised.mean)}  median ${pct(r.cer_noised.median)}  p90 ${pct(r.cer_noised.p90)}  max ${pct(r.cer_noised.max)}`,
      `  CER no-case  mean ${pct(r.cer_ignore_case.mean)}  max ${pct(r.cer_ignore_case.max)} (guard rail ≤ 5%)`,
      `  operations   ${(Object.keys(r.operations) as Operation[]).map((op) => `${op} ${r.operations[op]} (${pct(r.operation_shares[op])})`).join(", ")}`,
      `  keyboard slips on a first letter ${pct(r.first_letter_share)}; replay failures ${r.replay_failures}; protected spans changed ${r.protected_violations}`,
      `  strategies   ${
        Object.entries(r.strategies)
          .sort((a, b) => b[1] - a[1])
          .map(([s, n]) => `${s} ${n}`)
          .join(", ") || "none"
      }`,
      "",
    );
  }
  return lines.join("\n");
}
