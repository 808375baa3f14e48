// OpenAI-compatible models whose calls run on the model thread (src/providers/model-thread.ts)
// against a real loopback server: every answer must come back exactly as the same model gives it
// in-process — the result, or the same ProviderError field for field — and aborts, a dead thread
// and the process's exit must behave as before. No SDK mocks: the official SDK runs in the thread.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/errors.js";
import {
  modelThreadEnabled,
  modelThreadRunning,
  ThreadedChatModel,
  terminateModelThread,
  threadStart,
} from "../../src/providers/model-thread.js";
import { createChatModel, warmModelThreadFor } from "../../src/providers/registry.js";
import type { ChatModel, ChatRequest } from "../../src/providers/types.js";
import type { ModelConfig } from "../../src/schema/config.js";

const KEY_ENV = "MODEL_THREAD_TEST_KEY";
const SECRET = "sk-thread-SECRET-9d1f3a77b2";
process.env[KEY_ENV] = SECRET;

const ASK: ChatRequest = {
  messages: [{ role: "user", content: "hello" }],
  temperature: 0.3,
  maxTokens: 40,
  seed: 7,
};

const completion = (content: string) =>
  JSON.stringify({
    id: "c1",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } },
  });

// What each model name is answered with; the server also counts requests and closed sockets.
let requests = 0;
let closedEarly = 0;
let lastBody: Record<string, unknown> | undefined;
function answer(model: string, auth: string, res: import("node:http").ServerResponse) {
  const send = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": `req-${model}`, ...headers });
    res.end(body);
  };
  switch (model) {
    case "ok":
      return send(200, completion("hi there"), {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
      });
    case "limited":
      return send(429, JSON.stringify({ error: { message: "slow down" } }), {
        "retry-after": "7",
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "0",
      });
    case "auth":
      // Servers echo a wrong key back: the message must never carry it.
      return send(401, JSON.stringify({ error: { message: `invalid key ${auth.replace("Bearer ", "")}` } }));
    case "boom":
      return send(500, JSON.stringify({ error: { message: "internal" } }));
    case "malformed":
      return send(200, "<html>not json</html>");
    case "empty":
      return send(200, completion("  "));
    case "truncated": {
      const body = completion("x".repeat(4000));
      res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
      res.write(body.slice(0, body.length / 2), () => setImmediate(() => res.socket?.destroy()));
      return;
    }
    default:
      return; // "hang": never answers (timeouts, aborts)
  }
}

let server: Server;
let base = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests++;
      lastBody = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      res.on("close", () => {
        if (!res.writableFinished) closedEarly++;
      });
      answer(String(lastBody.model), String(req.headers.authorization ?? ""), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await terminateModelThread();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const config = (model: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  provider: "openai",
  model,
  base_url: base,
  api_key_env: KEY_ENV,
  ...extra,
});

async function both(model: string, extra: Partial<ModelConfig> = {}): Promise<[ChatModel, ChatModel]> {
  const inProcess = await createChatModel(config(model, extra), { modelThread: false });
  const threaded = await createChatModel(config(model, extra), { modelThread: true });
  expect(threaded).toBeInstanceOf(ThreadedChatModel);
  expect(inProcess).not.toBeInstanceOf(ThreadedChatModel);
  return [inProcess, threaded];
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error,
  );
}

/** Every field a caller (retry policy, admission, saved records) reads off a ProviderError. */
function fields(error: unknown) {
  expect(error).toBeInstanceOf(ProviderError);
  const e = error as ProviderError;
  return {
    name: e.name,
    kind: e.kind,
    message: e.message,
    status: e.status,
    retryAfterMs: e.retryAfterMs,
    requestId: e.requestId,
    rateLimit: e.rateLimit,
    emptyReply: e.emptyReply,
    code: e.code,
    transient: e.transient,
    reachedServer: e.reachedServer,
  };
}

async function sameFailure(model: string, extra: Partial<ModelConfig> = {}) {
  const [inProcess, threaded] = await both(model, extra);
  const expected = fields(await failure(inProcess.complete(ASK)));
  const actual = fields(await failure(threaded.complete(ASK)));
  expect(actual).toEqual(expected);
  return actual;
}

