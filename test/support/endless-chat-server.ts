// An OpenAI-compatible chat endpoint on loopback whose simulated user never says it is done:
// every follow-up asks something new (so no turn guard rejects it as a repeat), the assistant
// answers like the bench stand-in. Each answer comes after `latencyMs`, so calls are in flight
// when a test signals the CLI. It counts requests received and answers sent, the two numbers a
// usage ledger is checked against.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { isUserSimulation, scriptedReply } from "../../src/providers/scripted-replies.js";
import type { ChatMessage } from "../../src/providers/types.js";

const SUBJECTS = [
  "caching",
  "retries",
  "pagination",
  "logging",
  "timeouts",
  "sorting",
  "parsing",
  "indexing",
  "batching",
  "hashing",
  "locking",
  "streaming",
  "encoding",
  "scheduling",
  "profiling",
  "sharding",
  "migrations",
  "backups",
  "metrics",
  "tracing",
  "validation",
  "compression",
  "throttling",
  "signing",
];
const OBJECTS = [
  "the invoice table",
  "a nightly cron job",
  "my React form",
  "the CSV importer",
  "our Go service",
  "the mobile app",
  "a Postgres replica",
  "the Redis queue",
  "our S3 bucket",
  "the auth proxy",
  "a Kafka topic",
  "the billing webhook",
  "my Rust CLI",
  "the search page",
  "a Lambda handler",
];

/** A follow-up that shares no content words with the previous ones of the same conversation. */
function followUp(turn: number): string {
  const subject = SUBJECTS[turn % SUBJECTS.length];
  const object = OBJECTS[(turn * 7) % OBJECTS.length];
  return `ok that helps. now what about ${subject} for ${object}, round ${turn}?`;
}

export interface EndlessChatServer {
  readonly url: string;
  /** Requests that reached the server. */
  readonly received: number;
  /** Answers written in full. */
  readonly answered: number;
  close(): Promise<void>;
}

export async function startEndlessChatServer(options: { latencyMs: number }): Promise<EndlessChatServer> {
  let received = 0;
  let answered = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received++;
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as {
        model?: string;
        messages?: ChatMessage[];
      };
      const messages = body.messages ?? [];
      const user = isUserSimulation(messages);
      const text = user
        ? followUp(messages.filter((m) => m.role === "assistant").length)
        : scriptedReply(messages);
      let promptChars = 0;
      for (const m of messages) promptChars += m.content.length;
      const payload = JSON.stringify({
        id: `chatcmpl-${received}`,
        object: "chat.completion",
        created: 0,
        model: body.model ?? "m",
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage: {
          prompt_tokens: Math.ceil(promptChars / 4),
          completion_tokens: Math.ceil(text.length / 4),
          total_tokens: Math.ceil(promptChars / 4) + Math.ceil(text.length / 4),
        },
      });
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(payload, () => {
          answered++;
        });
      }, options.latencyMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get received() {
      return received;
    },
    get answered() {
      return answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
