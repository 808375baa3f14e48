// The hook through which noise reaches user messages. The types live in schema/noise.ts (so
// that noise/ can build hooks); the identity hook keeps every message clean and says so honestly.
import type { NoiseHook } from "../schema/noise.js";

export type { DistractorType, NoiseCall, NoiseHook, NoiseInput, NoiseOutcome } from "../schema/noise.js";

export const noNoise: NoiseHook = (input) => ({ text: input.text, applied: false });
