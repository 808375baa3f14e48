// How much the V8 heap may outgrow what is live. By default V8 lets the old generation grow up
// to about four times the live set after each full collection when the program allocates fast,
// which a run with thousands of model calls in flight does: measured here with 10,000
// conversations in flight (bench "ten-thousand", SDK transport), the heap reached 1.6 GB for
// about 0.55 GB live, and the process 1.84 GB. A fixed growing factor of 1.3 keeps the heap near
// what is live (1.02 GB peak in the same scenario) with no hard cap: a bigger live set still gets
// the memory it needs, it is never an out-of-memory crash.
//
// The price is more frequent full collections: about 0.07 ms of CPU per model call with 100 in
// flight (bench "cpu-overhead", measured by hand), where memory is no concern. So the policy
// applies only from HEAP_POLICY_MIN_WORKERS conversations in flight.
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 30;

/**
 * V8 flags bin/convosim starts node with (its `#!/usr/bin/env -S node …` line; a test keeps the
 * two in step). A run allocates many short-lived objects per model call (the SDK's request and
 * response objects alone are ~120 KB per call) while it holds the state of every conversation in
 * flight; each scavenge of the young generation copies that state again. With V8's default 16 MB
 * semi-spaces scavenges come every few hundred calls. Measured here (bench "cpu-overhead" set-up,
 * by hand, CPU profiles): convosim's time in GC per call 99 µs with 32 MB semi-spaces, 82 µs with
 * 64 MB, 73 µs with 128 MB (a bare SDK client: 64 and 59 µs); 32 MB against the default cut the
 * CPU per call by ≈0.04 ms. 64 MB costs at most 96 MB more memory than the default (two
 * semi-spaces); 128 MB would cost another 128 MB for little. It must be given at start-up: V8
 * sizes the young generation once, so setting it from inside the process (as applyHeapPolicy
 * does for the old generation) has no effect.
 */
export const CLI_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];
export const HEAP_POLICY_MIN_WORKERS = 1000;

/**
 * Applies the heap growing policy to this process when `maxWorkers` is large enough to need it
 * (V8 reads the flag at each full collection, so setting it before the run is enough). Returns
 * whether it applied. The CLI calls it; a program embedding generate() decides for itself (it
 * changes a process-wide setting).
 */
export function applyHeapPolicy(maxWorkers: number, percent = HEAP_GROWING_PERCENT): boolean {
  if (maxWorkers < HEAP_POLICY_MIN_WORKERS) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
