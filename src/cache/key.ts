// The response cache key: sha256 of a canonical JSON of everything that decides a model call's
// output — which model (provider, model, endpoint, the config settings that shape sampling) and
// the request (messages, temperature, max tokens, seed, speaker labels, any future field) —
// and of nothing else: not the API key, its variable, timeouts, rate limits, transport or the
// abort signal. The seed already carries the sample, turn and re-ask (see operators/converse.ts),
// so two calls with one key are the same call.
import { PROVIDER_PRESETS } from "../providers/presets.js";
import type { ChatRequest } from "../providers/types.js";
import type { ModelConfig } from "../schema/config.js";
import { sha256Hex } from "./entry.js";

/** Bumped when the key material changes shape, so old entries are never misread as new ones. */
export const KEY_VERSION = 1;

/** Which model answers: what, beyond the request, changes a reply. */
export interface ModelIdentity {
  provider: string;
  model: string;
  /** Base URL, without credentials, query or fragment (see endpointForKey). */
  endpoint?: string;
  /** Config settings that change replies: default temperature and max tokens, extra_body, model_path. */
  settings?: Readonly<Record<string, unknown>>;
}

/**
 * A URL as far as it names the server and path: user info, query and fragment are dropped
 * because they are where credentials hide (https://user:key@host, ?api_key=…), and a trailing
 * slash is dropped so `…/v1` and `…/v1/` are one endpoint.
 */
