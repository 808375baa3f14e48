// The model thread's side (model-thread.ts explains why it exists): builds the OpenAI-compatible
// models it is told about — the same OpenAIChatModel, SDK client and lean transport as in-process
// — runs their calls, and answers with each call's result or its failure as plain data.
import { parentPort } from "node:worker_threads";
import type { FromThread, ToThread } from "./model-thread-protocol.js";
import { toWire } from "./model-thread-protocol.js";
import { createChatModel } from "./registry.js";
import type { ChatModel, ChatRequest } from "./types.js";

const port = parentPort;
if (!port) throw new Error("model-thread-worker.js runs only as a worker thread");

// Loaded now rather than when the first model is defined: the thread may be started ahead of its
// models (warmModelThread), and this is most of its start-up.
void import("./openai.js").catch(() => {});
void import("./transport.js").catch(() => {});

const models = new Map<number, Promise<ChatModel>>();

// One AbortController per caller signal with calls in flight (a run has one signal for all its
// calls), dropped once its last call is over: no controller per call.
const signals = new Map<number, { controller: AbortController; calls: number }>();

let outbox: FromThread[] = [];

// Answers finished in one turn of the event loop travel in one message: the main thread pays one
// wake-up for all of them.
function send(outcome: FromThread): void {
  outbox.push(outcome);
  if (outbox.length === 1) {
    setImmediate(() => {
      const batch = outbox;
      outbox = [];
      port?.postMessage(batch);
    });
  }
}

function signalFor(id: number | undefined): AbortSignal | undefined {
  if (id === undefined) return undefined;
  let entry = signals.get(id);
  if (!entry) {
    entry = { controller: new AbortController(), calls: 0 };
    signals.set(id, entry);
  }
  entry.calls++;
  return entry.controller.signal;
}

function release(id: number | undefined): void {
  if (id === undefined) return;
  const entry = signals.get(id);
  if (entry && --entry.calls === 0) signals.delete(id);
}

async function call(
  id: number,
  model: number,
  request: ChatRequest,
  signal: number | undefined,
): Promise<void> {
  try {
    const chat = await models.get(model);
    if (!chat) throw new Error(`model thread: model ${model} was never defined`);
    send({ id, result: await chat.complete(request) });
  } catch (error) {
    send({ id, error: toWire(error) });
  } finally {
    release(signal);
  }
}

port.on("message", (text: string) => {
  const messages = JSON.parse(text) as ToThread[];
  for (const message of messages) {
    if (message.type === "define") {
      const created = createChatModel(message.config, { modelThread: false });
      // Built or not, calls may now be sent: a failure is reported by each call that uses it.
      created.then(
        () => send({ ready: message.model }),
        () => send({ ready: message.model }),
      );
      models.set(message.model, created);
    } else if (message.type === "call") {
      const abortSignal = signalFor(message.signal);
      void call(
        message.id,
        message.model,
        abortSignal ? { ...message.request, signal: abortSignal } : message.request,
        message.signal,
      );
    } else {
      const entry = signals.get(message.signal);
      signals.delete(message.signal);
      entry?.controller.abort();
    }
  }
});
