// The optional turn verifier (interaction_generation.turn_verifier): a configured model checks
// each user turn that passed the rule-based guards for role, persona consistency and leakage,
// like τ-bench's "verify" user strategy. A rejection is re-asked like any guard's.
import type { ChatModel, ChatRequest } from "../providers/types.js";
import type { ScenarioRecord } from "../schema/interaction.js";
import { booleanField, firstJsonObject, verdictRequest } from "./json-reply.js";
import { describePersona } from "./persona-text.js";
import { describeScenario } from "./scenario-text.js";
import { loadTemplate, renderTemplate } from "./templates.js";

export interface VerifierReading {
  ok: boolean;
  problem: string;
}

export class TurnVerifier {
  private readonly template: string;

  constructor(
    readonly model: ChatModel,
    template?: string,
  ) {
    this.template = loadTemplate(template ?? "turn_verifier");
  }

  buildRequest(
    features: Readonly<Record<string, unknown>>,
    scenario: ScenarioRecord | undefined,
    assistantReply: string,
    candidate: string,
    seed: number,
  ): ChatRequest {
    const prompt = renderTemplate(this.template, {
      persona_description: describePersona(features),
      scenario: describeScenario(scenario),
      assistant_reply: assistantReply.slice(0, 3000),
      candidate,
    });
    return verdictRequest(prompt, seed);
  }

  /** An unreadable verdict passes the message: the rule-based guards already accepted it. */
  read(text: string): VerifierReading {
    const json = firstJsonObject(text);
    const ok = booleanField(json, "ok");
    const problem = typeof json?.problem === "string" ? json.problem.trim() : "";
    if (ok === undefined) return { ok: true, problem: "" };
    return { ok, problem: ok ? "" : problem || "the verifier rejected it" };
  }
}
