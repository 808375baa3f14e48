// How deeply data is nested, measured without recursion: a 5,000-level document must be refused
// as bad input, not crash a recursive parser or walk with a RangeError stack trace.

/**
 * Offset of the first `[` or `{` in a JSON text that opens level `max + 1`, or -1 when the text
 * nests no deeper than `max`. Brackets inside strings do not count. Malformed JSON is left to
 * JSON.parse: this only has to be right for text that nests too deeply.
 */
export function jsonNestingOffset(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c /* \ */) i += 1;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b /* [ */ || char === 0x7b /* { */) {
      depth += 1;
      if (depth > max) return i;
    } else if (char === 0x5d /* ] */ || char === 0x7d /* } */) {
      depth -= 1;
    }
  }
  return -1;
}

/** True when `value` holds objects or arrays nested more than `max` levels deep. */
export function valueNestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}
