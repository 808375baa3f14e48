// Reads a file that may not be a regular file: /dev/zero, a FIFO, /proc entries. stat's size
// says nothing about those (0, or endless), so the cap is enforced on what is actually read:
// at most `maxBytes + 1` bytes, and one byte over the cap means "too large".
import { open } from "node:fs/promises";

export type CappedRead = { bytes: Buffer; tooLarge: false } | { bytes: undefined; tooLarge: true };

const CHUNK = 64 * 1024;

/** The file's bytes, or `tooLarge` once more than `maxBytes` were read (never buffering more). */
export async function readCapped(path: string, maxBytes: number): Promise<CappedRead> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(maxBytes + 1);
    let length = 0;
    while (length <= maxBytes) {
      const { bytesRead } = await handle.read(buffer, length, Math.min(CHUNK, maxBytes + 1 - length), null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return { bytes: undefined, tooLarge: true };
    return { bytes: buffer.subarray(0, length), tooLarge: false };
  } finally {
    await handle.close();
  }
}
