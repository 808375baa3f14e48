// The opening of a run against an endpoint nothing is known about yet (no rate_limit, no
// rate-limit headers so far, no wave of 429s): admissions are paced by a rate that doubles every
// `doublingMs` while it is the bottleneck, from `startPerSecond`, until it passes
// `ceilingPerSecond`, where it steps aside for good.
//
// Why a rate rather than a concurrency window growing per round trip (what the opening used
// before): a window grows with the replies, so 0.5 s replies took three round trips to reach 500
// in flight, and each step let a whole burst go at once — a server's bucket of 50 met bursts of 32
// and then ~70 calls before any 429 came back, 60–70 refusals in the first half second. A rate
// grows with the clock instead: whatever the reply time it reaches ~500 calls admitted within
// about a second (200 ms doublings from 50/s), and over a cap it overshoots only by
// what it admits while the first 429 is on its way back — refusals come back fast, as a server
// refuses before it generates anything. What the endpoint accepted by then is also a cleaner
// basis for the first estimate than the tail of a burst.
//
// It grows only while it is the bottleneck (calls wait for it): a ramp nobody pushes against
// proves nothing about the server, and growing it anyway would let a later burst through
// unchecked — the same rule as the concurrency window's.
import { TokenBucket } from "./token-bucket.js";

export interface OpeningRampOptions {
  /** Calls per second at the start. Default 100. */
  startPerSecond?: number;
  /** The rate doubles every this many ms while it is the bottleneck. Default 200. */
  doublingMs?: number;
  /** Past this many calls per second the ramp steps aside for good. Default 10 000. */
  ceilingPerSecond?: number;
  /** Calls that may go at once, in seconds of the current rate (at least one). Default 0.05. */
  burstSeconds?: number;
}

/** How late (ms) a check of the ramp may run and still count its lateness as time binding. */
const STALL_STEP_MS = 10;

export class OpeningRamp {
  readonly #doublingMs: number;
  readonly #ceiling: number;
  readonly #burstSeconds: number;
  #perSecond: number;
  #bucket: TokenBucket | undefined;
  /** Since when calls have waited for the ramp (undefined: they do not). */
  #boundSince: number | undefined;
  #done = false;
  /** When the ramp said the next call may go: a check much later than that ran late. */
  #checkDue = Number.POSITIVE_INFINITY;

  constructor(options: OpeningRampOptions = {}) {
    this.#perSecond = Math.max(1, options.startPerSecond ?? 100);
    this.#doublingMs = Math.max(1, options.doublingMs ?? 200);
    this.#ceiling = options.ceilingPerSecond ?? 10_000;
    this.#burstSeconds = options.burstSeconds ?? 0.05;
  }

  /** The ramp has passed its ceiling (or was ended): it limits nothing any more. */
  get done(): boolean {
    return this.#done;
  }

  /** Calls per second it admits now. */
  get perSecond(): number {
    return this.#perSecond;
  }

  /** Milliseconds until the next call may go (0: now). Grows the rate while calls wait for it. */
  waitMs(now: number): number {
    if (this.#done) return 0;
    this.#bucket ??= new TokenBucket(this.#perSecond * 60, this.#capacity(), now);
    const wait = this.#bucket.waitMs(1, now);
    if (wait <= 0) return 0;
    // A check more than STALL_STEP_MS after it was due found the event loop busy: a 429 may be
    // waiting there unread, so the time the loop was stalled proves nothing about the server.
    if (this.#boundSince !== undefined && now > this.#boundSince)
      this.#grow(Math.min(now, this.#checkDue + STALL_STEP_MS) - this.#boundSince, now);
    this.#boundSince = now;
    const next = this.#done ? 0 : this.#bucket.waitMs(1, now);
    this.#checkDue = now + next;
    return next;
  }

  /** A call was admitted. */
  take(now: number): void {
    if (!this.#done) this.#bucket?.take(1, now);
  }

  /** Nobody waits any more: time from now on is not time the ramp was the bottleneck. */
  idle(): void {
    this.#boundSince = undefined;
  }

  /** A rate is known (or the ramp is no longer wanted): it steps aside for good. */
  end(): void {
    this.#done = true;
    this.#bucket = undefined;
  }

  #grow(elapsedMs: number, now: number): void {
    this.#perSecond *= 2 ** (elapsedMs / this.#doublingMs);
    if (this.#perSecond >= this.#ceiling) {
      this.end();
      return;
    }
    this.#bucket?.setRate(this.#perSecond * 60, this.#capacity(), now);
  }

  #capacity(): number {
    return Math.max(1, this.#perSecond * this.#burstSeconds);
  }
}
