// Secrets out of every text a person or a file will see: error messages, failure reasons,
// stderr and progress lines. Config validation refuses credentials in base_url, but a URL can
// still reach an error message another way (a server echoing it, a library quoting it), so the
// places where such text is built or printed scrub it here, whatever its origin.
// Imports nothing: every folder may use it.

const MASK = "***";

/** `scheme://user:password@host` → `scheme://***@host` (the last '@' before the path wins, as in URL parsing). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;

/** A query parameter: separator, name, value (up to the next parameter, fragment, space or quote). */
const QUERY_PARAMETER = /([?&;])([^=&#\s"'<>?;]+)=([^&#\s"'<>;]*)/g;

/**
 * Parameter names that say they carry a credential: key, api_key, apiKey, x-api-key, token,
 * access_token, sig, signature, client_secret, password, auth, … — the whole name or its last
 * part (snake_case, kebab-case or camelCase). The one rule for config's refusal (url-credentials.ts) and for masking.
 */
const CREDENTIAL_NAME =
  /(^|[-_.])(key|apikey|token|secret|password|passwd|pwd|auth|authorization|sig|signature|credentials?)$/i;

/** True for a query parameter (or header) name that says it carries a credential. */
export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name) || CREDENTIAL_NAME.test(name.replace(/([a-z0-9])([A-Z])/g, "$1_$2"));
}

/** `Bearer sk-…` in a quoted header. */
const BEARER = /\b(Bearer\s+)[\w.~+/=-]+/g;

/**
 * Values shorter than this are not remembered: masking a four-letter "key" would rewrite
 * ordinary words in every message, and a key that short is no secret anyway.
 */
const MIN_SECRET_LENGTH = 6;

// The API keys read from the environment in this process (src/providers/presets.ts remembers
// each one it resolves), so an error that quotes a key is scrubbed wherever it is printed,
// without every caller having to know which key its text might contain.
const remembered = new Set<string>();
let longestFirst: readonly string[] = [];

/** Remembers a secret value (an API key) so that scrubSecrets masks it from now on. */
export function rememberSecret(value: string | undefined): void {
  if (value === undefined) return;
  const trimmed = value.trim();
  if (trimmed.length < MIN_SECRET_LENGTH || remembered.has(trimmed)) return;
  remembered.add(trimmed);
  // Longest first, so a key that contains another is masked whole.
  longestFirst = [...remembered].sort((a, b) => b.length - a.length);
}

/** Forgets the remembered secrets (tests). */
export function forgetSecrets(): void {
  remembered.clear();
  longestFirst = [];
}

/** Masks credentials inside URLs: the userinfo part and key-like query parameters. */
export function redactUrls(text: string): string {
  if (!text.includes("://") && !text.includes("=") && !text.includes("Bearer")) return text;
  return text
    .replace(URL_USERINFO, `$1${MASK}@`)
    .replace(QUERY_PARAMETER, (match, separator: string, name: string) =>
      isCredentialName(name) ? `${separator}${name}=${MASK}` : match,
    )
    .replace(BEARER, `$1${MASK}`);
}

/**
 * Masks every remembered secret, any `extra` ones (e.g. the key a provider holds), URL
 * credentials and key-like query parameters. Use it on any text that may quote a URL, a
 * request or a server's answer before it is saved as a reason or printed.
 */
export function scrubSecrets(text: string, extra: readonly (string | undefined)[] = []): string {
  let scrubbed = text;
  for (const secret of extra) {
    if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH)
      scrubbed = scrubbed.split(secret).join(MASK);
  }
  for (const secret of longestFirst) {
    if (scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(MASK);
  }
  return redactUrls(scrubbed);
}
