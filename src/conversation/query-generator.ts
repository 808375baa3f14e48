// New queries for personas short of their quota (supplement rounds), from a configured
// model. Plain text in, one request per line out.
import type { ChatModel, ChatRequest } from "../providers/types.js";
import { describePersona } from "./persona-text.js";
import { loadTemplate, renderTemplate } from "./templates.js";

export interface QueryGeneratorOptions {
  model: ChatModel;
  template?: string | undefined;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
}

export class QueryGenerator {
  private readonly template: string;

  constructor(readonly options: QueryGeneratorOptions) {
    this.template = loadTemplate(options.template ?? "query_generation");
  }

  buildRequest(
    features: Readonly<Record<string, unknown>>,
    count: number,
    existing: readonly string[],
    seed: number,
  ): ChatRequest {
    const prompt = renderTemplate(this.template, {
      count,
      existing_queries: existing.length > 0 ? existing.map((q) => `- ${q}`).join("\n") : "(none yet)",
      persona_description: describePersona(features),
    });
    return {
      messages: [{ role: "user", content: prompt }],
      temperature: this.options.temperature ?? 0.9,
      maxTokens: this.options.maxTokens ?? 512,
      seed,
      speakerLabels: { user: "Instructions", assistant: "Requests" },
    };
  }

  /** Up to `count` new, distinct, non-empty lines; numbering and bullets are stripped. */
  parse(text: string, count: number, existing: readonly string[]): string[] {
    const seen = new Set(existing.map((q) => q.trim().toLowerCase()));
    const queries: string[] = [];
    for (const raw of text.split("\n")) {
      const line = raw.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, "").trim();
      if (line.length < 8 || seen.has(line.toLowerCase())) continue;
      seen.add(line.toLowerCase());
      queries.push(line);
      if (queries.length === count) break;
    }
    return queries;
  }
}
