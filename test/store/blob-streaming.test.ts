// Store contract, large blobs (issue 5: "documents of 50 MB go through without loading the whole
// message"): putBlob and readBlob stream, so live memory grows by a small part of the blob, on
// both stores (on MongoDB, FerretDB answers a cursor with unbounded batches: the adapter must
// fetch chunks a few at a time), and a byte range reads only its chunks.
import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

const SIZE = 50 * 1024 * 1024;
const PIECE = 64 * 1024;

let store: Store;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());
t.setTimeout(600_000);

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function used(): number {
  // Twice: a collection frees dead buffers' memory in the background; the next one waits for
  // that to finish, so the figure is what is really still held.
  gc();
  gc();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

/** The peak growth of live memory (after a collection) while `run` runs. */
async function peakGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const baseline = used();
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 200);
  try {
    const result = await run();
    peak = Math.max(peak, used());
    return { result, growth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

/** Byte i of the test blob, so any range can be checked without keeping the blob. */
function byteAt(i: number): number {
  return (i * 7 + (i >> 16)) & 0xff;
}

async function* generated(): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < SIZE; offset += PIECE) {
    const piece = Buffer.allocUnsafe(Math.min(PIECE, SIZE - offset));
    for (let j = 0; j < piece.length; j++) piece[j] = byteAt(offset + j);
    yield piece;
  }
}

let blobId = '';
let sha1 = '';

t.test('a 50 MB blob is stored with live memory growing by less than a third of it', async (t) => {
  const { result, growth } = await peakGrowth(() => store.putBlob(Readable.from(generated()), { contentType: 'application/pdf' }));
  blobId = result.id;
  sha1 = result.sha1;
  t.equal(result.size, SIZE);
  t.ok(growth < SIZE * 0.3, `live memory grew by ${Math.round(growth / 1048576)} MB`);
});

t.test('a 50 MB blob is read back whole, slowly consumed, with live memory growing by less than a third of it', async (t) => {
  const { result, growth } = await peakGrowth(async () => {
    const hash = createHash('sha1');
    let size = 0;
    let pieces = 0;
    for await (const piece of (await store.readBlob(blobId)) as Readable) {
      hash.update(piece as Buffer);
      size += (piece as Buffer).length;
      // A slow consumer now and then: the store must not read ahead meanwhile.
      if (++pieces % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    return { size, sha1: hash.digest('hex') };
  });
  t.same(result, { size: SIZE, sha1 });
  t.ok(growth < SIZE * 0.3, `live memory grew by ${Math.round(growth / 1048576)} MB`);
});

t.test('a byte range across chunk boundaries reads exactly those bytes', async (t) => {
  const start = 255 * 1024 - 10;
  const end = 3 * 255 * 1024 + 20;
  const parts: Buffer[] = [];
  for await (const piece of (await store.readBlob(blobId, { start, end })) as Readable) parts.push(piece as Buffer);
  const bytes = Buffer.concat(parts);
  t.equal(bytes.length, end - start + 1);
  t.ok(bytes.every((b, i) => b === byteAt(start + i)), 'every byte is the right one');
});

t.test('a range past the end is cut at the end, and one starting past it reads nothing', async (t) => {
  const parts: Buffer[] = [];
  for await (const piece of (await store.readBlob(blobId, { start: SIZE - 5, end: SIZE + 100 })) as Readable) parts.push(piece as Buffer);
  t.same([...Buffer.concat(parts)], [0, 1, 2, 3, 4].map((k) => byteAt(SIZE - 5 + k)));
  const none: Buffer[] = [];
  for await (const piece of (await store.readBlob(blobId, { start: SIZE + 1, end: SIZE + 10 })) as Readable) none.push(piece as Buffer);
  t.equal(Buffer.concat(none).length, 0);
});
