// OpenAI-compatible model calls on a thread of their own. The CLI's main thread is CPU-bound at
// high concurrency, and about half of its CPU per call was the model call itself: the openai
// SDK building and parsing, undici and the socket work. On a second core that work overlaps with
// the pipeline's instead of queuing behind it. The SDK stays the official one, with the same lean
// transport and the same OpenAIChatModel: it only runs on another thread.
//
// The main thread holds a ThreadedChatModel (the ChatModel interface unchanged) whose complete()
// posts the request and resolves with the thread's ChatResult, or rejects with the same
// ProviderError as in-process (model-thread-protocol.ts rebuilds it). Caller aborts are settled
// here at once, with the same reason as in-process, and forwarded so the call stops in the thread.
// One thread per process, started with the first such model (or ahead of it, warmModelThread); it keeps the process alive only while calls
// are in flight (as their sockets would). If it dies, its calls fail with a transient
// `connection` error (retried like a dropped connection) and the next call starts a new thread.
//
// The thread reads the API key from the environment it shares with the process (SHARE_ENV):
// no key ever travels in a message. CONVOSIM_MODEL_THREAD=0 keeps model calls in-process.
import { availableParallelism } from "node:os";
import { SHARE_ENV, Worker } from "node:worker_threads";
import type { ModelConfig } from "../schema/config.js";
import { abortError } from "./call-deadline.js";
import { ProviderError } from "./errors.js";
import { type FromThread, fromWire, type ToThread } from "./model-thread-protocol.js";
import type { ChatModel, ChatRequest, ChatResult } from "./types.js";

/**
 * Whether OpenAI-compatible models run their calls on the model thread: CONVOSIM_MODEL_THREAD
 * (1/on, 0/off); by default on with two cores or more, off on one (nothing to overlap with).
 */
export function modelThreadEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.CONVOSIM_MODEL_THREAD?.trim().toLowerCase();
  if (raw === undefined || raw === "") return availableParallelism() >= 2;
  if (raw === "1" || raw === "on" || raw === "true") return true;
  if (raw === "0" || raw === "off" || raw === "false") return false;
  throw new ProviderError(
    "config",
    `CONVOSIM_MODEL_THREAD must be 1 (model calls on a thread of their own) or 0 (in-process); got "${env.CONVOSIM_MODEL_THREAD}"`,
  );
}

/**
 * The thread's entry. Built code finds it beside this module. The tests run the TypeScript
 * sources, which a worker cannot load: they use the build (the test setup rebuilds a stale dist/).
 */
function workerEntry(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith(".ts")) return new URL("../../dist/src/providers/model-thread-worker.js", here);
  return new URL("./model-thread-worker.js", here);
}

/**
 * How old (ms) the oldest message of a batch may be when another is posted before the batch goes
 * at once rather than at the turn's end (see ModelThread's #post).
 */
const FLUSH_AFTER_MS = 1;

/** What the thread is started with, from the process's own Node options. */
export interface ThreadStart {
  execArgv: string[];
  resourceLimits?: { maxYoungGenerationSizeMb: number };
}

/**
 * The process's Node options for the thread, less those a worker refuses: an inline script's
 * (`node --input-type=module -e …`) and V8 heap sizing. bin/convosim's --max-semi-space-size (the
 * young generation the SDK's short-lived objects churn through, src/run/heap.ts) becomes the
 * thread's own young-generation limit: V8 sizes it at three semi-spaces. Profiling flags carry over.
 */
export function threadStart(argv: readonly string[] = process.execArgv): ThreadStart {
  const execArgv: string[] = [];
  let semiSpaceMb: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const semi = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(arg);
    if (semi) {
      semiSpaceMb = Number(semi[1]);
      continue;
    }
    if (arg.startsWith("--input-type=") || arg.startsWith("--eval=") || arg.startsWith("--print=")) continue;
    if (["--input-type", "-e", "--eval", "-p", "--print"].includes(arg)) {
      i++; // and its value
      continue;
    }
    execArgv.push(arg);
  }
  return {
    execArgv,
    ...(semiSpaceMb !== undefined ? { resourceLimits: { maxYoungGenerationSizeMb: 3 * semiSpaceMb } } : {}),
  };
}

/** Flags a worker refused, from Node's ERR_WORKER_INVALID_EXEC_ARGV message. */
function refusedFlags(error: unknown): string[] | undefined {
  if (
    !(error instanceof Error) ||
    (error as Error & { code?: unknown }).code !== "ERR_WORKER_INVALID_EXEC_ARGV"
  ) {
    return undefined;
  }
  const listed = /flags: (.*)$/.exec(error.message)?.[1];
  return listed ? listed.split(", ") : [];
}

