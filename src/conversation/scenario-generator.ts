// The optional scenario generator (interaction_generation.scenario_generation): a configured
// model writes a scenario — goal, expected outcome, known and unknown facts, constraints —
// for a query that brings none, so the simulated user has something concrete to play.
import type { ChatModel, ChatRequest } from "../providers/types.js";
import type { ScenarioRecord } from "../schema/interaction.js";
import { firstJsonObject } from "./json-reply.js";
import { describePersona } from "./persona-text.js";
import { loadTemplate, renderTemplate } from "./templates.js";

function strings(value: unknown, limit: number): string[] | undefined {
  const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
  const items = list
    .filter((item): item is string => typeof item === "string" && item.trim() !== "")
    .map((item) => item.trim());
  return items.length > 0 ? items.slice(0, limit) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

export class ScenarioGenerator {
  private readonly template: string;

  constructor(
    readonly model: ChatModel,
    template?: string,
  ) {
    this.template = loadTemplate(template ?? "scenario_generation");
  }

  buildRequest(
    features: Readonly<Record<string, unknown>>,
    originalQuery: string,
    seed: number,
  ): ChatRequest {
    const prompt = renderTemplate(this.template, {
      persona_description: describePersona(features),
      original_query: originalQuery,
    });
    return {
      messages: [{ role: "user", content: prompt }],
      temperature: 0.7,
      maxTokens: 400,
      seed,
      speakerLabels: { user: "Instructions", assistant: "Scenario" },
    };
  }

  /** The scenario in a reply, or undefined when it holds no goal or outcome (then the query is the goal). */
  parse(reply: string): ScenarioRecord | undefined {
    const json = firstJsonObject(reply);
    if (!json) return undefined;
    const goal = text(json.goal);
    const expected = text(json.expected_outcome);
    if (!goal && !expected) return undefined;
    const known = strings(json.known, 6);
    const unknown = strings(json.unknown, 4);
    const constraints = strings(json.constraints, 4);
    return {
      ...(goal ? { goal } : {}),
      ...(expected ? { expected_outcome: expected } : {}),
      ...(known ? { known } : {}),
      ...(unknown ? { unknown } : {}),
      ...(constraints ? { constraints } : {}),
      source: "generated",
    };
  }
}
