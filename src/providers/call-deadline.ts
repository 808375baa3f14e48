// One model call's deadline, combined with the caller's signal. The SDKs' own timeout stops at
// the response headers; this one also covers reading the body, so a server that stalls mid-body
// still yields a `timeout` instead of hanging the conversation.
//
// The SDK is handed a per-call signal that fires when the deadline passes or the caller aborts.
// With `light`, that signal is a CallAbortSignal (below) instead of a real AbortSignal.

/**
 * What the openai SDK (6.x) does with a request's `signal` option: it reads `aborted` and adds one
 * "abort" listener, which aborts the SDK's own per-request AbortController (the one its fetch
 * uses, so the body stops too) and which it never removes — a long-lived signal must therefore
 * never be handed over, hence one per call. A real AbortSignal per call cost ≈13 µs of CPU per
 * call (an A/B of generate() runs with and without it, bench/run-in-process.ts: an EventTarget,
 * Node's listener bookkeeping, more GC); this plain object costs next to nothing. The provider
 * tests (a body that stalls, a caller abort, an already aborted signal) pin the SDK's use of it.
 */
export class CallAbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: null = null;
  #listeners: Array<() => void> = [];

  addEventListener(type: string, listener: () => void): void {
    if (type === "abort" && !this.aborted) this.#listeners.push(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type === "abort") this.#listeners = this.#listeners.filter((l) => l !== listener);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }
}

// Calls waiting on each caller signal (the run's hard stop, usually one for thousands of calls):
// one "abort" listener per signal, and a Set entry per call instead of a listener added and
// removed per call on Node's EventTarget.
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

function watch(signal: AbortSignal, onAbort: () => void): Set<() => void> {
  let calls = watchers.get(signal);
  if (!calls) {
    const waiting = new Set<() => void>();
    calls = waiting;
    watchers.set(signal, waiting);
    signal.addEventListener(
      "abort",
      () => {
        for (const call of [...waiting]) call();
        waiting.clear();
      },
      { once: true },
    );
  }
  calls.add(onAbort);
  return calls;
}

/** The error a caller abort without a reason rejects with. */
export function abortError(): Error {
  const error = new Error("the model call was aborted");
  error.name = "AbortError";
  return error;
}

export class CallDeadline {
  readonly #timer: NodeJS.Timeout;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort = () => this.#abort(this.#caller?.reason ?? abortError());
  readonly #watching: Set<() => void> | undefined;
  readonly #controller: AbortController | undefined;
  readonly #light: CallAbortSignal | undefined;
  #timedOut = false;

  /** `light`: hand the SDK a CallAbortSignal (openai 6.x) rather than a real AbortSignal. */
  constructor(timeoutMs: number, caller: AbortSignal | undefined, options: { light?: boolean } = {}) {
    this.#caller = caller;
    if (options.light) this.#light = new CallAbortSignal();
    else this.#controller = new AbortController();
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#abort(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    if (caller?.aborted) this.#onCallerAbort();
    else if (caller) this.#watching = watch(caller, this.#onCallerAbort);
  }

  /** Aborted when the deadline passes or the caller aborts. */
  get signal(): AbortSignal {
    return this.#light ? (this.#light as unknown as AbortSignal) : this.#controller!.signal;
  }

  get expired(): boolean {
    return this.#timedOut;
  }

  /** The caller's abort reason when the caller cancelled (not a provider failure: never retried). */
  callerAbort(): unknown {
    if (!this.#caller?.aborted) return undefined;
    return this.#caller.reason ?? abortError();
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#watching?.delete(this.#onCallerAbort);
  }

  #abort(reason: unknown): void {
    if (this.#light) this.#light.abort(reason);
    else this.#controller!.abort(reason);
  }
}