function startWorker(): Worker {
  const start = threadStart();
  const make = (execArgv: string[]) =>
    new Worker(workerEntry(), {
      env: SHARE_ENV,
      execArgv,
      ...(start.resourceLimits ? { resourceLimits: start.resourceLimits } : {}),
    });
  try {
    try {
      return make(start.execArgv);
    } catch (error) {
      // Some other option a worker does not take: start without it rather than not at all.
      const refused = refusedFlags(error);
      if (refused === undefined) throw error;
      return make(start.execArgv.filter((arg) => !refused.includes(arg)));
    }
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ProviderError(
      "unknown",
      `could not start the model thread: ${why} (set CONVOSIM_MODEL_THREAD=0 to make model calls in-process)`,
    );
  }
}

interface SignalWatch {
  readonly id: number;
  /** Calls in flight under this signal. */
  readonly calls: Set<number>;
}

interface PendingCall {
  readonly resolve: (result: ChatResult) => void;
  readonly reject: (error: unknown) => void;
  readonly label: string;
  readonly watch: SignalWatch | undefined;
}

function callerAbortReason(signal: AbortSignal): unknown {
  return signal.reason ?? abortError();
}

class ModelThread {
  #worker: Worker | undefined;
  #exitReason: string | undefined;
  /** Models defined in the current thread (a new thread is told again). */
  readonly #defined = new Set<number>();
  readonly #configs = new Map<number, ModelConfig>();
  readonly #pending = new Map<number, PendingCall>();
  /** Models defined but not yet built in the thread, and what resolves their waiters. */
  readonly #building = new Map<number, { promise: Promise<void>; resolve: () => void }>();
  // One abort listener per caller signal (a run has one for all its calls), not one per call.
  readonly #watches = new WeakMap<AbortSignal, SignalWatch>();
  #outbox: ToThread[] = [];
  /** When the oldest message in the outbox was posted (performance.now()). */
  #oldestAt = 0;
  #nextModel = 0;
  #nextCall = 0;
  #nextSignal = 0;

  define(config: ModelConfig): number {
    const id = ++this.#nextModel;
    this.#configs.set(id, config);
    // Started now rather than at the first call: loading the SDK there overlaps with the rest of
    // the run's start-up here. A thread that cannot start is reported by each call instead.
    try {
      this.#start();
      this.#defined.add(id);
      let resolve = () => {};
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      this.#building.set(id, { promise, resolve });
      this.#post({ type: "define", model: id, config });
    } catch {
      // complete() tries again and rejects with the reason
    }
    return id;
  }

  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Starts the thread ahead of the first model (warmModelThread); a failure is left to the calls. */
  warm(): void {
    try {
      this.#start();
    } catch {
      // complete() tries again and rejects with the reason
    }
  }

  /** Pending while the thread is still building the model (loading the SDK); undefined after. */
  whenReady(model: number): Promise<void> | undefined {
    return this.#building.get(model)?.promise;
  }