describe("model thread: the same answers as in-process", () => {
  it("success: text, usage with cached tokens, finish reason and rate-limit headers", async () => {
    const [inProcess, threaded] = await both("ok", { extra_body: { top_p: 0.5 } });
    const expected = await inProcess.complete(ASK);
    const sentInProcess = lastBody;
    const actual = await threaded.complete(ASK);
    expect(actual).toEqual(expected);
    expect(actual.rateLimit).toMatchObject({ limitRequests: 500, remainingRequests: 499 });
    expect(actual.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, cached_tokens: 4 });
    // The request the thread sent is the in-process one: temperature, limit, seed.
    expect(lastBody).toEqual(sentInProcess);
    expect(lastBody).toMatchObject({ temperature: 0.3, max_tokens: 40, seed: 7, top_p: 0.5 });
    expect(threaded.endpointKey).toBe(inProcess.endpointKey);
  });

  it("429 with Retry-After: rate_limit, retry-after, request id and rate-limit headers", async () => {
    const error = await sameFailure("limited");
    expect(error).toMatchObject({
      kind: "rate_limit",
      status: 429,
      retryAfterMs: 7000,
      requestId: "req-limited",
    });
    expect(error.rateLimit).toMatchObject({ remainingRequests: 0 });
  });

  it("401: auth, not transient, the echoed key masked", async () => {
    const error = await sameFailure("auth");
    expect(error).toMatchObject({ kind: "auth", status: 401, transient: false });
    expect(error.message).not.toContain(SECRET);
  });

  it("500: server, transient", async () => {
    expect(await sameFailure("boom")).toMatchObject({ kind: "server", status: 500, transient: true });
  });

  it("a body that is not JSON: malformed, with its request id", async () => {
    expect(await sameFailure("malformed")).toMatchObject({ kind: "malformed", requestId: "req-malformed" });
  });

  it("an empty reply: malformed with emptyReply", async () => {
    expect(await sameFailure("empty")).toMatchObject({ kind: "malformed", emptyReply: true });
  });

  it("a connection reset mid-body: connection, reached the server, transient", async () => {
    expect(await sameFailure("truncated")).toMatchObject({
      kind: "connection",
      reachedServer: true,
      transient: true,
    });
  });

  it("no answer within request_timeout: timeout", async () => {
    expect(await sameFailure("hang", { request_timeout: 0.2 })).toMatchObject({
      kind: "timeout",
      transient: true,
    });
  });

  it("a caller abort mid-call rejects with the caller's reason and stops the call in the thread", async () => {
    const [inProcess, threaded] = await both("hang");
    for (const model of [inProcess, threaded]) {
      const controller = new AbortController();
      const before = requests;
      const closedBefore = closedEarly;
      const pending = model.complete({ ...ASK, signal: controller.signal });
      await waitFor(() => requests > before);
      const reason = new Error("user pressed Ctrl-C");
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      // The request was cut off in the thread too: the server sees its socket close.
      await waitFor(() => closedEarly > closedBefore);
    }
  });

  it("an already aborted signal rejects with its reason and sends nothing", async () => {
    const [, threaded] = await both("ok");
    const before = requests;
    const reason = new Error("stopped before start");
    await expect(threaded.complete({ ...ASK, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(requests).toBe(before);
  });
});

describe("model thread: its life", () => {
  it("a killed thread fails the calls in flight with a transient connection error; the next call starts a new one", async () => {
    const [, threaded] = await both("hang");
    const before = requests;
    const pending = Promise.all([threaded.complete(ASK), threaded.complete(ASK)].map(failure));
    await waitFor(() => requests >= before + 2);
    await terminateModelThread();
    for (const error of await pending) {
      expect(fields(error)).toMatchObject({ kind: "connection", transient: true });
      expect((error as Error).message).toMatch(/^openai model hang: the model thread stopped/);
    }
    const [, ok] = await both("ok");
    await expect(ok.complete(ASK)).resolves.toMatchObject({ text: "hi there" });
  });

  it("a process that used a threaded model exits on its own once its calls are done", async () => {
    const script = `
      import { createChatModel } from ${JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href)};
      const model = await createChatModel(
        { provider: "openai", model: "ok", base_url: ${JSON.stringify(base)}, api_key_env: "${KEY_ENV}" },
        { modelThread: true },
      );
      const result = await model.complete({ messages: [{ role: "user", content: "hi" }] });
      console.log(model.constructor.name, result.text);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the process did not exit within 20 s: ${out}`));
      }, 20_000);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(out.trim()).toBe("ThreadedChatModel hi there");
    expect(code).toBe(0);
  });

  it("calls posted during a long busy turn of this thread reach the server before the turn ends", async () => {
    // The server runs on a thread of its own, so it can take requests while this one is busy; it
    // notes when each arrived. Before, the calls of one turn went to the model thread only when
    // the turn ended: 100 conversations taking their next step kept the first call waiting for
    // the last (#post in src/providers/model-thread.ts).
    const serverThread = new Worker(
      `const { parentPort } = require("node:worker_threads");
       const arrivals = [];
       const server = require("node:http").createServer((req, res) => {
         arrivals.push(Date.now());
         req.resume();
         req.on("end", () => {
           res.writeHead(200, { "content-type": "application/json" });
           res.end(${JSON.stringify(completion("hi there"))});
         });
       });
       server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
       parentPort.on("message", () => parentPort.postMessage(arrivals));`,
      { eval: true },
    );
    try {
      const [port] = (await once(serverThread, "message")) as [number];
      const model = await createChatModel(
        { ...config("ok"), base_url: `http://127.0.0.1:${port}/v1` },
        { modelThread: true },
      );
      await model.complete(ASK); // the model built in the thread, a connection open
      const busy = (ms: number) => {
        const until = Date.now() + ms;
        while (Date.now() < until) {}
      };
      const calls = [model.complete(ASK)];
      busy(20);
      calls.push(model.complete(ASK)); // the first has waited 20 ms: both go now
      busy(1_000); // a turn far longer than any the thread needs to send two calls
      const turnEnded = Date.now();
      await Promise.all(calls);
      serverThread.postMessage("arrivals?");
      const [arrivals] = (await once(serverThread, "message")) as [number[]];
      expect(arrivals).toHaveLength(3);
      for (const at of arrivals.slice(1)) expect(at).toBeLessThan(turnEnded);
    } finally {
      await serverThread.terminate();
    }
  });

  it("ready() is pending while the thread builds the model, then undefined (calls ask admission after it)", async () => {
    const threaded = await createChatModel(config("ok"), { modelThread: true });
    const pending = threaded.ready?.();
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    expect(threaded.ready?.()).toBeUndefined();
    await expect(threaded.complete(ASK)).resolves.toMatchObject({ text: "hi there" });
  });

  it("warmModelThreadFor starts the thread only for models that will use it; a model defined later runs on it", async () => {
    const previous = process.env.CONVOSIM_MODEL_THREAD;
    try {
      await terminateModelThread();
      expect(modelThreadRunning()).toBe(false);
      process.env.CONVOSIM_MODEL_THREAD = "1";
      await warmModelThreadFor([
        { provider: "local", model: "gemma-3-270m-it" },
        config("ok", { transport: "sdk" }),
        { provider: "anthropic", model: "claude-x", api_key_env: KEY_ENV },
      ]);
      expect(modelThreadRunning()).toBe(false);
      process.env.CONVOSIM_MODEL_THREAD = "0";
      await warmModelThreadFor([config("ok")]);
      expect(modelThreadRunning()).toBe(false);
      process.env.CONVOSIM_MODEL_THREAD = "maybe"; // reported by the first model built, not here
      await warmModelThreadFor([config("ok")]);
      expect(modelThreadRunning()).toBe(false);
      process.env.CONVOSIM_MODEL_THREAD = "1";
      await warmModelThreadFor([{ provider: "local", model: "gemma-3-270m-it" }, config("ok")]);
      expect(modelThreadRunning()).toBe(true);
      const threaded = await createChatModel(config("ok"));
      expect(threaded).toBeInstanceOf(ThreadedChatModel);
      await expect(threaded.complete(ASK)).resolves.toMatchObject({ text: "hi there" });
    } finally {
      if (previous === undefined) delete process.env.CONVOSIM_MODEL_THREAD;
      else process.env.CONVOSIM_MODEL_THREAD = previous;
    }
  });

  it("CONVOSIM_MODEL_THREAD switches it: 0 off, 1 on, anything else a config error naming the variable", () => {
    expect(modelThreadEnabled({ CONVOSIM_MODEL_THREAD: "0" })).toBe(false);
    expect(modelThreadEnabled({ CONVOSIM_MODEL_THREAD: "1" })).toBe(true);
    expect(() => modelThreadEnabled({ CONVOSIM_MODEL_THREAD: "maybe" })).toThrow(
      /CONVOSIM_MODEL_THREAD must be/,
    );
  });

  it("starts with the process's Node options a worker accepts: bin/convosim's semi-space becomes the thread's young generation", () => {
    expect(threadStart(["--max-semi-space-size=64", "--cpu-prof", "--cpu-prof-dir=/tmp/p"])).toEqual({
      execArgv: ["--cpu-prof", "--cpu-prof-dir=/tmp/p"],
      resourceLimits: { maxYoungGenerationSizeMb: 192 },
    });
    expect(threadStart(["--input-type", "module", "-e", "code", "--enable-source-maps"])).toEqual({
      execArgv: ["--enable-source-maps"],
    });
  });

  it("models given their own env, fetch or transport: sdk stay in-process", async () => {
    const env = { [KEY_ENV]: SECRET };
    expect(await createChatModel(config("ok"), { env, modelThread: true })).not.toBeInstanceOf(
      ThreadedChatModel,
    );
    expect(
      await createChatModel(config("ok", { transport: "sdk" }), { modelThread: true }),
    ).not.toBeInstanceOf(ThreadedChatModel);
    expect(await createChatModel(config("ok"), { fetch, modelThread: true })).not.toBeInstanceOf(
      ThreadedChatModel,
    );
    // A config JSON cannot carry to the thread (a BigInt in extra_body) stays in-process too.
    const bigint = config("ok", { extra_body: { n: 10n } });
    expect(await createChatModel(bigint, { modelThread: true })).not.toBeInstanceOf(ThreadedChatModel);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
