// Turns zod issues into messages a user can act on: the full dotted path of the key, what was
// expected and what was found, the closest known key for a misspelling, the valid providers
// for an unknown one. Values that look like secrets are never echoed.
import { z } from "zod";
import { maskUrlCredentials } from "../shared/url-credentials.js";
import { InputError } from "./errors.js";
import { formatPath, knownKeysAt, pathsDefiningKey, schemaAt } from "./schema-keys.js";
import { closestMatch } from "./suggest.js";

type PathKey = PropertyKey;

export interface Problem {
  path: PathKey[];
  message: string;
  hint?: string;
}

export interface IssueContext {
  /** The schema that produced the issues (used to list known keys and defaults). */
  schema: z.core.$ZodType;
  /** The value that was validated, to show what was actually given. */
  raw: unknown;
  /** "yaml" says mapping/list, "json" says object/array. */
  vocabulary?: "yaml" | "json";
}

export function valueAt(raw: unknown, path: readonly PathKey[]): unknown {
  let current = raw;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

// Vendor key prefixes, bearer headers, and long opaque runs of letters and digits. Model names
// and paths (with "/" or ".") stay visible: hiding them would make messages useless.
const SECRET_SHAPES = [
  /^(sk|rk|pk|hf|sess)[-_]/i,
  /^AIza[0-9A-Za-z_-]{20,}/,
  /^AKIA[0-9A-Z]{12,}/,
  /^bearer\s/i,
  /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-+=]{32,}$/,
];

function looksSecret(value: string, key: PathKey | undefined): boolean {
  // Keys named like a credential (api_key, token, …); not max_completion_tokens or api_key_env.
  if (key !== undefined && /(^|_)(api_?key|secret|password|token|authorization)$/i.test(String(key)))
    return true;
  return SECRET_SHAPES.some((shape) => shape.test(value.trim()));
}

/** How a value is shown in "(got …)": short, quoted, and never a secret. */
export function describeValue(value: unknown, key?: PathKey, vocabulary: "yaml" | "json" = "yaml"): string {
  if (value === undefined) return "nothing";
  if (value === null) return vocabulary === "yaml" ? "an empty value" : "null";
  if (typeof value === "string") {
    if (looksSecret(value, key)) return "a value that looks like a secret (not shown)";
    // A malformed base_url can still hold user:password@ or ?api_key=…: mask them.
    const quoted = JSON.stringify(maskUrlCredentials(value));
    return quoted.length > 42 ? `${quoted.slice(0, 40)}…"` : quoted;
  }
  if (Array.isArray(value)) return vocabulary === "yaml" ? "a list" : "an array";
  if (typeof value === "object") return vocabulary === "yaml" ? "a mapping" : "an object";
  return String(value);
}

function expectedName(expected: string, vocabulary: "yaml" | "json"): string {
  switch (expected) {
    case "number":
      return "a number";
    case "int":
      return "a whole number";
    case "string":
      return "text";
    case "boolean":
      return "true or false";
    case "object":
    case "record":
      return vocabulary === "yaml" ? "a mapping (key: value pairs)" : "an object";
    case "array":
      return vocabulary === "yaml" ? "a list" : "an array";
    default:
      return expected;
  }
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, got: string): string {
  const small = issue.code === "too_small";
  const bound = small
    ? (issue as z.core.$ZodIssueTooSmall).minimum
    : (issue as z.core.$ZodIssueTooBig).maximum;
  const inclusive = issue.inclusive !== false;
  if (issue.origin === "string") {
    if (small && Number(bound) === 1) return "must not be empty";
    return `must be ${small ? "at least" : "at most"} ${bound} characters long`;
  }
  if (issue.origin === "array" || issue.origin === "set") {
    return `must have ${small ? "at least" : "at most"} ${bound} item${Number(bound) === 1 ? "" : "s"}`;
  }
  if (small && Number(bound) === 0 && inclusive) return `must not be negative (got ${got})`;
  const relation = small ? (inclusive ? "at least" : "greater than") : inclusive ? "at most" : "less than";
  return `must be ${relation} ${bound} (got ${got})`;
}

function unknownKeyProblem(schema: z.core.$ZodType, parent: PathKey[], key: string): Problem {
  const path = [...parent, key];
  if (/^api[-_]?key$/i.test(key)) {
    return {
      path,
      message: `unknown key '${key}' — API keys are never read from files`,
      hint: "put the key in an environment variable and name it with api_key_env (e.g. api_key_env: OPENAI_API_KEY)",
    };
  }
  const known = knownKeysAt(schema, parent) ?? [];
  const close = closestMatch(key, known);
  if (close) return { path, message: `unknown key '${key}' — did you mean '${close}'?` };
  const here = formatPath(parent);
  const elsewhere = pathsDefiningKey(schema, key).find((p) => formatPath(p) !== here);
  if (elsewhere) {
    const where = formatPath([...elsewhere, key]).replace(/\[0\]/g, "[]");
    return { path, message: `unknown key '${key}' here — did you mean '${where}'?` };
  }
  return known.length > 0
    ? { path, message: `unknown key '${key}'`, hint: `known keys here: ${known.join(", ")}` }
    : { path, message: `unknown key '${key}'` };
}

