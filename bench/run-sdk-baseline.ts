// Child process: the bound convosim is compared with — bare HTTP clients making `calls` chat
// completions, `concurrency` at a time, with no convosim code on the path. Prints one JSON
// RunMeasurement. Clients (--client):
//   sdk           the openai SDK with its default fetch (Node's built-in undici fetch)
//   undici-fetch  the SDK with undici's own fetch() on a keep-alive Agent (the naive lean transport)
//   lean          the SDK with convosim's lean transport (src/providers/transport.ts)
//   request       undici request() on a keep-alive Agent + JSON.parse, no SDK: the HTTP floor
// Requests are a fixed two-message prompt, or with --replay FILE exactly the bodies a convosim
// run sent (one JSON body per line, as run-pipeline --record writes them), in the same order.
//   node dist/bench/run-sdk-baseline.js --url URL [--calls 5000] [--concurrency 500]
//     [--client sdk] [--replay FILE] [--warmup 200]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { measureSince } from "./measure.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    calls: { type: "string" },
    concurrency: { type: "string", default: "500" },
    client: { type: "string", default: "sdk" },
    replay: { type: "string" },
    warmup: { type: "string", default: "0" },
  },
});
if (!values.url) throw new Error("run-sdk-baseline: --url is required");
const url = values.url;
const concurrency = Number(values.concurrency);

// A prompt of the size convosim's turns carry (a system prompt and a few messages).
const system = "You are a helpful assistant. ".repeat(20);
const question =
  "How should a small team organise a project so that nothing falls through the cracks? ".repeat(3);
const fixedBody = JSON.stringify({
  model: "stand-in",
  messages: [
    { role: "system", content: system },
    { role: "user", content: question },
  ],
  max_tokens: 64,
  stream: false,
});
const bodies = values.replay
  ? readFileSync(values.replay, "utf8")
      .split("\n")
      .filter((line) => line !== "")
  : [fixedBody];
const calls = Number(values.calls ?? (values.replay ? bodies.length : 5000));

/** One call with the request at this index (bodies cycle when calls outnumber them). */
type Call = (index: number) => Promise<unknown>;

function sdkCall(fetchImpl?: typeof fetch): Call {
  const client = new OpenAI({
    baseURL: url,
    apiKey: "not-needed",
    maxRetries: 0,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  // Parsed before the clock starts: convosim holds its requests as objects too.
  const params = bodies.map((body) => JSON.parse(body) as ChatCompletionCreateParamsNonStreaming);
  // The same path convosim's provider takes: params in, raw response out, body parsed once.
  return async (index) => {
    const response = await client.chat.completions.create(params[index % params.length]!).asResponse();
    return JSON.parse(await response.text());
  };
}

// undici (and the lean transport, built on it) is imported only by the clients that use it:
// importing the undici package installs its Agent as the global dispatcher that Node's built-in
// fetch then uses, so the "sdk" client would no longer be the SDK's default fetch.
async function makeCall(client: string): Promise<Call> {
  switch (client) {
    case "sdk":
      return sdkCall();
    case "undici-fetch": {
      const { Agent, fetch: undiciFetch } = await import("undici");
      const agent = new Agent({ keepAliveTimeout: 60_000 });
      const f = (input: unknown, init: object | undefined) =>
        (undiciFetch as unknown as (i: unknown, o: object) => Promise<Response>)(input, {
          ...init,
          dispatcher: agent,
        });
      return sdkCall(f as typeof fetch);
    }
    case "lean": {
      const { createLeanTransport } = await import("../src/providers/transport.js");
      return sdkCall(createLeanTransport().fetch);
    }
    case "request": {
      const { Agent } = await import("undici");
      const agent = new Agent({ keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
      const target = new URL(`${url.replace(/\/$/, "")}/chat/completions`);
      const headers = { "content-type": "application/json", authorization: "Bearer not-needed" };
      return async (index) => {
        const response = await agent.request({
          origin: target.origin,
          path: target.pathname,
          method: "POST",
          headers,
          body: bodies[index % bodies.length]!,
        });
        return JSON.parse(await response.body.text());
      };
    }
    default:
      throw new Error(`unknown --client ${client}`);
  }
}

const call = await makeCall(values.client ?? "sdk");
// Warm-up (connections, JIT) outside the measurement, when asked for.
for (let i = 0; i < Number(values.warmup); i++) await call(i);

const startedAt = performance.now();
const cpu = process.cpuUsage();
let next = 0;
let done = 0;
async function worker(): Promise<void> {
  while (next < calls) {
    const index = next++;
    await call(index);
    done++;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(
  `${JSON.stringify({ ...measureSince(`${values.client} client`, startedAt, cpu, done), client: values.client })}\n`,
);
process.exit(0);