export function endpointForKey(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
  } catch {
    // Not a URL (the schema only lets URLs through, but identities can be built by hand):
    // keep what precedes any '?', '#' or '@'-credentials so no secret reaches the key material.
    return url.replace(/[?#].*$/, "").replace(/^([a-z]+:\/\/)[^@/]*@/i, "$1");
  }
}

/**
 * The identity of a configured model. The endpoint is the config's base_url or the provider's
 * default, so "no base_url" and "the default base_url spelt out" share entries.
 */
export function modelIdentity(config: ModelConfig): ModelIdentity {
  const url = config.base_url ?? PROVIDER_PRESETS[config.provider].defaultBaseUrl;
  const settings: Record<string, unknown> = {};
  if (config.temperature !== undefined) settings.temperature = config.temperature;
  if (config.max_completion_tokens !== undefined)
    settings.max_completion_tokens = config.max_completion_tokens;
  if (config.extra_body !== undefined) settings.extra_body = config.extra_body;
  if (config.model_path !== undefined) settings.model_path = config.model_path;
  return {
    provider: config.provider,
    model: config.model,
    ...(url !== undefined ? { endpoint: endpointForKey(url) } : {}),
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
  };
}

/**
 * JSON with object keys sorted at every depth, so equal values give equal text whatever order
 * they were built in. Like JSON.stringify, undefined and functions are left out of objects.
 */
export function canonicalJson(value: unknown): string {
  // The common case (a request's parameters, a model's settings: plain objects, arrays and
  // primitives): JSON.stringify given every key that occurs, sorted, as its property list writes
  // each object's keys in that order, natively, several times faster than the walk below.
  const keys = new Set<string>();
  if (collectPlainKeys(value, keys)) return JSON.stringify(value, [...keys].sort()) ?? "null";
  return canonicalJsonByWalk(value);
}

/** The general case, by hand: anything else (a Date, a class instance) is written as its own keys. */
function canonicalJsonByWalk(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJsonByWalk).join(",")}]`;
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const name of Object.keys(record).sort()) {
    const item = record[name];
    if (item === undefined || typeof item === "function") continue;
    parts.push(`${JSON.stringify(name)}:${canonicalJsonByWalk(item)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * Adds the keys of every object within `value` to `keys`, and says whether JSON.stringify with
 * them as its property list writes what canonicalJsonByWalk would: only plain objects, arrays and
 * primitives JSON writes alike (no symbol, no bigint), and no own `__proto__` key (a property
 * list naming it would make every other object write its prototype).
 */
function collectPlainKeys(value: unknown, keys: Set<string>): boolean {
  if (value === null || typeof value !== "object")
    return typeof value !== "symbol" && typeof value !== "bigint";
  if (Array.isArray(value)) {
    for (const item of value) if (!collectPlainKeys(item, keys)) return false;
    return true;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false; // e.g. a Date: its own toJSON
  for (const name of Object.keys(value)) {
    if (name === "__proto__") return false;
    keys.add(name);
    if (!collectPlainKeys((value as Record<string, unknown>)[name], keys)) return false;
  }
  return true;
}

// Identities are few and long-lived (one per configured model): their text is computed once.
const identityText = new WeakMap<ModelIdentity, string>();

function identityJson(identity: ModelIdentity): string {
  let text = identityText.get(identity);
  if (text === undefined) {
    text = canonicalJson({
      provider: identity.provider,
      model: identity.model,
      endpoint: identity.endpoint !== undefined ? endpointForKey(identity.endpoint) : undefined,
      settings: identity.settings,
    });
    identityText.set(identity, text);
  }
  return text;
}

/**
 * The canonical text hashed into the key (exported for tests and debugging). Messages keep only
 * role and content, so metadata riding along on a message object never splits the cache; the
 * signal is dropped; every other request field, present or future, is part of the key.
 */
export function keyMaterial(identity: ModelIdentity, request: ChatRequest, variant?: string): string {
  const chat = request.messages.map((message) => [message.role, message.content]);
  return `{"v":${KEY_VERSION},"model":${identityJson(identity)},"messages":${JSON.stringify(chat)},"parameters":${parametersJson(request)}${variant === undefined ? "" : `,"variant":${JSON.stringify(variant)}`}}`;
}

// The request fields of today besides messages, in sorted order (canonicalJson's order).
const KNOWN_PARAMETERS: ReadonlySet<string> = new Set(["maxTokens", "seed", "speakerLabels", "temperature"]);

/**
 * canonicalJson of every request field but messages and signal (exported for tests). Requests as
 * convosim builds them hold numbers and two speaker labels: those are written here directly, in
 * canonicalJson's order and form, since the general path cost as much CPU per call as hashing
 * the whole key material (profiled). Anything else (a field added later, an unexpected type)
 * takes canonicalJson; a property test holds the two to the same text.
 */
export function parametersJson(request: ChatRequest): string {
  const direct =
    Object.getPrototypeOf(request) === Object.prototype ? knownParametersJson(request) : undefined;
  if (direct !== undefined) return direct;
  const { messages: _messages, signal: _signal, ...parameters } = request;
  return canonicalJson(parameters);
}

function knownParametersJson(request: ChatRequest): string | undefined {
  for (const name in request)
    if (name !== "messages" && name !== "signal" && !KNOWN_PARAMETERS.has(name)) return undefined;
  const { maxTokens, seed, speakerLabels, temperature } = request;
  let text = "";
  const add = (field: string, json: string) => {
    text += `${text === "" ? "" : ","}"${field}":${json}`;
  };
  if (maxTokens !== undefined) {
    if (typeof maxTokens !== "number") return undefined;
    add("maxTokens", JSON.stringify(maxTokens));
  }
  if (seed !== undefined) {
    if (typeof seed !== "number") return undefined;
    add("seed", JSON.stringify(seed));
  }
  if (speakerLabels !== undefined) {
    if (!isTwoLabels(speakerLabels)) return undefined;
    add(
      "speakerLabels",
      `{"assistant":${JSON.stringify(speakerLabels.assistant)},"user":${JSON.stringify(speakerLabels.user)}}`,
    );
  }
  if (temperature !== undefined) {
    if (typeof temperature !== "number") return undefined;
    add("temperature", JSON.stringify(temperature));
  }
  return `{${text}}`;
}

/** A plain object holding exactly `assistant` and `user`, both strings. */
function isTwoLabels(value: unknown): value is { assistant: string; user: string } {
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  const keys = Object.keys(value);
  const labels = value as Record<string, unknown>;
  return (
    keys.length === 2 &&
    typeof labels.assistant === "string" &&
    typeof labels.user === "string" &&
    Object.hasOwn(labels, "assistant") &&
    Object.hasOwn(labels, "user")
  );
}

/**
 * The key of one model call: 64 hex characters. `variant` separates calls that are otherwise
 * identical but must not share a reply (e.g. a step retried after its reply was rejected).
 */
export function responseKey(identity: ModelIdentity, request: ChatRequest, variant?: string): string {
  return sha256Hex(keyMaterial(identity, request, variant));
}
