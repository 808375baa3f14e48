// What "the simulated user's misbehaviour never ends up in saved data" means, as checks over
// one run's output folder (interactions/*.json, failures.ndjson) and the misbehaving stand-in's
// counts. Shared by the checker (bench/check-user-sim.ts, `npm run check:user-sim`) and the
// integration test (test/integration/misbehaving-user.test.ts). docs/user-sim-check.md lists
// every check.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type FailureRecord,
  GUARD_NAMES,
  type Interaction,
  type Message,
  STOP_REASONS,
} from "../src/schema/interaction.js";
import {
  BAD_SIGNATURES,
  comparable,
  type MisbehavingStats,
  type Misbehaviour,
  REFUSAL,
  type ServedReply,
} from "./misbehaving-stand-in.js";

// The stop reasons and guard names a run may record, as the schema defines them.
export const HONEST_STOP_REASONS = STOP_REASONS;
export { GUARD_NAMES };

export interface CheckSetup {
  mode: Misbehaviour;
  minTurns: number;
  maxTurns: number;
  maxReasks: number;
  /** interaction_generation.max_retries (conversation-level attempts = max_retries + 1). */
  maxRetries: number;
  /** call_retries.count (resends of one call). */
  callRetries: number;
  /** persona_id → its one query (the opening message: no style transfer, no noise). */
  personas: ReadonlyMap<string, string>;
}

export interface RunOutput {
  interactions: Interaction[];
  /** Outstanding failures: the last record per interaction not saved since. */
  failures: FailureRecord[];
  /** Lines of failures.ndjson or files that did not parse. */
  unreadable: string[];
}

export type FindingKind =
  | "bad_text" // a saved user message carries the misbehaviour
  | "marker" // a saved message carries the stop marker in some form
  | "stop_reason" // a stop reason that is not honest
  | "accounting" // a conversation neither saved nor failed, or both, or a malformed record
  | "asks" // more asks than max_reasks + 1
  | "refusal" // an assistant refusal not flagged (or a non-refusal flagged)
  | "metadata" // the guard record (asks, rejections, user_simulator, …) missing or malformed
  | "rerun" // a rerun replayed rejected replies instead of asking again
  | "cli"; // the CLI exited with an unexpected code

export interface Finding {
  kind: FindingKind;
  /** interaction id (and message index), or persona, or "run". */
  where: string;
  detail: string;
}

export interface RunCheck {
  saved: number;
  failed: number;
  stopReasons: Record<string, number>;
  /** Saved messages carrying bad text or a marker (must be 0). */
  badTexts: number;
  /** Largest metadata.asks of a follow-up; undefined when no follow-up records it. */
  maxAsksRecorded: number | undefined;
  /** Most requests the stand-in got for one follow-up, and the most distinct bodies among them. */
  maxAsksServed: number;
  maxDistinctServed: number;
  /** (max_reasks + 1) per conversation attempt × attempts × (1 + call retries). */
  asksBound: number;
  findings: Finding[];
}

/** Reads an output folder as the checks see it. */
export async function readRunOutput(dir: string): Promise<RunOutput> {
  const unreadable: string[] = [];
  const interactions: Interaction[] = [];
  const folder = join(dir, "interactions");
  let names: string[] = [];
  try {
    names = (await readdir(folder)).filter((n) => n.endsWith(".json")).sort();
  } catch {
    // no interaction saved
  }
  for (const name of names) {
    try {
      interactions.push(JSON.parse(await readFile(join(folder, name), "utf8")) as Interaction);
    } catch {
      unreadable.push(`interactions/${name}`);
    }
  }
  const last = new Map<string, FailureRecord>();
  let text = "";
  try {
    text = await readFile(join(dir, "failures.ndjson"), "utf8");
  } catch {
    // no failure
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const record = JSON.parse(line) as FailureRecord;
      last.set(record.interaction_id, record);
    } catch {
      unreadable.push(`failures.ndjson: ${line.slice(0, 60)}`);
    }
  }
  const saved = new Set(interactions.map((i) => i.interaction_id));
  return {
    interactions,
    failures: [...last.values()].filter((f) => !saved.has(f.interaction_id)),
    unreadable,
  };
}

/**
 * The stop marker (or the give-up marker) in any case, spacing or quoting: ###STOP###,
 * ###stop###, ### STOP ###, "STOP###", ###GIVE_UP###…
 */
export function hasMarker(text: string): boolean {
  return /#{2,}\s*(?:stop|give[\s_-]*up)\b|\b(?:stop|give[\s_-]*up)\s*#{2,}/i.test(text);
}

