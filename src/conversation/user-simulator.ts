// The simulated user (the reference's UserFeedbackModel): builds the prompt that makes a
// model speak as the persona, and interprets its plain-text reply as the next message,
// a stop, or something to ask again (empty, or speaking as the assistant).
import type { ChatMessage, ChatModel, ChatRequest } from "../providers/types.js";
import type { UserModelConfig } from "../schema/config.js";
import type { Message } from "../schema/interaction.js";
import { describePersona, personaGuidance } from "./persona-text.js";
import { loadTemplate, renderTemplate } from "./templates.js";

export interface UserTurnContext {
  persona_features: Readonly<Record<string, unknown>>;
  system_prompt?: string | undefined;
  original_query: string;
  /** The conversation so far; the last message is the assistant's reply. */
  messages: readonly Message[];
  /** Turns completed (a turn = one user message + one assistant reply). */
  completed_turns: number;
  target_turns: number;
  /** False before min_turns: the user may not end the conversation yet. */
  may_stop: boolean;
  /** "feedback" reacts to the last answer; "followup" moves on (see feedback_probability). */
  intent: "feedback" | "followup";
  seed: number;
  /** 0 for the first ask, 1.. for re-asks after an unusable reply. */
  reask: number;
  /** systemPrompt(context), rendered once per conversation by the caller (it never changes). */
  rendered_system?: string;
}

export type UserReply =
  | { kind: "message"; content: string }
  | { kind: "stop" }
  | {
      kind: "reask";
      why: "empty" | "speaks_as_assistant" | "stop_too_early" | "repeats_itself" | "echoes_instructions";
    };

// A reply that opens like this is the model answering as the assistant, not as the user.
const ASSISTANT_VOICE =
  /^(assistant\s*:|ai\s*:|as an ai\b|i'?m an ai\b|how (can|may) i (help|assist)\b|i'?d be (happy|glad) to help\b|sure[,!]? here(?:'s| is)\b)/i;
const SPEAKER_LABEL = /^(user|me|human)\s*:\s*/i;

const INTENT_TEXT = {
  feedback:
    "First react to the assistant's last answer: say what was useful, wrong or missing, then say what you need next.",
  followup: "Move on to a related next question or request that builds on the answer.",
} as const;

/** What the user meant to write: the clean text when noise changed it. */
function cleanText(message: Message): string {
  return typeof message.metadata.clean_content === "string"
    ? message.metadata.clean_content
    : message.content;
}

/** Case, spacing and end punctuation do not make a message new. */
function comparable(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/[.!?\s]+$/, "")
    .trim();
}

export class UserSimulator {
  private readonly systemTemplate: string;
  private readonly turnTemplate: string;

  constructor(
    readonly model: ChatModel,
    readonly config: UserModelConfig,
  ) {
    this.systemTemplate = loadTemplate(config.system_prompt_template ?? "user_simulator");
    this.turnTemplate = loadTemplate("user_turn");
  }

  /** The system prompt: stable for the whole conversation, so provider prompt caches apply. */
  systemPrompt(
    context: Pick<UserTurnContext, "persona_features" | "system_prompt" | "original_query">,
  ): string {
    return renderTemplate(this.systemTemplate, {
      persona_description: describePersona(context.persona_features),
      persona_guidance: personaGuidance(context.persona_features),
      system_prompt: context.system_prompt ? `About you: ${context.system_prompt}` : "",
      original_query: context.original_query,
      stop_marker: this.config.stop_marker,
    });
  }

  /**
   * The history with roles flipped (the simulated user's own messages are "assistant"), so a
   * chat model speaks as the user. It sees its own clean text: noise is what it "typed".
   */
  buildRequest(context: UserTurnContext): ChatRequest {
    const history: ChatMessage[] = [
      { role: "user", content: "[The conversation starts. Write your first message.]" },
    ];
    for (const message of context.messages) {
      const text =
        typeof message.metadata.clean_content === "string" ? message.metadata.clean_content : message.content;
      history.push({ role: message.role === "user" ? "assistant" : "user", content: text });
    }
    const last = history[history.length - 1];
    if (last?.role !== "user")
      throw new Error("UserSimulator: the last message must be the assistant's reply");
    const next_turn = context.completed_turns + 1;
    const turn_instruction = context.may_stop
      ? `If you are fully satisfied and have nothing more to ask, reply with exactly ${this.config.stop_marker}.`
      : "You are not done yet: continue the conversation.";
    const note = renderTemplate(this.turnTemplate, {
      next_turn,
      target_turns: context.target_turns,
      turn_instruction,
      followup_instruction: INTENT_TEXT[context.intent],
    });
    const reaskNote =
      context.reask > 0 ? " Your previous reply was unusable: write only the user's message." : "";
    history[history.length - 1] = { role: "user", content: `${last.content}\n\n${note}${reaskNote}` };
    return {
      messages: [
        { role: "system", content: context.rendered_system ?? this.systemPrompt(context) },
        ...history,
      ],
      // A re-ask samples a little hotter: at the same temperature small models repeat themselves.
      temperature: Math.min(1.5, this.config.temperature + 0.25 * context.reask),
      maxTokens: this.config.max_completion_tokens,
      seed: context.seed,
      speakerLabels: { user: "Assistant", assistant: "User" },
    };
  }

  /** Plain text in: any usable text is the next message; JSON is never required. */
  interpret(text: string, context: Pick<UserTurnContext, "may_stop" | "messages">): UserReply {
    const marker = this.config.stop_marker;
    let content = text.trim().replace(SPEAKER_LABEL, "").trim();
    if (content.includes(marker)) {
      if (context.may_stop) return { kind: "stop" };
      content = content.split(marker).join("").trim();
      if (content === "") return { kind: "reask", why: "stop_too_early" };
    }
    if (content === "") return { kind: "reask", why: "empty" };
    const lastAssistant = [...context.messages].reverse().find((m) => m.role === "assistant");
    if (ASSISTANT_VOICE.test(content) || (lastAssistant && content === lastAssistant.content.trim())) {
      return { kind: "reask", why: "speaks_as_assistant" };
    }
    // Small models copy the turn note instead of following it.
    if (
      /^\[?turn \d+ of/i.test(content) ||
      Object.values(INTENT_TEXT).some((t) => content.includes(t.slice(0, 40)))
    ) {
      return { kind: "reask", why: "echoes_instructions" };
    }
    // A user who sends the same message again adds nothing (small models like to echo the opening).
    const said = context.messages.filter((m) => m.role === "user").map((m) => comparable(cleanText(m)));
    if (said.includes(comparable(content))) return { kind: "reask", why: "repeats_itself" };
    return { kind: "message", content };
  }
}
