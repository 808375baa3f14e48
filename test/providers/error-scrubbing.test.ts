// Provider error messages never carry a secret: URL credentials, key-like query parameters and
// the API key itself are masked where the message is built, whatever produced the text.
import { afterEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import { describeCause, errorFromStatus, unknownError } from "../../src/providers/http-errors.js";
import { resolveEndpoint } from "../../src/providers/presets.js";
import { httpEndpointKey } from "../../src/providers/rate-limit-headers.js";
import type { ModelConfig } from "../../src/schema/config.js";
import { forgetSecrets } from "../../src/shared/redact-secrets.js";

const KEY = "sk-straddle-0123456789abcdef";

/** Every 6-character piece of the key: none may survive in a message. */
const pieces = (secret: string) =>
  Array.from({ length: secret.length - 5 }, (_, i) => secret.slice(i, i + 6));

afterEach(() => forgetSecrets());

describe("provider error messages", () => {
  it("a key cut by the message length limit leaves no fragment behind (scrubbed before cutting)", () => {
    // The key starts 10 characters before the 400-character cut.
    const detail = `${"x".repeat(390)}${KEY} and more`;
    for (const error of [
      errorFromStatus("m", 400, detail, new Headers(), undefined, KEY),
      unknownError("m", new Error(detail), KEY),
      new ProviderError("connection", describeCause(new Error(detail), KEY)),
    ]) {
      for (const piece of pieces(KEY)) expect(error.message).not.toContain(piece);
    }
  });

  it("URL credentials and key-like query parameters are masked in every ProviderError", () => {
    const error = new ProviderError(
      "connection",
      "Request cannot be constructed from a URL that includes credentials: http://user:pw-secret@127.0.0.1:9/v1?api_key=qs-secret",
    );
    expect(error.message).not.toMatch(/pw-secret|qs-secret/);
    expect(error.message).toContain("http://***@127.0.0.1:9/v1?api_key=***");
  });

  it("the SDK's cause chain is summarised without the URL's password", () => {
    const cause = new TypeError(
      "Request cannot be constructed from a URL that includes credentials: http://u:pw-secret@h/v1",
    );
    const text = describeCause(new TypeError("fetch failed", { cause }), undefined);
    expect(text).toContain("http://***@h/v1");
    expect(text).not.toContain("pw-secret");
  });

  it("a key read from the environment is masked in later errors that do not name it", () => {
    const config = { provider: "openai", model: "m", api_key_env: "SCRUB_TEST_KEY" } as ModelConfig;
    resolveEndpoint(config, { SCRUB_TEST_KEY: ` ${KEY} ` });
    const error = new ProviderError("auth", `server said: invalid key ${KEY}`);
    expect(error.message).toBe("server said: invalid key ***");
  });

  it("an endpoint key (named in progress, summaries and the run summary) holds no URL credentials", () => {
    const key = httpEndpointKey("openai", "http://user:PW-secret@127.0.0.1:9/v1?api_key=QS-secret", "K");
    expect(key).not.toMatch(/pw-secret|qs-secret/i);
    expect(key).toBe("openai|http://***@127.0.0.1:9/v1?api_key=***|K");
  });
});
