import { describe, expect, it } from "vitest";
import {
  isTransient,
  ProviderError,
  type ProviderErrorKind,
  parseRetryAfter,
} from "../../src/providers/errors.js";
import { describeCause, errorFromStatus, kindForStatus, redact } from "../../src/providers/http-errors.js";

const headers = (values: Record<string, string>) => (name: string) => values[name];
const NOW = Date.parse("2026-01-01T00:00:00Z");

describe("parseRetryAfter", () => {
  it.each<[string, Record<string, string>, number | undefined]>([
    ["no header", {}, undefined],
    ["seconds", { "retry-after": "3" }, 3000],
    ["fractional seconds", { "retry-after": "0.25" }, 250],
    ["zero", { "retry-after": "0" }, 0],
    ["negative is clamped", { "retry-after": "-5" }, 0],
    ["HTTP date in the future", { "retry-after": "Thu, 01 Jan 2026 00:00:10 GMT" }, 10_000],
    ["HTTP date in the past", { "retry-after": "Wed, 31 Dec 2025 23:59:00 GMT" }, 0],
    ["garbage", { "retry-after": "soon" }, undefined],
    ["empty", { "retry-after": "" }, undefined],
    ["retry-after-ms wins", { "retry-after-ms": "1500", "retry-after": "9" }, 1500],
    ["invalid retry-after-ms falls back", { "retry-after-ms": "x", "retry-after": "2" }, 2000],
  ])("%s", (_name, values, expected) => {
    expect(parseRetryAfter(headers(values), NOW)).toBe(expected);
  });
});

describe("kindForStatus", () => {
  it.each<[number, ProviderErrorKind, boolean]>([
    [429, "rate_limit", true],
    [500, "server", true],
    [502, "server", true],
    [503, "server", true],
    [529, "server", true],
    [408, "timeout", true],
    [401, "auth", false],
    [403, "auth", false],
    [400, "bad_request", false],
    [404, "bad_request", false],
    [422, "bad_request", false],
    [302, "unknown", false],
  ])("HTTP %i → %s (transient: %s)", (status, kind, transient) => {
    expect(kindForStatus(status)).toBe(kind);
    const error = errorFromStatus("m", status, "detail", new Headers(), "req_1", undefined);
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.requestId).toBe("req_1");
    expect(isTransient(error)).toBe(transient);
  });

  it("reads Retry-After into retryAfterMs and scrubs the key from the detail", () => {
    const secret = "sk-live-SECRET-0123456789";
    const error = errorFromStatus(
      "openai model x",
      429,
      `Incorrect API key provided: ${secret}`,
      new Headers({ "retry-after": "7" }),
      null,
      secret,
    );
    expect(error.retryAfterMs).toBe(7000);
    expect(error.requestId).toBeUndefined();
    expect(error.message).toContain("HTTP 429");
    expect(error.message).not.toContain(secret);
    expect(error.message).toContain("[redacted]");
  });
});

describe("redact and describeCause", () => {
  it("removes every occurrence and ignores too-short secrets", () => {
    expect(redact("a KEY123 b KEY123", "KEY123")).toBe("a [redacted] b [redacted]");
    expect(redact("abc", "")).toBe("abc");
    expect(redact("abc", "ab")).toBe("abc");
  });

  it("walks the cause chain and keeps error codes", () => {
    const root = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const outer = new TypeError("fetch failed", { cause: root });
    expect(describeCause(outer, undefined)).toBe(
      "fetch failed: connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)",
    );
  });

  it("ProviderError is transient only for the retryable kinds", () => {
    expect(new ProviderError("malformed", "x").transient).toBe(true);
    expect(new ProviderError("config", "x").transient).toBe(false);
    expect(isTransient(new Error("bug"))).toBe(false);
  });
});
