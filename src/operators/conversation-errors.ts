// How a conversation's errors are told apart: which no retry can fix, which kind a failure
// record names, and the text it saves (never with a secret in it).
import { ProviderError } from "../providers/errors.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
import { UserSimulatorError } from "./user-turn.js";

/** The conversation outgrew a model's context window before min_turns (or at its opening). */
export class ContextFullError extends Error {
  readonly kind = "context_full";
  constructor(turns: number) {
    super(
      `the next prompt would not fit the model's context window after ${turns} turn(s) (set context_window, or shorten prompts)`,
    );
    this.name = "ContextFullError";
  }
}

// Errors that no retry can fix: wrong key, bad request, configuration, programming errors.
export function isFatal(error: unknown): boolean {
  if (error instanceof UserSimulatorError) return false;
  if (error instanceof ProviderError) return !error.transient;
  return true;
}

export function errorKind(error: unknown): string {
  if (error instanceof ProviderError) return error.kind;
  if (error instanceof UserSimulatorError) return error.kind;
  if (error instanceof ContextFullError) return error.kind;
  return "unknown";
}

/** An error's text for a failure record: saved and printed, so never with a secret in it. */
export function errorMessage(error: unknown): string {
  return scrubSecrets(error instanceof Error ? error.message : String(error));
}
