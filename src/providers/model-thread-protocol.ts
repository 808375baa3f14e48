// What the main thread and the model thread (model-thread.ts, model-thread-worker.ts) say to
// each other, and how a failure crosses between them. Structured clone keeps plain data only:
// a ProviderError arrives as an Error without its class, kind or getters, so it travels as its
// fields and is rebuilt on the other side — the same kind, message, status, Retry-After, request
// id, rate-limit headers, empty-reply flag, network code and reached-server fact.
import type { ModelConfig } from "../schema/config.js";
import type { RateLimitInfo } from "../schema/usage.js";
import { ProviderError, type ProviderErrorKind } from "./errors.js";
import type { ChatMessage, ChatResult } from "./types.js";

/** The parts of a ChatRequest an HTTP model reads (signals travel as ids; see model-thread.ts). */
export interface ThreadRequest {
  messages: readonly ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  seed?: number;
}

export type ToThread =
  /** Builds a model in the thread (the thread reads its key from the shared environment). */
  | { type: "define"; model: number; config: ModelConfig }
  /** One call; `signal` names the caller's AbortSignal (calls sharing one share the id). */
  | { type: "call"; id: number; model: number; request: ThreadRequest; signal?: number }
  /** The caller's signal fired: every call under it is aborted in the thread. */
  | { type: "abort"; signal: number };

export type FromThread =
  | { id: number; result: ChatResult }
  | { id: number; error: WireError }
  /** The model is built (or failed to be: each call then reports why): calls can go out. */
  | { ready: number };

export type WireError =
  | {
      provider: true;
      kind: ProviderErrorKind;
      message: string;
      status?: number;
      retryAfterMs?: number;
      requestId?: string;
      rateLimit?: RateLimitInfo;
      emptyReply: boolean;
      code?: string;
      reachedServer: boolean;
    }
  | { provider: false; name: string; message: string };

export function toWire(error: unknown): WireError {
  if (error instanceof ProviderError) {
    return {
      provider: true,
      kind: error.kind,
      message: error.message,
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
      ...(error.rateLimit !== undefined ? { rateLimit: error.rateLimit } : {}),
      emptyReply: error.emptyReply,
      ...(error.code !== undefined ? { code: error.code } : {}),
      reachedServer: error.reachedServer,
    };
  }
  const plain = error instanceof Error ? error : new Error(String(error));
  return { provider: false, name: plain.name, message: plain.message };
}

export function fromWire(wire: WireError): Error {
  if (!wire.provider) {
    const error = new Error(wire.message);
    error.name = wire.name;
    return error;
  }
  return new ProviderError(wire.kind, wire.message, {
    ...(wire.status !== undefined ? { status: wire.status } : {}),
    ...(wire.retryAfterMs !== undefined ? { retryAfterMs: wire.retryAfterMs } : {}),
    ...(wire.requestId !== undefined ? { requestId: wire.requestId } : {}),
    ...(wire.rateLimit !== undefined ? { rateLimit: wire.rateLimit } : {}),
    ...(wire.emptyReply ? { emptyReply: true } : {}),
    ...(wire.code !== undefined ? { code: wire.code } : {}),
    reachedServer: wire.reachedServer,
  });
}
