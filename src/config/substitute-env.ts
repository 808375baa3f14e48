// `${VAR}` and `${VAR:-default}` in config VALUES, as docker compose and most CI files write
// them, so one config serves several machines (an endpoint's host, a model name per stage).
// It runs on the parsed YAML document, not on the text: quoting stays YAML's, a value can
// never inject keys or structure, and an error names the dotted field and its line.
// Keys are never substituted (a config's shape does not depend on the environment).
// `$${` writes a literal `${`. An unset variable without a default is an error, never "":
// an empty endpoint or model name would fail later, further from its cause.
import { isMap, isPair, isScalar, isSeq, parse as parseYamlScalar, type Scalar } from "yaml";
import { InputError } from "./errors.js";
import { formatPath } from "./schema-keys.js";

type PathKey = string | number;

export interface SubstitutionContext {
  readonly env: NodeJS.ProcessEnv;
  readonly file?: string;
  lineOf(path: readonly PathKey[]): number | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPE = "$${";
const OPEN = "${";

/**
 * Replaces every `${…}` in the string scalars that are values of `root` (a yaml Node), in place.
 * An unquoted (plain) scalar that becomes a number or boolean is typed as YAML would type it,
 * so `max_workers: ${WORKERS:-8}` is the number 8; a quoted one stays a string.
 */
export function substituteEnvironment(root: unknown, context: SubstitutionContext): void {
  // Iterative: parseYaml has already refused nesting deeper than MAX_NESTING_DEPTH.
  const stack: Array<{ node: unknown; path: PathKey[] }> = [{ node: root, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        stack.push({ node: pair.value, path: [...path, key] });
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) stack.push({ node: item, path: [...path, index] });
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes(OPEN)) {
      substituteScalar(node as Scalar<string>, path, context);
    }
  }
}

function substituteScalar(node: Scalar<string>, path: PathKey[], context: SubstitutionContext): void {
  const text = substitute(node.value, context.env, (problem, hint) => {
    const line = context.lineOf(path);
    return new InputError({
      ...(context.file !== undefined && { file: context.file }),
      ...(line !== undefined && { line }),
      field: formatPath(path),
      message: problem,
      hint,
    });
  });
  if (node.type === "PLAIN") {
    const typed = typedLikeYaml(text);
    if (typed !== undefined) {
      node.value = typed as unknown as string;
      return;
    }
  }
  node.value = text;
}

/** What YAML makes of an unquoted scalar, when that is a number or a boolean. */
function typedLikeYaml(text: string): number | boolean | undefined {
  if (text.trim() === "" || /[\n:#{}[\],&*!|>'"%@`]/.test(text)) return undefined;
  const value: unknown = parseYamlScalar(text);
  return typeof value === "number" || typeof value === "boolean" ? value : undefined;
}

type Fail = (problem: string, hint: string) => InputError;

// biome-ignore lint/suspicious/noTemplateCurlyInString: `${…}` is the config syntax, not a mistake
const SYNTAX_HINT = "write ${NAME} or ${NAME:-default} (letters, digits, _); $${ is a literal ${";

/** One value with its `${…}` references replaced; throws through `fail` on the first bad one. */
export function substitute(value: string, env: NodeJS.ProcessEnv, fail: Fail): string {
  let out = "";
  let at = 0;
  while (at < value.length) {
    if (value.startsWith(ESCAPE, at)) {
      out += OPEN;
      at += ESCAPE.length;
    } else if (value.startsWith(OPEN, at)) {
      const close = value.indexOf("}", at + OPEN.length);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${…}` is the config syntax, not a mistake
      if (close === -1) throw fail("has a `${` without its closing `}`", SYNTAX_HINT);
      out += resolveReference(value.slice(at + OPEN.length, close), env, fail);
      at = close + 1;
    } else {
      out += value[at];
      at++;
    }
  }
  return out;
}

/** `NAME` → its value (set, even empty); `NAME:-default` → its value unless unset or empty. */
function resolveReference(inner: string, env: NodeJS.ProcessEnv, fail: Fail): string {
  const separator = inner.indexOf(":-");
  const name = separator === -1 ? inner : inner.slice(0, separator);
  if (!NAME.test(name)) throw fail(`\${${inner}} is not a variable reference`, SYNTAX_HINT);
  const value = env[name];
  if (separator !== -1) return value === undefined || value === "" ? inner.slice(separator + 2) : value;
  if (value === undefined) {
    throw fail(
      `environment variable ${name} is not set (used as \${${name}})`,
      `export ${name}, or give a default: \${${name}:-value}`,
    );
  }
  return value;
}
