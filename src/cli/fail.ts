// How the CLI ends on errors: bad input is one short line and exit 2, never a stack trace.
import { isInputError } from "../config/errors.js";
import { ProviderError } from "../providers/errors.js";
import { describeFileSystemError } from "../shared/fs-errors.js";
import { scrubSecrets } from "../shared/redact-secrets.js";
import { terminalText } from "../shared/terminal-text.js";

export const EXIT = {
  ok: 0,
  /** Bad input: config, personas, command-line values, missing key variable. */
  badInput: 2,
  /** The run finished but some conversations failed (the rest are saved). */
  someFailed: 3,
  /**
   * An endpoint was given up on (down, or a Retry-After over the ceiling): the conversations not
   * started are not saved as failures, and rerunning the same command does them.
   */
  endpointDown: 3,
  /** An endpoint refused the key (401/403): one request, no conversation started after it; fix the key. */
  authRefused: 2,
  /** The budget stopped admitting conversations; rerun with a larger budget to do the rest. */
  budgetReached: 4,
  /** The disk filled up (ENOSPC): what was saved stays saved; free space and rerun to continue. */
  diskFull: 5,
  /** Stopped by Ctrl-C; re-running the same command resumes. */
  interrupted: 130,
} as const;

/**
 * Error text for stderr: it may quote persona ids, file names, model output or URLs, so secrets
 * are masked and terminal escapes shown as visible escapes (`\x1b`), never acted on.
 */
function forTerminal(text: string): string {
  return terminalText(scrubSecrets(text));
}

/** Prints an error for a person and returns the exit code it deserves. */
export function reportError(error: unknown, errorStream: NodeJS.WritableStream = process.stderr): number {
  const stderr = { write: (text: string) => errorStream.write(forTerminal(text)) };
  if (isInputError(error)) {
    stderr.write(`error: ${error.format()}\n`);
    return EXIT.badInput;
  }
  if (error instanceof ProviderError && error.kind === "config") {
    stderr.write(`error: ${error.message}\n`);
    return EXIT.badInput;
  }
  // The reader of our stdout went away (`| head`): stop quietly, what was saved stays saved.
  if (error instanceof Error && "code" in error && error.code === "EPIPE") return EXIT.ok;
  // A full disk, a read-only or immutable folder, a file where a folder should be: one line.
  const fileProblem = describeFileSystemError(error);
  if (fileProblem) {
    stderr.write(`error: ${fileProblem.message}\n`);
    return fileProblem.diskFull ? EXIT.diskFull : EXIT.badInput;
  }
  if (error instanceof Error && "code" in error && error.code === "ENOENT") {
    stderr.write(`error: ${error.message}\n`);
    return EXIT.badInput;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  stderr.write(`convosim: unexpected error (please report it):\n${message}\n`);
  return 1;
}
