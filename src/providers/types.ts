// The one small interface every model sits behind: messages in; text, usage, finish
// reason, provider and model out. Retries do not live here (see operators/call-model.ts).
import type { Observable } from "rxjs";
import type { RateLimitInfo, Usage } from "../schema/usage.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  messages: readonly ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Per-call seed, passed to providers that accept one. */
  seed?: number;
  /** Aborts the call (timeouts, Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Ends only a wait inside the provider before the call runs (the local model's queue for a
   * context sequence), never a call already running: the run's stop (a first Ctrl-C). The call
   * then fails with this signal's reason. Not part of the cache key.
   */
  waitSignal?: AbortSignal;
  /**
   * Speaker names for providers that prompt a pretrained model as a transcript
   * ("User: …\nAssistant: …"). Chat providers ignore it. The simulated user sends its
   * history with roles flipped (it speaks as "assistant"), so it passes
   * { user: "Assistant", assistant: "User" } to keep the transcript reading naturally.
   * Default: { user: "User", assistant: "Assistant" }.
   */
  speakerLabels?: { user: string; assistant: string };
  /**
   * "transcript": a local model continues the messages as a plain "User:/Assistant:" transcript
   * (labels from speakerLabels) even when it has a chat template. Small instruction-tuned models
   * play a *user* far better this way: through their chat template they slide back into the
   * assistant's voice. Chat APIs ignore it.
   */
  promptStyle?: "transcript";
}

export interface ChatResult {
  text: string;
  usage: Usage;
  /** "stop", "length", … as the provider reported it. */
  finishReason: string;
  provider: string;
  model: string;
  /** Rate-limit headers of the response, where the provider sent them. */
  rateLimit?: RateLimitInfo;
  /** True when the result came from the response cache (no model call was made). */
  cached?: boolean;
}

export interface ChatModel {
  readonly provider: string;
  readonly model: string;
  /**
   * Which budget the model's calls count against: models on one endpoint and key share one
   * (e.g. "openai|https://api.openai.com/v1|OPENAI_API_KEY"). Absent: the model is its own.
   */
  readonly endpointKey?: string;
  complete(request: ChatRequest): Promise<ChatResult>;
  /**
   * Optional observable form. Only the scripted fake uses it, so that marble tests can run
   * model latency in virtual time; everything else goes through complete().
   */
  complete$?(request: ChatRequest): Observable<ChatResult>;
  /**
   * A promise while the model cannot send a request yet (the model thread still loading the SDK),
   * undefined once it can. A call asks its endpoint for admission only after that, so the pacing
   * and the first-contact grace count from when requests can actually go out. A rejection counts
   * as ready: the call goes ahead and reports the failure itself.
   */
  ready?(): Promise<void> | undefined;
  /** Releases sockets, native memory, … */
  close?(): Promise<void>;
}
