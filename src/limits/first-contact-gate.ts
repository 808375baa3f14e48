// Until an endpoint has answered once, one call at a time: a wrong key or a dead endpoint then
// costs one request, not one per conversation. The others wait for that lone call for as long as
// it may still come back refused (the grace period), then go.

/** A check of the gate this late (ms) found the event loop busy (see waitMs). */
const GATE_LATE_MS = 25;

export class FirstContactGate {
  /** False until the endpoint first answers (or reaches the server and refuses). */
  #contacted: boolean;
  readonly #graceMs: number;
  /** When the gate may open: the lone call's admission plus the grace period. */
  #due = Number.NaN;
  /** The lone call has been out for the grace period without being refused. */
  #graceOver = false;

  /** `alone`: hold the others back until first contact; false opens the gate from the start. */
  constructor(alone: boolean, graceMs: number) {
    this.#contacted = !alone;
    this.#graceMs = Math.max(0, graceMs);
  }

  /** True once calls no longer wait for the lone first one. */
  get open(): boolean {
    return this.#contacted || this.#graceOver;
  }

  /** The endpoint answered (or its server was reached): the gate is open for good. */
  contacted(): void {
    this.#contacted = true;
  }

  /** A call was admitted with `inFlight` others out: the lone call's grace starts now. */
  admitted(now: number, inFlight: number): void {
    if (!this.#contacted && inFlight === 0) this.#due = now + this.#graceMs;
  }

  /**
   * How long the others still wait for the lone call (0: the gate opens). It opens once that call
   * has been out for the grace period without coming back refused — but only when this check runs
   * on time: a check more than GATE_LATE_MS after the due time means the event loop was busy (a
   * cold start, a loaded machine), and a refusal may have arrived and not been read yet; the gate
   * then looks again a little later, and stays shut while the loop lags.
   */
  waitMs(now: number): number {
    const due = this.#due;
    if (now < due) return Math.ceil(due - now);
    if (now - due > GATE_LATE_MS) {
      this.#due = now + GATE_LATE_MS;
      return GATE_LATE_MS;
    }
    this.#graceOver = true;
    return 0;
  }
}
