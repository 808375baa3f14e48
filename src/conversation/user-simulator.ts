// The simulated user (the reference's UserFeedbackModel): builds the prompt that makes a
// model speak as the persona, and reads its plain-text reply through the turn guards
// (guards/index.ts) as the next message, a stop, or something to ask again and why.
import type { ChatMessage, ChatModel, ChatRequest } from "../providers/types.js";
import type { UserModelConfig } from "../schema/config.js";
import type { GuardName, Message, ScenarioRecord, StopReason } from "../schema/interaction.js";
import {
  checkUserReply,
  type GuardSettings,
  instructionShinglesOf,
  type LeakReference,
  leakReference,
} from "./guards/index.js";
import type { Unwrapped } from "./guards/unwrap.js";
import { describePersona, personaGuidance } from "./persona-text.js";
import { describeScenario, scenarioFacts } from "./scenario-text.js";
import type { MarkerSet } from "./stop-markers.js";
import { loadTemplate, renderTemplate } from "./templates.js";
import { words } from "./text-similarity.js";

export interface UserTurnContext {
  persona_features: Readonly<Record<string, unknown>>;
  system_prompt?: string | undefined;
  original_query: string;
  scenario?: ScenarioRecord | undefined;
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
  /** Why the previous ask was rejected: the re-ask says so. */
  rejected?: { guard: GuardName; detail: string } | undefined;
  /** The conversation's prompt (conversationPrompt), rendered once by the caller. */
  prompt?: ConversationPrompt;
}

/** What stays the same for a whole conversation: the system prompt and what a leak of it looks like. */
export interface ConversationPrompt {
  system: string;
  leak: LeakReference;
}

export type UserReply =
  | { kind: "message"; content: string; unwrapped?: Unwrapped }
  | { kind: "stop"; reason: Extract<StopReason, "user_satisfied" | "user_gave_up"> }
  | { kind: "reask"; guard: GuardName; detail: string };

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

/** Keeps the style of earlier messages: small models drift to long, polished prose. */
function styleNote(messages: readonly Message[]): string {
  const own = messages.filter((m) => m.role === "user").map((m) => words(cleanText(m)).length);
  if (own.length === 0) return "";
  const average = Math.max(1, Math.round(own.reduce((a, b) => a + b, 0) / own.length));
  return `Your earlier messages were about ${average} words long: keep to that length and the same way of writing.`;
}

export class UserSimulator {
  private readonly systemTemplate: string;
  private readonly turnTemplate: string;
  private readonly transcriptTemplate: string;
  private readonly continuationTemplate: string;
  readonly markers: MarkerSet;
  readonly promptFormat: "chat" | "transcript";
  /** A transcript for a local model is a plain-text continuation, not a chat (see buildRequest). */
  private readonly continuation: boolean;
  readonly guardSettings: GuardSettings;
  /** What an echo of this simulator's instructions looks like (built once, see instructionShinglesOf). */
  private readonly instructionShingles: ReadonlySet<string>;

  constructor(
    readonly model: ChatModel,
    readonly config: UserModelConfig,
  ) {
    this.systemTemplate = loadTemplate(config.system_prompt_template ?? "user_simulator");
    this.turnTemplate = loadTemplate("user_turn");
    this.transcriptTemplate = loadTemplate("user_transcript");
    this.continuationTemplate = loadTemplate("user_simulator_transcript");
    this.instructionShingles = instructionShinglesOf([
      this.systemTemplate,
      this.turnTemplate,
      this.transcriptTemplate,
      this.continuationTemplate,
      ...Object.values(INTENT_TEXT),
    ]);
    this.markers = { stop: config.stop_marker, giveUp: config.give_up_marker };
    const format = config.prompt_format;
    this.promptFormat = format === "auto" ? (model.provider === "local" ? "transcript" : "chat") : format;
    this.continuation = this.promptFormat === "transcript" && model.provider === "local";
    const guards = config.guards;
    this.guardSettings = {
      disabled: new Set(guards.disable),
      maxWords: guards.max_words,
      nearDuplicate: guards.near_duplicate,
      copyShare: guards.copy_share,
    };
  }

  /** The system prompt: stable for the whole conversation, so provider prompt caches apply. */
  systemPrompt(
    context: Pick<UserTurnContext, "persona_features" | "system_prompt" | "original_query" | "scenario">,
  ): string {
    if (this.continuation) return this.continuationPreamble(context, undefined);
    return renderTemplate(this.systemTemplate, {
      persona_description: describePersona(context.persona_features),
      persona_guidance: personaGuidance(context.persona_features),
      system_prompt: context.system_prompt ? `About you: ${context.system_prompt}` : "",
      original_query: context.original_query,
      scenario: describeScenario(context.scenario),
      stop_marker: this.config.stop_marker,
      give_up_marker: this.markers.giveUp,
    });
  }

  /** The preamble a local model continues from: the user described in the third person. */
  private continuationPreamble(
    context: Pick<UserTurnContext, "persona_features" | "system_prompt" | "original_query" | "scenario">,
    rejected: UserTurnContext["rejected"],
  ): string {
    return renderTemplate(this.continuationTemplate, {
      persona_description: describePersona(context.persona_features),
      system_prompt: context.system_prompt ? `- ${context.system_prompt}` : "",
      scenario: describeScenario(context.scenario, "user"),
      stop_marker: this.config.stop_marker,
      give_up_marker: this.markers.giveUp,
      reask_note: rejected
        ? `(An earlier draft of the user's next message was discarded because ${rejected.detail}.)`
        : "",
    });
  }

