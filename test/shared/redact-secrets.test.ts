// Secrets out of every printed or saved message: URL credentials, key-like query parameters,
// bearer tokens and the API keys read from the environment.
import { afterEach, describe, expect, it } from "vitest";
import { forgetSecrets, redactUrls, rememberSecret, scrubSecrets } from "../../src/shared/redact-secrets.js";

afterEach(() => forgetSecrets());

describe("redactUrls", () => {
  it.each<[string, string, string]>([
    ["user and password", "GET http://user:secret@host/v1 failed", "GET http://***@host/v1 failed"],
    ["user only", "https://token123@api.example.com/v1", "https://***@api.example.com/v1"],
    ["port kept", "http://u:p@127.0.0.1:8080/v1", "http://***@127.0.0.1:8080/v1"],
    ["an unencoded @ in the password", "http://u:p@ss@host/x", "http://***@host/x"],
    ["api_key parameter", "https://h/v1?api_key=abc123&model=m", "https://h/v1?api_key=***&model=m"],
    ["key parameter", "https://h/v1?key=AIzaSy", "https://h/v1?key=***"],
    ["token and sig", "https://h/x?token=t1&sig=s2#frag", "https://h/x?token=***&sig=***#frag"],
    ["access_token", "https://h/x?a=1&access_token=zzz", "https://h/x?a=1&access_token=***"],
    ["client_secret", "https://h/x?client_secret=zzz", "https://h/x?client_secret=***"],
    ["camelCase apiKey", "https://h/x?apiKey=zzz&accessToken=yy", "https://h/x?apiKey=***&accessToken=***"],
    ["x-api-key", "https://h/x?x-api-key=zzz", "https://h/x?x-api-key=***"],
    ["upper case", "HTTPS://U:P@H/?API_KEY=Z", "HTTPS://***@H/?API_KEY=***"],
    ["bearer token", "Authorization: Bearer sk-abc.def", "Authorization: Bearer ***"],
    ["two URLs in one text", "a http://a:b@x/ b https://c:d@y/", "a http://***@x/ b https://***@y/"],
  ])("%s", (_name, input, expected) => {
    expect(redactUrls(input)).toBe(expected);
  });

  it("leaves URLs without credentials, e-mail addresses and harmless parameters alone", () => {
    for (const text of [
      "http://127.0.0.1:9/v1 refused",
      "write to someone@example.com",
      "https://h/search?q=monkey&page=2&keyboard=de&monkey=1",
      "https://h/p/a@b",
    ]) {
      expect(redactUrls(text)).toBe(text);
    }
  });
});

describe("scrubSecrets", () => {
  it("masks remembered keys wherever they occur, the longest first", () => {
    rememberSecret("sk-abcdef");
    rememberSecret("sk-abcdef-longer");
    expect(scrubSecrets("invalid key sk-abcdef-longer (was sk-abcdef)")).toBe("invalid key *** (was ***)");
  });

  it("masks extra secrets given by the caller and URL credentials together", () => {
    expect(scrubSecrets("key zz-123456 at http://u:pw@h/", ["zz-123456"])).toBe("key *** at http://***@h/");
  });

  it("ignores values too short to be keys, so ordinary words survive", () => {
    rememberSecret("test");
    rememberSecret(undefined);
    expect(scrubSecrets("a test message")).toBe("a test message");
  });
});
