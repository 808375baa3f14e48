// TokenBucket: continuous refill, smooth pacing, debt for costs above the capacity, refunds, clamps.
import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/limits/token-bucket.js";

describe("TokenBucket", () => {
  it("starts full, then paces at perMinute / 60 000 per ms", () => {
    const bucket = new TokenBucket(600, 2, 0); // 10 per second, burst 2
    expect(bucket.waitMs(1, 0)).toBe(0);
    bucket.take(1, 0);
    bucket.take(1, 0);
    expect(bucket.waitMs(1, 0)).toBeCloseTo(100, 9);
    expect(bucket.waitMs(1, 40)).toBeCloseTo(60, 9);
    expect(bucket.waitMs(1, 100)).toBe(0);
  });

  it("never holds more than its capacity, however long it idles", () => {
    const bucket = new TokenBucket(600, 2, 0);
    expect(bucket.level(60_000)).toBe(2);
  });

  it("lets a cost above the capacity through a full bucket and leaves it in debt", () => {
    const bucket = new TokenBucket(6000, 100, 0); // 100 tokens per second
    expect(bucket.waitMs(250, 0)).toBe(0); // needs only a full bucket
    bucket.take(250, 0);
    expect(bucket.level(0)).toBe(-150);
    // The next caller waits until the debt is paid and one token is there: 1.51 s.
    expect(bucket.waitMs(1, 0)).toBeCloseTo(1510, 6);
  });

  it("refunds up to the capacity and charges what was under-reserved", () => {
    const bucket = new TokenBucket(6000, 100, 0);
    bucket.take(100, 0);
    bucket.adjust(80);
    expect(bucket.level(0)).toBe(80);
    bucket.adjust(500);
    expect(bucket.level(0)).toBe(100);
    bucket.adjust(-130);
    expect(bucket.level(0)).toBe(-30);
  });

  it("clamps down to what the server reports, never up", () => {
    const bucket = new TokenBucket(600, 5, 0);
    bucket.clamp(2, 0);
    expect(bucket.level(0)).toBe(2);
    bucket.clamp(4, 0);
    expect(bucket.level(0)).toBe(2);
  });

  it("changes rate without losing what was earned", () => {
    const bucket = new TokenBucket(600, 10, 0);
    bucket.take(10, 0);
    bucket.setRate(6000, 10, 500); // earned 5 at the old rate
    expect(bucket.level(500)).toBeCloseTo(5, 9);
    expect(bucket.level(550)).toBeCloseTo(10, 9); // 100 per second from here
    bucket.setRate(600, 3, 600);
    expect(bucket.level(600)).toBe(3);
  });

  it("rejects a rate that is not positive", () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
  });
});
