// Persona-disjoint, seeded splits. The reference split samples at random, so one persona's
// conversations landed in both train and test and the test set measured memorised personas.
// Here a persona's split is a pure function of (seed, persona_id): every conversation of a
// persona goes where the persona goes, the same seed gives the same split on every run and
// machine, and adding personas never moves the ones already assigned.
import { createHash } from "node:crypto";
import { InputError } from "../config/errors.js";

export interface SplitPart {
  /** A dataset split name: letters, digits and underscores (train, validation, test, …). */
  name: string;
  /** Share of personas, in (0, 1]; the parts of a spec sum to 1. */
  fraction: number;
}

export type SplitSpec = readonly SplitPart[];

/** What a split is drawn by. Only personas today: the unit that must never straddle two splits. */
export type SplitBy = "persona";

const NAME = /^\w+$/;
const TOLERANCE = 1e-9;

function splitError(message: string, hint: string): InputError {
  return new InputError({ file: "command line", field: "--split", message, hint });
}

const EXAMPLE = "write it as name=fraction pairs, e.g. --split train=0.8,test=0.2";

/** Parses `train=0.8,test=0.2` (the CLI's --split) into a validated spec. */
export function parseSplitSpec(text: string): SplitSpec {
  const parts: SplitPart[] = [];
  for (const piece of text.split(",")) {
    const match = /^\s*([^=\s]+)\s*=\s*([^\s]+)\s*$/.exec(piece);
    if (!match) throw splitError(`cannot read "${piece.trim()}"`, EXAMPLE);
    const [, name = "", value = ""] = match;
    if (!NAME.test(name)) {
      throw splitError(`split name "${name}" is not a plain name`, "use letters, digits and _ (train, test)");
    }
    const fraction = Number(value);
    if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1) {
      throw splitError(`fraction of "${name}" must be a number in (0, 1] (got ${value})`, EXAMPLE);
    }
    if (parts.some((part) => part.name === name)) {
      throw splitError(`split "${name}" is named twice`, "name each split once");
    }
    parts.push({ name, fraction });
  }
  validateSplitSpec(parts);
  return parts;
}

/** Throws an InputError (field --split) unless the spec names at least one split and sums to 1. */
export function validateSplitSpec(spec: SplitSpec): void {
  if (spec.length === 0) throw splitError("no split given", EXAMPLE);
  const sum = spec.reduce((total, part) => total + part.fraction, 0);
  if (Math.abs(sum - 1) > TOLERANCE) {
    throw splitError(
      `fractions sum to ${Number(sum.toFixed(6))}, not 1`,
      "make them add up to 1, e.g. train=0.8,test=0.2",
    );
  }
}

/**
 * A number in [0, 1) drawn from (seed, persona_id) alone: the first 48 bits of a SHA-256,
 * so it is uniform, platform-independent and independent between personas.
 */
export function personaDraw(personaId: string, seed: number): number {
  const digest = createHash("sha256").update(`convosim-split\0${seed}\0${personaId}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The split a persona belongs to under `spec` and `seed`. */
export function splitOf(personaId: string, spec: SplitSpec, seed: number): string {
  const draw = personaDraw(personaId, seed);
  let cumulative = 0;
  for (const part of spec) {
    cumulative += part.fraction;
    if (draw < cumulative) return part.name;
  }
  // Rounding can leave the sum a hair under 1: the last split takes the remainder.
  const last = spec[spec.length - 1];
  if (!last) throw splitError("no split given", EXAMPLE);
  return last.name;
}