  /** The system prompt and its leak reference, once per conversation. */
  conversationPrompt(
    context: Pick<UserTurnContext, "persona_features" | "system_prompt" | "original_query" | "scenario">,
  ): ConversationPrompt {
    const system = this.systemPrompt(context);
    const own = [
      context.original_query,
      context.system_prompt ?? "",
      ...Object.values(context.persona_features).map((v) => (typeof v === "string" ? v : JSON.stringify(v))),
      ...scenarioFacts(context.scenario),
    ];
    return { system, leak: leakReference(this.instructionShingles, own, context.persona_features) };
  }

  private turnNote(context: UserTurnContext): string {
    const turn_instruction = context.may_stop
      ? `If you are fully satisfied and have nothing more to ask, reply with exactly ${this.config.stop_marker}.`
      : "You are not done yet: continue the conversation naturally.";
    const note = renderTemplate(this.turnTemplate, {
      next_turn: context.completed_turns + 1,
      target_turns: context.target_turns,
      turn_instruction,
      followup_instruction: INTENT_TEXT[context.intent],
      style_note: styleNote(context.messages),
    }).replace(/ {2,}/g, " ");
    if (!context.rejected) return note;
    return `${note}\nYour previous reply was rejected because ${context.rejected.detail}. Write only the user's next message, in plain text.`;
  }

  buildRequest(context: UserTurnContext): ChatRequest {
    const last = context.messages[context.messages.length - 1];
    if (last?.role !== "assistant")
      throw new Error("UserSimulator: the last message must be the assistant's reply");
    const system = context.prompt?.system ?? this.systemPrompt(context);
    // Re-asks sample a little hotter: at the same temperature small models repeat themselves.
    const temperature = Math.min(1.5, this.config.temperature + 0.25 * context.reask);
    const common = { temperature, maxTokens: this.config.max_completion_tokens, seed: context.seed };
    if (this.continuation) {
      // The model continues "…\nAssistant: <reply>\nUser:" — the history with roles flipped,
      // labelled so the transcript reads naturally; no turn note breaks the transcript.
      const preamble = context.rejected ? this.continuationPreamble(context, context.rejected) : system;
      return {
        ...common,
        messages: [{ role: "system", content: preamble }, ...this.flipped(context.messages)],
        speakerLabels: { user: "Assistant", assistant: "User" },
        promptStyle: "transcript",
      };
    }
    const messages =
      this.promptFormat === "transcript"
        ? this.transcriptMessages(system, context)
        : this.chatMessages(system, context);
    return {
      ...common,
      messages,
      speakerLabels:
        this.promptFormat === "transcript"
          ? { user: "Instructions", assistant: "User" }
          : { user: "Assistant", assistant: "User" },
    };
  }

  /** The user's own messages become "assistant" turns (its clean text: noise is what it "typed"). */
  private flipped(messages: readonly Message[]): ChatMessage[] {
    return messages.map((m) => ({ role: m.role === "user" ? "assistant" : "user", content: cleanText(m) }));
  }

  /**
   * The history with roles flipped (the simulated user's own messages are "assistant"), so a
   * chat model speaks as the user. It sees its own clean text: noise is what it "typed".
   */
  private chatMessages(system: string, context: UserTurnContext): ChatMessage[] {
    const history: ChatMessage[] = [
      { role: "user", content: "[The conversation starts. Write your first message.]" },
      ...this.flipped(context.messages),
    ];
    const last = history[history.length - 1] as ChatMessage;
    history[history.length - 1] = { role: "user", content: `${last.content}\n\n${this.turnNote(context)}` };
    return [{ role: "system", content: system }, ...history];
  }

  /** The conversation as a transcript inside one request: small models keep the roles apart better. */
  private transcriptMessages(system: string, context: UserTurnContext): ChatMessage[] {
    const transcript = context.messages
      .map((m) => `${m.role === "user" ? "You" : "Assistant"}: ${cleanText(m).trim()}`)
      .join("\n\n");
    const content = renderTemplate(this.transcriptTemplate, {
      transcript,
      turn_note: this.turnNote(context),
    });
    return [
      { role: "system", content: system },
      { role: "user", content },
    ];
  }

  /** Plain text in, through the turn guards; JSON is never required (an obvious wrapper is peeled). */
  interpret(
    text: string,
    context: Pick<UserTurnContext, "may_stop" | "messages" | "persona_features"> & {
      prompt: ConversationPrompt;
    },
    finishReason = "stop",
  ): UserReply {
    const verdict = checkUserReply(
      {
        text,
        finishReason,
        messages: context.messages,
        persona_features: context.persona_features,
        leak: context.prompt.leak,
        markers: this.markers,
      },
      this.guardSettings,
    );
    if (verdict.kind === "reject") return { kind: "reask", guard: verdict.guard, detail: verdict.detail };
    if (verdict.kind === "message")
      return verdict.unwrapped
        ? { kind: "message", content: verdict.content, unwrapped: verdict.unwrapped }
        : { kind: "message", content: verdict.content };
    if (context.may_stop)
      return { kind: "stop", reason: verdict.marker === "stop" ? "user_satisfied" : "user_gave_up" };
    return {
      kind: "reask",
      guard: "stop_too_early",
      detail:
        "you may not end the conversation yet: continue it naturally with your next question or reaction",
    };
  }
}
