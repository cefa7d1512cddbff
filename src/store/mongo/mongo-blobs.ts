// Document bytes in GridFS's collections (blobs.files, blobs.chunks), written and read chunk by
// chunk by this module rather than the driver's GridFSBucket streams: the driver's download sets
// no batch size, and FerretDB 1.x then answers with the whole file in one batch (a 50 MB retrieve
// held 50 MB). So a read is one query whose cursor fetches a few chunks per batch,
// only as fast as the consumer takes them, and each chunk gets the _id `<blob id>:<n>` (a
// re-sent chunk is a duplicate, not a second copy).
// The documents keep GridFS's shape (files_id, n, data; length, chunkSize), so GridFS tools
// still read them, and blobs written earlier by GridFSBucket (ObjectId chunk ids) still read.
import { Readable } from 'node:stream';
import type { Binary, Collection, Document, ObjectId } from 'mongodb';
import { chunkAndDigest, CHUNK_SIZE, type ChunkDigest } from '../blob-chunks.ts';
import { StoreError } from '../errors.ts';
import type { BlobInfo, PutBlobOptions } from '../types.ts';

export interface BlobFileDoc extends Document {
  _id: string;
  length: number;
  chunkSize: number;
  uploadDate: Date;
  filename: string;
  metadata: { contentType: string; state: 'staged' | 'live'; staged: number; sha1?: string; sha256?: string };
}

export interface BlobChunkDoc extends Document {
  /** `<blob id>:<n>` when written here; an ObjectId when written by GridFSBucket. */
  _id: string | ObjectId;
  files_id: string;
  n: number;
  data: Binary;
}

/** Chunks fetched per round trip while reading: about this many are in memory at once. */
const READ_BATCH = 4;
/** Chunks inserted per round trip while writing. */
const WRITE_BATCH = 4;

export function chunkId(blobId: string, n: number): string {
  return `${blobId}:${n}`;
}

export class MongoBlobs {
  readonly #files: Collection<BlobFileDoc>;
  readonly #chunks: Collection<BlobChunkDoc>;

  constructor(files: Collection<BlobFileDoc>, chunks: Collection<BlobChunkDoc>) {
    this.#files = files;
    this.#chunks = chunks;
  }

  async createIndexes(): Promise<void> {
    // The index GridFS itself relies on; also serves deletes by files_id.
    await this.#chunks.createIndex({ files_id: 1, n: 1 }, { unique: true });
  }

  /** Writes a staged blob: its file document first (so a cut-off upload is swept), then chunks, then size and digests. */
  async put(id: string, source: AsyncIterable<Uint8Array>, options: PutBlobOptions): Promise<BlobInfo> {
    const now = Date.now();
    await this.#files.insertOne({
      _id: id,
      length: 0,
      chunkSize: CHUNK_SIZE,
      uploadDate: new Date(now),
      filename: id,
      metadata: { contentType: options.contentType, state: 'staged', staged: now },
    });
    let digest: ChunkDigest | undefined;
    let n = 0;
    let pending: BlobChunkDoc[] = [];
    // A few chunks per round trip, awaited: the source is read no faster than the database
    // takes the chunks, and at most one batch is held.
    const flush = async (): Promise<void> => {
      if (pending.length) await this.#chunks.insertMany(pending);
      pending = [];
    };
    for await (const chunk of chunkAndDigest(source, options.maxBytes, (d) => (digest = d))) {
      pending.push({ _id: chunkId(id, n), files_id: id, n, data: chunk as unknown as Binary });
      n++;
      if (pending.length >= WRITE_BATCH) await flush();
    }
    await flush();
    const d = digest as ChunkDigest;
    await this.#files.updateOne({ _id: id }, { $set: { length: d.size, 'metadata.sha1': d.sha1, 'metadata.sha256': d.sha256 } });
    return { id, contentType: options.contentType, ...d };
  }

  async info(id: string): Promise<BlobInfo | undefined> {
    const file = await this.#files.findOne({ _id: id });
    if (!file) return undefined;
    const meta = file.metadata ?? {};
    return { id, contentType: meta.contentType, size: Number(file.length), sha1: meta.sha1 ?? '', sha256: meta.sha256 ?? '' };
  }

  /** Streams the bytes [start, end] (inclusive) of a blob, or undefined if there is no such blob. */
  async read(id: string, range?: { start: number; end: number }): Promise<Readable | undefined> {
    const file = await this.#files.findOne({ _id: id });
    if (!file) return undefined;
    const size = Number(file.length);
    const chunkSize = Number(file.chunkSize) || CHUNK_SIZE;
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? size - 1, size - 1);
    if (end < start) return Readable.from([]);
    const chunks = this.#chunks;
    async function* bytes(): AsyncGenerator<Buffer> {
      const first = Math.floor(start / chunkSize);
      const last = Math.floor(end / chunkSize);
      // One query, small batches: the driver asks for the next batch only when the stream is
      // read that far (without batchSize, FerretDB sends the whole file in one batch).
      const cursor = chunks.find({ files_id: id, n: { $gte: first, $lte: last } }).sort({ n: 1 }).batchSize(READ_BATCH);
      try {
        let n = first;
        for await (const doc of cursor) {
          if (doc.n !== n) break;
          const stored = doc.data.value();
          const data = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
          const base = n * chunkSize;
          yield data.subarray(Math.max(0, start - base), Math.min(data.length, end - base + 1));
          n++;
        }
        if (n !== last + 1) throw new StoreError('unavailable', 'blob chunk missing');
      } finally {
        await cursor.close();
      }
    }
    // Not object mode: the stream buffers about one chunk ahead, not sixteen.
    return Readable.from(bytes(), { objectMode: false, highWaterMark: chunkSize });
  }

  /** Removes blobs and their chunks; what is already gone is skipped. File documents first, so a half-deleted blob is no longer found. */
  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#files.deleteMany({ _id: { $in: ids } });
    await this.#chunks.deleteMany({ files_id: { $in: ids } });
  }

  async dropStaged(olderThan: number): Promise<void> {
    const stale = await this.#files.find({ 'metadata.state': 'staged', 'metadata.staged': { $lt: olderThan } }).project<{ _id: string }>({ _id: 1 }).toArray();
    await this.remove(stale.map((f) => f._id));
  }
}
