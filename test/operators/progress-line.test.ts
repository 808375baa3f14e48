// The progress line is written to a terminal many times a second: whatever reason or endpoint
// it names (a server's message, a URL from the config) leaves no raw escape and no secret.
import { describe, expect, it } from "vitest";
import { formatProgress, ProgressTracker } from "../../src/operators/progress.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe("formatProgress", () => {
  it("shows escapes in a pause reason or an endpoint's failure visibly, on one line, credentials masked", () => {
    const snapshot = {
      ...new ProgressTracker().snapshot(),
      pause: { reason: "rate limited by h (\x1b]0;pwned\x07)", remainingMs: 42_000, waiting: 1 },
      endpointsDown: [
        {
          endpoint: "http://user:pw-secret@127.0.0.1:9/v1?api_key=qs-secret",
          kind: "endpoint_down" as const,
          reason: "server said \x1b[2J\x9b31m\u202e\nsecond line",
        },
      ],
    };
    const line = formatProgress(snapshot, 10);
    expect(line).not.toMatch(RAW);
    expect(line).not.toMatch(/pw-secret|qs-secret/);
    expect(line).toContain("\\x1b]0;pwned\\x07");
    expect(line).toContain("\\x1b[2J\\x9b31m\\u{202e}\\nsecond line");
    expect(line).toContain("http://***@127.0.0.1:9/v1?api_key=***");
  });
});
