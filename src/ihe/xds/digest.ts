// SHA-1 and size of a document, computed while it streams (ITI-41 repositories compute both and
// compare them with the metadata; ITI TF-3 4.2.3.2.9 fixes SHA-1 in hexadecimal).
import { createHash } from 'node:crypto';

export interface DocumentMeasure {
  readonly size: number;
  /** Lower-case hexadecimal SHA-1. */
  readonly sha1: string;
}

export function measureBytes(bytes: Uint8Array): DocumentMeasure {
  return { size: bytes.byteLength, sha1: createHash('sha1').update(bytes).digest('hex') };
}

/**
 * Wraps a byte stream so that reading it through also measures it. `result()` is available once
 * the stream has been read to its end (it throws before, so a half-read document is never
 * mistaken for a whole one).
 */
export function measuring(body: AsyncIterable<Uint8Array>): { body: AsyncIterable<Buffer>; result(): DocumentMeasure } {
  const hash = createHash('sha1');
  let size = 0;
  let measure: DocumentMeasure | undefined;
  async function* pass(): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      hash.update(buffer);
      size += buffer.length;
      yield buffer;
    }
    measure = { size, sha1: hash.digest('hex') };
  }
  return {
    body: pass(),
    result() {
      if (!measure) throw new Error('the document stream has not been read to its end');
      return measure;
    },
  };
}
