// The stand-in's headerless cap (rateLimitHeaders: false): the bench's peers scenario and item 3
// of issue 15 need a server that enforces a cap but announces nothing about it — a 429 carries
// Retry-After alone, as many OpenAI-compatible gateways answer. The default still announces it.
import { afterEach, describe, expect, it } from "vitest";
import { type StandInServer, startStandInServer } from "../../bench/stand-in-server.js";

const BODY = JSON.stringify({ model: "stand-in", messages: [{ role: "user", content: "hi" }] });

let server: StandInServer | undefined;
afterEach(() => server?.close());

async function twoCalls(rateLimitHeaders?: boolean): Promise<[Response, Response]> {
  // 60 rpm with a burst of 1: the first call is admitted, the second (immediately after) refused.
  server = await startStandInServer({
    requestsPerMinute: 60,
    burst: 1,
    ...(rateLimitHeaders === undefined ? {} : { rateLimitHeaders }),
  });
  const post = () =>
    fetch(`${server?.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BODY,
    });
  const first = await post();
  await first.arrayBuffer();
  const second = await post();
  await second.arrayBuffer();
  return [first, second];
}

const rateHeaders = (r: Response) => [...r.headers.keys()].filter((k) => k.startsWith("x-ratelimit-"));

describe("stand-in requests-per-minute cap", () => {
  it("announces the cap by default: x-ratelimit-* on answers, retry-after-ms on 429s", async () => {
    const [first, second] = await twoCalls();
    expect(first.status).toBe(200);
    expect(rateHeaders(first)).toContain("x-ratelimit-remaining-requests");
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after-ms")).not.toBeNull();
  });

  it("with rateLimitHeaders false: enforces the same cap, a 429 carries Retry-After alone", async () => {
    const [first, second] = await twoCalls(false);
    expect(first.status).toBe(200);
    expect(rateHeaders(first)).toEqual([]);
    expect(second.status).toBe(429);
    expect(rateHeaders(second)).toEqual([]);
    expect(second.headers.get("retry-after-ms")).toBeNull();
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(server?.stats.throttled).toBe(1);
  });
});
