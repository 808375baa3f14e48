// Where UTF-8 goes wrong. TextDecoder's fatal mode says *that* bytes are invalid, not where, so
// an error message could only name the start of the chunk. This finds the first invalid byte.

/** Bytes a sequence starting with `lead` takes, or 0 when `lead` cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** The allowed range of the second byte (excludes overlongs, surrogates and > U+10FFFF). */
function secondByteOk(lead: number, second: number): boolean {
  if (lead === 0xe0) return second >= 0xa0 && second <= 0xbf;
  if (lead === 0xed) return second >= 0x80 && second <= 0x9f;
  if (lead === 0xf0) return second >= 0x90 && second <= 0xbf;
  if (lead === 0xf4) return second >= 0x80 && second <= 0x8f;
  return second >= 0x80 && second <= 0xbf;
}

/**
 * Offset of the first byte of the first invalid sequence in `bytes`, or -1 when all are valid.
 * `allowTruncatedEnd`: a sequence cut off by the end of `bytes` is not an error (streaming).
 */
export function invalidUtf8Offset(bytes: Uint8Array, allowTruncatedEnd = false): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const length = sequenceLength(lead);
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      if (i + k >= bytes.length) return allowTruncatedEnd ? -1 : i;
      const byte = bytes[i + k]!;
      const ok = k === 1 ? secondByteOk(lead, byte) : byte >= 0x80 && byte <= 0xbf;
      if (!ok) return i;
    }
    i += length;
  }
  return -1;
}

/** Bytes at the end of `bytes` that start a sequence the end cuts off (0 to 3 of them). */
export function truncatedTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if (byte >= 0x80 && byte <= 0xbf) continue; // a continuation byte: look further back
    const length = sequenceLength(byte);
    return length > back ? back : 0;
  }
  return 0;
}

/** 1-based line and column (in bytes) of `offset` in `bytes`. */
export function lineAndColumnAt(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
