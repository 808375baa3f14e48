// The segment cache's index: where the record of each key lives (segment, offset, length), in an
// open-addressing hash table of typed arrays rather than a Map<string, …>. A Map holding the 64-
// character keys as strings costs ≈160 bytes per entry (measured) and GC objects; this table
// costs 24 bytes per slot (32–64 per entry with the load factor below: 64 measured at 100,000
// entries, 50 at a million) and nothing for the GC to trace.
//
// The table is keyed by the key's first 64 bits (16 of its 64 hex digits; keys are sha256, so the
// bits are uniform). Two keys sharing them (≈ n²/2⁶⁵: one chance in 37 million at a million
// entries) share a slot; the record read back then carries the other key, decodeEntry rejects it,
// and the get is a miss. A wrong reply is never served.
//
// Imports nothing (see entry.ts for why).

const EMPTY = 0;
const MAX_LOAD = 0.75;

/** The value of 8 lowercase hex digits at `at` of a key string, or -1 when they are not hex. */
export function wordOfKey(key: string, at: number): number {
  let word = 0;
  for (let i = at; i < at + 8; i++) {
    const digit = hexDigit(key.charCodeAt(i));
    if (digit < 0) return -1;
    word = word * 16 + digit;
  }
  return word;
}

/** The same, of ASCII bytes in a buffer (a key in a segment file, not yet a string). */
export function wordOfBytes(bytes: Uint8Array, at: number): number {
  let word = 0;
  for (let i = at; i < at + 8; i++) {
    const digit = hexDigit(bytes[i] ?? -1);
    if (digit < 0) return -1;
    word = word * 16 + digit;
  }
  return word;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f (keys are lowercase)
  return -1;
}

export class RecordIndex {
  #mask: number;
  #size = 0;
  // One slot per index across the arrays. #segment holds the segment number + 1, so 0 is empty.
  #high: Uint32Array;
  #low: Uint32Array;
  #segment: Uint32Array;
  #length: Uint32Array;
  // Offsets as doubles: a segment may outgrow 4 GiB if someone configures it so.
  #offset: Float64Array;

  constructor(capacity = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, capacity)));
    this.#mask = slots - 1;
    this.#high = new Uint32Array(slots);
    this.#low = new Uint32Array(slots);
    this.#segment = new Uint32Array(slots);
    this.#length = new Uint32Array(slots);
    this.#offset = new Float64Array(slots);
  }

  /** Keys indexed (forgotten ones included: their slot stays until the key is stored again). */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return (this.#mask + 1) * 24;
  }

  /** Records where `key`'s record lives; a later record of the same key replaces the earlier. */
  set(high: number, low: number, segment: number, offset: number, length: number): void {
    if ((this.#size + 1) / (this.#mask + 1) > MAX_LOAD) this.#grow();
    const slot = this.#probe(high, low);
    if (this.#segment[slot] === EMPTY) this.#size++; // else the same key: overwritten in place
    this.#high[slot] = high;
    this.#low[slot] = low;
    this.#segment[slot] = segment + 1;
    this.#offset[slot] = offset;
    this.#length[slot] = length;
  }

  /** The slot of `key`, or -1. */
  find(high: number, low: number): number {
    const slot = this.#probe(high, low);
    return this.#segment[slot] === EMPTY || this.#length[slot] === 0 ? -1 : slot;
  }

  segmentAt(slot: number): number {
    return this.#segment[slot]! - 1;
  }

  offsetAt(slot: number): number {
    return this.#offset[slot]!;
  }

  lengthAt(slot: number): number {
    return this.#length[slot]!;
  }

  /** Makes a slot's key a miss (its record was found damaged) until the key is stored again. */
  forget(slot: number): void {
    this.#length[slot] = 0;
  }

  /** The slot holding the key, or the empty slot where it would go (linear probing). */
  #probe(high: number, low: number): number {
    let slot = low & this.#mask;
    while (this.#segment[slot] !== EMPTY && (this.#low[slot] !== low || this.#high[slot] !== high))
      slot = (slot + 1) & this.#mask;
    return slot;
  }

  #grow(): void {
    const old = {
      high: this.#high,
      low: this.#low,
      segment: this.#segment,
      offset: this.#offset,
      length: this.#length,
    };
    const slots = (this.#mask + 1) * 2;
    this.#mask = slots - 1;
    this.#high = new Uint32Array(slots);
    this.#low = new Uint32Array(slots);
    this.#segment = new Uint32Array(slots);
    this.#length = new Uint32Array(slots);
    this.#offset = new Float64Array(slots);
    for (let i = 0; i < old.segment.length; i++) {
      if (old.segment[i] === EMPTY) continue;
      const slot = this.#probe(old.high[i]!, old.low[i]!);
      this.#high[slot] = old.high[i]!;
      this.#low[slot] = old.low[i]!;
      this.#segment[slot] = old.segment[i]!;
      this.#offset[slot] = old.offset[i]!;
      this.#length[slot] = old.length[i]!;
    }
  }
}
