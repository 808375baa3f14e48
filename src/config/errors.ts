// The single error type for bad user input: a config file, a persona file, a command-line
// value. It carries where the problem is (file, line, field) separately from what is wrong,
// so that the CLI can print one short line — `error: <format()>` — and exit 2 with no stack
// trace, while code can still inspect `field` or `line` (tests do).

export interface InputErrorDetails {
  /** The file (as the user named it), or "stdin", or "command line". */
  file?: string;
  /** Dotted path of the offending key, e.g. `interaction_generation.assistant_model.model_pool[2].weight`. */
  field?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`, when the parser knows it. */
  column?: number;
  /** What is wrong, without the location: `must be at least 1 (got -3)`. */
  message: string;
  /** How to fix it, when there is something useful to say. */
  hint?: string;
  /** Fields of further problems found in the same input (reported after the first). */
  more?: readonly string[];
}

export class InputError extends Error {
  override readonly name = "InputError";
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly hint: string | undefined;
  readonly more: readonly string[];

  constructor(details: InputErrorDetails, options?: { cause?: unknown }) {
    super(details.message, options);
    this.file = details.file;
    this.field = details.field;
    this.line = details.line;
    this.column = details.column;
    this.hint = details.hint;
    this.more = details.more ?? [];
    // An uncaught InputError should still say where the problem is: V8 prints the stack,
    // whose first line was built from the bare message.
    if (this.stack) {
      const newline = this.stack.indexOf("\n");
      const rest = newline === -1 ? "" : this.stack.slice(newline);
      this.stack = `${this.name}: ${this.format().split("\n")[0]}${rest}`;
    }
  }

  /** Where the problem is, e.g. `personas.jsonl line 17` (empty when nothing is known). */
  location(): string {
    const parts: string[] = [];
    if (this.file !== undefined) parts.push(this.file);
    if (this.line !== undefined) {
      parts.push(
        this.column !== undefined ? `line ${this.line}, column ${this.column}` : `line ${this.line}`,
      );
    }
    return parts.join(" ");
  }

  /**
   * One to three lines:
   *   config.yaml line 4: interaction_generation.max_workers: must be at least 1 (got -3)
   *     hint: …
   *     also: 2 more problems (interaction_generation.seed, distractor.enabled)
   */
  format(): string {
    const head = [this.location(), this.field].filter((part) => part !== undefined && part !== "");
    const lines = [[...head, this.message].join(": ")];
    if (this.hint) lines.push(`  hint: ${this.hint}`);
    if (this.more.length > 0) {
      const shown = this.more.slice(0, 3).join(", ");
      const ellipsis = this.more.length > 3 ? ", …" : "";
      const noun = this.more.length === 1 ? "problem" : "problems";
      lines.push(`  also: ${this.more.length} more ${noun} (${shown}${ellipsis})`);
    }
    return lines.join("\n");
  }

  override toString(): string {
    return `${this.name}: ${this.format()}`;
  }
}

export function isInputError(error: unknown): error is InputError {
  return error instanceof InputError;
}