const DETECTORS: ReadonlyArray<[string, RegExp]> = [
  [
    "speaker label",
    /^\s*(?:\*\*|__)?\s*(?:user|customer|human|client|assistant|ai|agent)\s*(?:\*\*|__)?\s*:/im,
  ],
  ["speaker label", /\*\*\s*(?:user|customer|assistant)\s*:?\s*\*\*/i],
  ["json wrapper", /^\s*[{[]|"(?:response|message|reply|content|text|satisfied)"\s*:/i],
  ["stage direction", /^\s*\[[^\]]*\]\s*$|\[(?:reply|respond|write|ask|continue|turn|the user)\b[^\]]*\]/i],
  ["stage direction", /^\s*\((?:replies|reply|responds?|writes?|asks?|thinks?|pauses?|sighs?)\b[^)]*\)/i],
  [
    "prompt leak",
    /role-playing the user|simulated user|you are not the assistant|never write as an ai|reply with exactly|as a persona\b|tech_proficiency|communication_style|your original request was|reply with only your next message|\[turn \d+ of/i,
  ],
  [
    "assistant voice",
    /^\s*(?:certainly|absolutely)!|step-by-step guide|is there anything else i can help|i'?d be (?:happy|glad) to help|how (?:can|may) i (?:help|assist)|\bas an ai\b|\bi'?m an ai\b/i,
  ],
];

const TOO_MANY_WORDS = 400;

/** What is wrong with a saved follow-up of the simulated user (empty list: nothing). */
export function userTextProblems(
  message: Message,
  earlier: readonly Message[],
  mode: Misbehaviour,
): string[] {
  const text = message.content;
  const problems: string[] = [];
  if (text.trim() === "") problems.push("empty");
  // What is left of a marker in quotes once the marker is cut out: '""'.
  else if (!/[\p{L}\p{N}]/u.test(text)) problems.push("no words");
  for (const [name, pattern] of DETECTORS) {
    if (pattern.test(text) && !problems.includes(name)) problems.push(name);
  }
  for (const signature of BAD_SIGNATURES[mode]) {
    if (text.includes(signature)) problems.push(`the ${mode} reply ("${signature}")`);
  }
  if (text.split(/\s+/).length > TOO_MANY_WORDS)
    problems.push(`too long (${text.split(/\s+/).length} words)`);
  if (message.metadata.finish_reason === "length") problems.push("truncated (finish_reason length)");
  const said = comparable(cleanText(message));
  for (const before of earlier) {
    if (comparable(cleanText(before)) !== said) continue;
    problems.push(before.role === "user" ? "repeats an earlier user message" : "copies an assistant message");
    break;
  }
  return problems;
}

function cleanText(message: Message): string {
  return typeof message.metadata.clean_content === "string"
    ? message.metadata.clean_content
    : message.content;
}

const isRefusal = (text: string) => comparable(text) === comparable(REFUSAL);

function checkGuardRecord(message: Message, where: string, setup: CheckSetup, findings: Finding[]): number {
  const { asks, rejections } = message.metadata;
  if (typeof asks !== "number" || !Number.isInteger(asks) || asks < 1) {
    findings.push({
      kind: "metadata",
      where,
      detail: `follow-up without metadata.asks (got ${String(asks)})`,
    });
    return 0;
  }
  if (asks > setup.maxReasks + 1)
    findings.push({ kind: "asks", where, detail: `asks ${asks} > max_reasks + 1 = ${setup.maxReasks + 1}` });
  if (!Array.isArray(rejections)) {
    findings.push({ kind: "metadata", where, detail: "follow-up without metadata.rejections" });
  } else {
    if (rejections.length > asks - 1)
      findings.push({ kind: "metadata", where, detail: `${rejections.length} rejections for ${asks} asks` });
    for (const r of rejections as unknown[]) {
      const rejection = (r ?? {}) as Record<string, unknown>;
      if (
        !(GUARD_NAMES as readonly unknown[]).includes(rejection.guard) ||
        typeof rejection.detail !== "string" ||
        typeof rejection.excerpt !== "string"
      )
        findings.push({
          kind: "metadata",
          where,
          detail: `malformed rejection ${JSON.stringify(r).slice(0, 120)}`,
        });
    }
  }
  return asks;
}

