// Streams incoming document bytes as fixed-size chunks while computing their digests, so that
// a 50 MB document is never held in memory whole (XDS needs size, SHA-1; MHD needs SHA-1 too).
import { createHash } from 'node:crypto';
import { StoreError } from './errors.ts';

export const CHUNK_SIZE = 255 * 1024;

export interface ChunkDigest {
  size: number;
  sha1: string;
  sha256: string;
}

/** Re-chunks `source` into CHUNK_SIZE pieces; `done` receives the digests after the last one. */
export async function* chunkAndDigest(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number | undefined,
  done: (digest: ChunkDigest) => void,
): AsyncGenerator<Buffer> {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    size += buf.length;
    if (maxBytes !== undefined && size > maxBytes) throw new StoreError('too-large', `document larger than ${maxBytes} bytes`);
    sha1.update(buf);
    sha256.update(buf);
    // Cut the piece into chunks; each byte is copied once, however large the pieces are.
    while (buf.length > 0) {
      const need = CHUNK_SIZE - pendingBytes;
      if (buf.length < need) {
        pending.push(buf);
        pendingBytes += buf.length;
        break;
      }
      pending.push(buf.subarray(0, need));
      yield pending.length === 1 ? pending[0] : Buffer.concat(pending, CHUNK_SIZE);
      pending = [];
      pendingBytes = 0;
      buf = buf.subarray(need);
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
  done({ size, sha1: sha1.digest('hex'), sha256: sha256.digest('hex') });
}
