// A connection dropped in the middle of a response body (headers and half the JSON sent, then the
// socket destroyed) must be a transient `connection` failure on every transport — the SDK's own
// fetch, the lean undici transport, and the anthropic SDK — never `unknown` (which fails the
// conversation on the first try). Also: what else a dropped or refused connection looks like.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { AnthropicChatModel } from "../../src/providers/anthropic.js";
import { ProviderError } from "../../src/providers/errors.js";
import { describeCause, isDroppedConnection } from "../../src/providers/http-errors.js";
import { OpenAIChatModel } from "../../src/providers/openai.js";
import { createLeanTransport } from "../../src/providers/transport.js";
import type { ChatRequest } from "../../src/providers/types.js";

const transport = createLeanTransport();
const servers: Server[] = [];
afterAll(async () => {
  await transport.close();
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

const OPENAI_BODY = JSON.stringify({
  id: "c1",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: "x".repeat(2000) }, finish_reason: "stop" }],
  usage: { prompt_tokens: 10, completion_tokens: 500 },
});

/** Sends the headers and half of `body`, then destroys the socket. Counts the requests. */
async function halfBodyServer(body: string): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
      res.write(body.slice(0, body.length / 2), () => {
        // Once the half is on the wire, cut the connection without finishing the response.
        setImmediate(() => res.socket?.destroy());
      });
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests: () => requests };
}

const ASK: ChatRequest = { messages: [{ role: "user", content: "hello" }] };

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("a connection reset mid-body", () => {
  it.each([
    ["sdk", false],
    ["undici", true],
  ])(
    "is a transient connection failure that reached the server (openai, %s transport)",
    async (_name, lean) => {
      const server = await halfBodyServer(OPENAI_BODY);
      const model = new OpenAIChatModel(
        { provider: "openai", model: "m", base_url: `${server.url}/v1` },
        "",
        lean ? { fetch: transport.fetch } : {},
      );
      const error = await failure(model.complete(ASK));
      expect(error.kind).toBe("connection");
      expect(error.transient).toBe(true);
      expect(error.reachedServer).toBe(true);
      expect(error.message).toMatch(/terminated|other side closed|UND_ERR_SOCKET|ECONNRESET|closed/i);
      expect(server.requests()).toBe(1);
    },
  );

  it("is a transient connection failure for the anthropic SDK too", async () => {
    const body = JSON.stringify({
      id: "m1",
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "y".repeat(2000) }],
      stop_reason: "end_turn",
      usage: { input_tokens: 10, output_tokens: 500 },
    });
    const server = await halfBodyServer(body);
    const model = new AnthropicChatModel(
      { provider: "anthropic", model: "claude", base_url: server.url },
      "sk-ant-test",
    );
    const error = await failure(model.complete(ASK));
    expect(error.kind).toBe("connection");
    expect(error.transient).toBe(true);
  });
});

describe("connection failures before an answer", () => {
  it("a refused connection is transient, did not reach the server, and names ECONNREFUSED", async () => {
    // Port 9 (discard) is closed on loopback in CI containers; a freshly closed port is surer.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    for (const lean of [false, true]) {
      const model = new OpenAIChatModel(
        { provider: "openai", model: "m", base_url: `http://127.0.0.1:${port}/v1` },
        "",
        lean ? { fetch: transport.fetch } : {},
      );
      const error = await failure(model.complete(ASK));
      expect(error.kind).toBe("connection");
      expect(error.transient).toBe(true);
      expect(error.reachedServer).toBe(false);
      expect(error.code).toBe("ECONNREFUSED");
    }
  });

  it("a port fetch refuses to use (9, 'bad port') is permanent and made no call, on the sdk transport", async () => {
    const model = new OpenAIChatModel(
      { provider: "openai", model: "m", base_url: "http://127.0.0.1:9/v1" },
      "",
    );
    const error = await failure(model.complete(ASK));
    expect(error.kind).toBe("connection");
    expect(error.code).toBe("BAD_PORT");
    expect(error.transient).toBe(false);
    expect(error.reachedServer).toBe(false);
  });

  it("a connection error without a code made no call", () => {
    expect(new ProviderError("connection", "fetch failed").reachedServer).toBe(false);
    expect(new ProviderError("connection", "x", { code: "UND_ERR_SOCKET" }).reachedServer).toBe(true);
    // The local model's failed generation ran: a call made. A prompt refused before it did not.
    expect(new ProviderError("server", "local model generation failed").reachedServer).toBe(true);
    expect(new ProviderError("bad_request", "prompt too long").reachedServer).toBe(false);
  });

  it("a host that does not resolve (ENOTFOUND) is not transient; EAI_AGAIN is", () => {
    const notFound = new ProviderError("connection", "x", { code: "ENOTFOUND" });
    expect(notFound.transient).toBe(false);
    const tryAgain = new ProviderError("connection", "x", { code: "EAI_AGAIN" });
    expect(tryAgain.transient).toBe(true);
  });

  it("recognises every shape of a dropped body", () => {
    const socket = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    expect(isDroppedConnection(new TypeError("terminated", { cause: socket }))).toBe(true);
    expect(isDroppedConnection(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe(
      true,
    );
    expect(
      isDroppedConnection(
        Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }),
      ),
    ).toBe(true);
    expect(isDroppedConnection(new Error("aborted"))).toBe(true);
    expect(isDroppedConnection(new TypeError("Cannot read properties of undefined"))).toBe(false);
    expect(describeCause(new TypeError("terminated", { cause: socket }), undefined)).toBe(
      "terminated: other side closed (UND_ERR_SOCKET)",
    );
  });
});