function checkInteraction(
  interaction: Interaction,
  setup: CheckSetup,
  served: readonly ServedReply[],
  findings: Finding[],
): { bad: number; maxAsks: number | undefined } {
  const id = interaction.interaction_id;
  const { messages, metadata } = interaction;
  let bad = 0;
  let maxAsks: number | undefined;
  let followUpAsks = 0;

  // Shape and stop reason.
  const assistants = messages.filter((m) => m.role === "assistant").length;
  const alternates = messages.every((m, i) => m.role === (i % 2 === 0 ? "user" : "assistant"));
  if (
    !alternates ||
    messages.length === 0 ||
    messages.length % 2 !== 0 ||
    assistants !== interaction.num_turns
  )
    findings.push({
      kind: "accounting",
      where: id,
      detail: `messages ${messages.map((m) => m.role[0]).join("")} do not make ${interaction.num_turns} turns`,
    });
  const stop = metadata.stop_reason as string;
  const turns = interaction.num_turns;
  if (!(HONEST_STOP_REASONS as readonly string[]).includes(stop))
    findings.push({ kind: "stop_reason", where: id, detail: `unknown stop_reason ${JSON.stringify(stop)}` });
  else if ((stop === "user_satisfied" || stop === "user_sim_failed") && turns < setup.minTurns)
    findings.push({ kind: "stop_reason", where: id, detail: `${stop} after ${turns} turns < min_turns` });
  else if (stop === "target_turns" && turns !== metadata.target_turns)
    findings.push({
      kind: "stop_reason",
      where: id,
      detail: `target_turns with ${turns} ≠ ${metadata.target_turns} turns`,
    });
  else if (stop === "max_turns" && turns !== setup.maxTurns)
    findings.push({
      kind: "stop_reason",
      where: id,
      detail: `max_turns with ${turns} ≠ ${setup.maxTurns} turns`,
    });
  if (turns > setup.maxTurns)
    findings.push({ kind: "stop_reason", where: id, detail: `${turns} turns > max_turns ${setup.maxTurns}` });

  const markerServed = new Set(
    served
      .filter((s) => s.side === "assistant" && s.bad && hasMarker(s.text))
      .map((s) => comparable(s.text.replace(/\s*###STOP###\s*$/, ""))),
  );
  const badUserServed = served.filter((s) => s.side === "user" && s.bad).map((s) => s.text);

  messages.forEach((message, i) => {
    const where = `${id} #${i} ${message.role}`;
    let isBad = false;
    if (hasMarker(message.content)) {
      findings.push({ kind: "marker", where, detail: `stop marker: ${excerpt(message.content)}` });
      isBad = true;
    }
    if (message.role === "user" && i > 0) {
      const problems = userTextProblems(message, messages.slice(0, i), setup.mode);
      if (problems.length > 0) {
        findings.push({
          kind: "bad_text",
          where,
          detail: `${problems.join("; ")}: ${excerpt(message.content)}`,
        });
        isBad = true;
      }
      // Salvaged from a bad reply (a label, a JSON wrapper or quotes taken off): say so.
      const kept = message.content.trim();
      if (
        kept.length >= 12 &&
        typeof message.metadata.unwrapped !== "string" &&
        badUserServed.some((b) => b !== message.content && b.includes(kept))
      )
        findings.push({
          kind: "metadata",
          where,
          detail: "taken out of a bad reply without metadata.unwrapped",
        });
      const asks = checkGuardRecord(message, where, setup, findings);
      followUpAsks += asks;
      if (asks > 0) maxAsks = Math.max(maxAsks ?? 0, asks);
    }
    if (message.role === "assistant") {
      if (message.content.trim() === "") {
        findings.push({ kind: "bad_text", where, detail: "empty assistant message" });
        isBad = true;
      }
      const flagged = message.metadata.refusal === true;
      if (isRefusal(message.content) && !flagged)
        findings.push({ kind: "refusal", where, detail: "refusal saved without metadata.refusal === true" });
      if (!isRefusal(message.content) && flagged)
        findings.push({
          kind: "refusal",
          where,
          detail: `flagged as a refusal: ${excerpt(message.content)}`,
        });
      if (markerServed.has(comparable(message.content)) && message.metadata.marker_stripped !== true)
        findings.push({ kind: "metadata", where, detail: "marker removed without metadata.marker_stripped" });
    }
    if (isBad) bad++;
  });

  // The conversation's record of the simulated user.
  const summary = metadata.user_simulator as Record<string, unknown> | undefined;
  if (!summary || typeof summary !== "object") {
    findings.push({ kind: "metadata", where: id, detail: "no metadata.user_simulator" });
  } else {
    if (typeof summary.asks !== "number" || summary.asks < followUpAsks)
      findings.push({
        kind: "metadata",
        where: id,
        detail: `user_simulator.asks ${String(summary.asks)} < the follow-ups' asks ${followUpAsks}`,
      });
    if (!summary.rejections || typeof summary.rejections !== "object")
      findings.push({ kind: "metadata", where: id, detail: "user_simulator.rejections missing" });
    else
      for (const guard of Object.keys(summary.rejections))
        if (!(GUARD_NAMES as readonly string[]).includes(guard))
          findings.push({
            kind: "metadata",
            where: id,
            detail: `user_simulator.rejections: unknown guard ${guard}`,
          });
    if (summary.prompt_format !== "chat" && summary.prompt_format !== "transcript")
      findings.push({
        kind: "metadata",
        where: id,
        detail: `prompt_format ${String(summary.prompt_format)}`,
      });
  }
  const scenario = metadata.scenario as Record<string, unknown> | undefined;
  if (!scenario || !["input", "generated", "derived"].includes(String(scenario.source)))
    findings.push({ kind: "metadata", where: id, detail: "no metadata.scenario with a source" });
  return { bad, maxAsks };
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(flat.length > 90 ? `${flat.slice(0, 90)}…` : flat);
}

/** Every check of one run: the output folder against the setup and the stand-in's counts. */
export function checkRun(
  output: RunOutput,
  setup: CheckSetup,
  stats: MisbehavingStats,
  served: readonly ServedReply[],
): RunCheck {
  const findings: Finding[] = [];
  const stopReasons: Record<string, number> = {};
  let badTexts = 0;
  let maxAsksRecorded: number | undefined;

  for (const where of output.unreadable)
    findings.push({ kind: "accounting", where, detail: "does not parse" });

  // Every conversation is saved or failed, once.
  const savedBy = new Map<string, number>();
  for (const i of output.interactions) savedBy.set(i.persona_id, (savedBy.get(i.persona_id) ?? 0) + 1);
  const failedBy = new Map<string, number>();
  for (const f of output.failures) failedBy.set(f.persona_id, (failedBy.get(f.persona_id) ?? 0) + 1);
  for (const persona of setup.personas.keys()) {
    const s = savedBy.get(persona) ?? 0;
    const f = failedBy.get(persona) ?? 0;
    if (s + f !== 1)
      findings.push({ kind: "accounting", where: persona, detail: `saved ${s} times and failed ${f} times` });
  }
  for (const f of output.failures) {
    if (typeof f.reason !== "string" || typeof f.error_kind !== "string" || f.status !== "failed")
      findings.push({ kind: "accounting", where: f.interaction_id, detail: "malformed failure record" });
  }

  for (const interaction of output.interactions) {
    const stop = String(interaction.metadata.stop_reason);
    stopReasons[stop] = (stopReasons[stop] ?? 0) + 1;
    const { bad, maxAsks } = checkInteraction(interaction, setup, served, findings);
    badTexts += bad;
    if (maxAsks !== undefined) maxAsksRecorded = Math.max(maxAsksRecorded ?? 0, maxAsks);
  }

  // The stand-in's side of the asks: never more than the attempts allow.
  const asksBound = (setup.maxReasks + 1) * (setup.maxRetries + 1) * (setup.callRetries + 1);
  let maxAsksServed = 0;
  let maxDistinctServed = 0;
  for (const conversation of stats.conversations) {
    for (const f of conversation.followUps) {
      maxAsksServed = Math.max(maxAsksServed, f.requests);
      maxDistinctServed = Math.max(maxDistinctServed, f.distinct);
      if (f.requests > asksBound)
        findings.push({
          kind: "asks",
          where: `${excerpt(conversation.opening)} follow-up ${f.replies}`,
          detail: `${f.requests} simulated-user requests > ${asksBound}`,
        });
    }
  }
  if (stats.unattributed > 0)
    findings.push({
      kind: "asks",
      where: "stand-in",
      detail:
        `${stats.unattributed} simulated-user requests carried no known opening: asks could not be counted ` +
        "per follow-up (adjust the recognition in bench/misbehaving-stand-in.ts)",
    });
  return {
    saved: output.interactions.length,
    failed: output.failures.length,
    stopReasons,
    badTexts,
    maxAsksRecorded,
    maxAsksServed,
    maxDistinctServed,
    asksBound,
    findings,
  };
}

/**
 * The rerun check: every conversation that failed in the first run (its simulated user's
 * replies rejected) must reach the model again in the rerun, not be replayed whole from the
 * response cache. `stats` are the stand-in's counts of the rerun alone (resetCounts between).
 */
export function checkRerun(
  failedBefore: readonly FailureRecord[],
  setup: CheckSetup,
  stats: MisbehavingStats,
): { asked: number; of: number; findings: Finding[] } {
  const findings: Finding[] = [];
  let asked = 0;
  for (const failure of failedBefore) {
    const opening = setup.personas.get(failure.persona_id);
    const conversation = stats.conversations.find((c) => c.opening === opening);
    const requests = conversation?.userRequests ?? 0;
    if (requests > 0) asked++;
    else
      findings.push({
        kind: "rerun",
        where: failure.interaction_id,
        detail: "the rerun sent no simulated-user request: the rejected replies were replayed from the cache",
      });
  }
  return { asked, of: failedBefore.length, findings };
}