  #built(model: number): void {
    this.#building.get(model)?.resolve();
    this.#building.delete(model);
  }

  complete(model: number, label: string, request: ChatRequest): Promise<ChatResult> {
    const signal = request.signal;
    // As in-process: an aborted signal rejects with its reason and sends nothing.
    if (signal?.aborted) return Promise.reject(callerAbortReason(signal));
    return new Promise<ChatResult>((resolve, reject) => {
      const worker = this.#start();
      if (!this.#defined.has(model)) {
        this.#defined.add(model);
        this.#post({ type: "define", model, config: this.#configs.get(model) as ModelConfig });
      }
      const id = ++this.#nextCall;
      const watch = signal ? this.#watch(signal) : undefined;
      watch?.calls.add(id);
      if (this.#pending.size === 0) worker.ref(); // calls in flight keep the process alive
      this.#pending.set(id, { resolve, reject, label, watch });
      this.#post({
        type: "call",
        id,
        model,
        request: {
          // Only what the model reads: a message object may carry anything a caller put on it.
          messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
          ...(request.seed !== undefined ? { seed: request.seed } : {}),
        },
        ...(watch ? { signal: watch.id } : {}),
      });
    });
  }

  /** Stops the thread: calls in flight fail as if it had died (tests; the process exit needs none). */
  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker();
    worker.unref();
    worker.on("message", (outcomes: FromThread[]) => this.#receive(outcomes));
    worker.on("error", (error) => {
      this.#exitReason = error instanceof Error ? error.message : String(error);
    });
    worker.on("exit", (code) => this.#stopped(worker, code));
    this.#worker = worker;
    this.#exitReason = undefined;
    return worker;
  }

  #watch(signal: AbortSignal): SignalWatch {
    let watch = this.#watches.get(signal);
    if (!watch) {
      const created: SignalWatch = { id: ++this.#nextSignal, calls: new Set() };
      signal.addEventListener("abort", () => this.#aborted(signal, created), { once: true });
      this.#watches.set(signal, created);
      watch = created;
    }
    return watch;
  }

  #aborted(signal: AbortSignal, watch: SignalWatch): void {
    if (watch.calls.size === 0) return;
    const reason = callerAbortReason(signal);
    for (const id of watch.calls) {
      const call = this.#pending.get(id);
      this.#pending.delete(id);
      call?.reject(reason);
    }
    watch.calls.clear();
    this.#post({ type: "abort", signal: watch.id });
    this.#idleCheck();
  }

  // Everything posted in one turn travels in one message, as JSON text: the thread parses it, and
  // a string crosses as one copy, where structured clone walks every message object on this
  // thread (measured in a CPU profile of the CLI, 5,000 calls: 40 against 67 µs per call here).
  // Requests are JSON-safe by nature: the SDK sends them as JSON.
  //
  // But a turn can be long: a batch of 100 answers from the thread makes 100 conversations take
  // their next step here, and the first call posted waited 25–90 ms (instrumented) for the last
  // while the thread sat idle. So a post that finds the oldest message FLUSH_AFTER_MS old sends
  // the batch at once: the thread sends the first calls while this thread prepares the rest. (A
  // lone message with no post after it still waits for the turn's end: nothing checks the clock
  // then, and a timer would fire only after the turn anyway.)
  #post(message: ToThread): void {
    this.#outbox.push(message);
    if (this.#outbox.length === 1) {
      this.#oldestAt = performance.now();
      queueMicrotask(() => this.#flush());
    } else if (performance.now() - this.#oldestAt >= FLUSH_AFTER_MS) this.#flush();
  }

  #flush(): void {
    const batch = this.#outbox;
    this.#outbox = [];
    if (batch.length === 0 || !this.#worker) return;
    try {
      this.#worker.postMessage(JSON.stringify(batch));
    } catch (error) {
      // Not JSON (never for configs the registry sends here, see jsonSafe): the calls in this
      // batch fail as an in-process SDK failing to serialise its body would, nothing else.
      const why = error instanceof Error ? error.message : String(error);
      for (const message of batch) {
        if (message.type === "define") this.#defined.delete(message.model);
        if (message.type !== "call") continue;
        const call = this.#pending.get(message.id);
        this.#settle(message.id, undefined, new ProviderError("unknown", `${call?.label}: ${why}`));
      }
    }
  }

  #receive(outcomes: FromThread[]): void {
    for (const outcome of outcomes) {
      if ("ready" in outcome) this.#built(outcome.ready);
      else if ("result" in outcome) this.#settle(outcome.id, outcome.result, undefined);
      else this.#settle(outcome.id, undefined, fromWire(outcome.error));
    }
    this.#idleCheck();
  }

  #settle(id: number, result: ChatResult | undefined, error: unknown): void {
    const call = this.#pending.get(id);
    if (!call) return; // aborted by its caller, already settled
    this.#pending.delete(id);
    call.watch?.calls.delete(id);
    if (result !== undefined) call.resolve(result);
    else call.reject(error);
  }

  #idleCheck(): void {
    if (this.#pending.size === 0) this.#worker?.unref();
  }

  #stopped(worker: Worker, code: number): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#defined.clear();
    for (const model of [...this.#building.keys()]) this.#built(model); // its calls fail instead
    this.#outbox = [];
    const why = `the model thread stopped (exit code ${code}${this.#exitReason ? `: ${this.#exitReason}` : ""})`;
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) {
      call.watch?.calls.clear();
      // Like a dropped connection: transient, so the call's retry runs it on a new thread.
      call.reject(new ProviderError("connection", `${call.label}: ${why}`));
    }
  }
}

let thread: ModelThread | undefined;

function modelThread(): ModelThread {
  thread ??= new ModelThread();
  return thread;
}

/** Whether a model's config crosses to the thread as JSON (a cycle or a BigInt would not). */
export function jsonSafe(config: ModelConfig): boolean {
  try {
    JSON.stringify(config);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the model thread before any model is defined, so that it loads the SDK while the caller
 * does its own start-up (registry.ts, warmModelThreadFor, decides when that is worth it).
 */
export function warmModelThread(): void {
  modelThread().warm();
}

/** Whether the model thread is running now (diagnostics and tests). */
export function modelThreadRunning(): boolean {
  return thread?.running ?? false;
}

/** Stops the model thread if one runs; calls in flight fail, the next call starts a new one. */
export async function terminateModelThread(): Promise<void> {
  await thread?.terminate();
}

/** A ChatModel whose calls run on the model thread (an OpenAIChatModel there). */
export class ThreadedChatModel implements ChatModel {
  readonly provider: string;
  readonly model: string;
  readonly endpointKey: string;
  readonly #id: number;
  readonly #label: string;

  constructor(config: ModelConfig, endpointKey: string) {
    this.provider = config.provider;
    this.model = config.model;
    this.endpointKey = endpointKey;
    this.#label = `${config.provider} model ${config.model}`;
    this.#id = modelThread().define(config);
  }

  complete(request: ChatRequest): Promise<ChatResult> {
    return modelThread().complete(this.#id, this.#label, request);
  }

  ready(): Promise<void> | undefined {
    return modelThread().whenReady(this.#id);
  }
}