/** The default a schema would give a missing key (for messages such as max_turns defaults to 5). */
function defaultAt(schema: z.core.$ZodType, path: readonly PathKey[]): unknown {
  const at = schemaAt(schema, path);
  if (!at) return undefined;
  const result = z.safeParse(at, undefined);
  return result.success ? result.data : undefined;
}

function describeIssue(issue: z.core.$ZodIssue, ctx: IssueContext): Problem[] {
  const vocabulary = ctx.vocabulary ?? "yaml";
  const path = [...issue.path];
  const key = path[path.length - 1];
  const value = valueAt(ctx.raw, path);
  const got = describeValue(value, key, vocabulary);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((name) => unknownKeyProblem(ctx.schema, path, name));
    case "invalid_type":
      if (value === undefined) return [{ path, message: "is required" }];
      return [{ path, message: `expected ${expectedName(issue.expected, vocabulary)} (got ${got})` }];
    case "too_small":
    case "too_big":
      return [{ path, message: sizeMessage(issue, got) }];
    case "invalid_value": {
      const options = issue.values.map(String);
      if (key === "provider") {
        const close = typeof value === "string" ? closestMatch(value, options) : undefined;
        return [
          {
            path,
            message: `unknown provider ${got}${close ? ` — did you mean '${close}'?` : ""}`,
            hint: `valid providers: ${options.join(", ")}`,
          },
        ];
      }
      return [{ path, message: `must be one of ${options.join(", ")} (got ${got})` }];
    }
    case "invalid_format":
      if (issue.format === "url") {
        const noScheme = typeof value === "string" && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
        return [
          {
            path,
            message: `must be an http(s) URL such as http://localhost:11434/v1 (got ${got})`,
            ...(noScheme && { hint: "start it with http:// or https://" }),
          },
        ];
      }
      if (key === "api_key_env") {
        return [
          {
            path,
            message: `${issue.message} (got ${got})`,
            hint: "api_key_env takes the name of the environment variable that holds the key, never the key",
          },
        ];
      }
      // Schema-authored messages already say what is wanted.
      return [{ path, message: `${issue.message} (got ${got})` }];
    case "invalid_union":
      return [{ path, message: `has the wrong type (got ${got})` }];
    case "custom":
      if (key === "min_turns") {
        const parent = path.slice(0, -1);
        const shown = (name: string) => {
          const given = valueAt(ctx.raw, [...parent, name]);
          return given === undefined
            ? `${String(defaultAt(ctx.schema, [...parent, name]))} by default`
            : String(given);
        };
        return [
          {
            path,
            message: `${issue.message} (min_turns ${shown("min_turns")}, max_turns ${shown("max_turns")})`,
          },
        ];
      }
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

/** Every issue as a problem, unknown keys first: a misspelt key is the likeliest root cause. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], ctx: IssueContext): Problem[] {
  const problems = issues.flatMap((issue) => describeIssue(issue, ctx));
  const rank = (p: Problem) => (p.message.startsWith("unknown key") ? 0 : 1);
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => rank(a.problem) - rank(b.problem) || a.index - b.index)
    .map(({ problem }) => problem);
}

export interface ErrorLocation {
  file?: string;
  /** A fixed line (a JSONL record), or a lookup from a key path to a line (YAML nodes). */
  line?: number | ((path: readonly PathKey[]) => number | undefined);
  /** Prepended to every field (e.g. `[3]` for the fourth item of a JSON array). */
  fieldPrefix?: readonly PathKey[];
}

/** The first problem as an InputError; the others are listed by field in `more`. */
export function problemsToInputError(problems: readonly Problem[], where: ErrorLocation): InputError {
  const prefix = where.fieldPrefix ?? [];
  const fieldOf = (p: Problem) => formatPath([...prefix, ...p.path]) || undefined;
  const first = problems[0] ?? { path: [], message: "is not valid" };
  const line = typeof where.line === "function" ? where.line(first.path) : where.line;
  const others = problems.slice(1).map((p) => fieldOf(p) ?? "(top level)");
  return new InputError({
    ...(where.file !== undefined && { file: where.file }),
    ...(fieldOf(first) !== undefined && { field: fieldOf(first) }),
    ...(line !== undefined && { line }),
    message: first.message,
    ...(first.hint !== undefined && { hint: first.hint }),
    more: [...new Set(others)],
  });
}

export function zodErrorToInputError(error: z.ZodError, ctx: IssueContext, where: ErrorLocation): InputError {
  return problemsToInputError(describeIssues(error.issues, ctx), where);
}
