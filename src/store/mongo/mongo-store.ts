// The MongoDB store (official driver). Runs on MongoDB 7 (replica set or sharded) and on
// FerretDB 1.24, so it keeps to what both do: no multi-document transactions (see
// mongo-commits.ts), no $lookup, no $elemMatch on sub-documents, no partial indexes.
// Document bytes live in GridFS (a resource never holds them: the 16 MB document cap).
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MongoClient, MongoError, type Collection, type Db, type Filter } from 'mongodb';
import { checkChangeset, checkTypeAndId, nextTimestamp, stampResource, storedKeys, storedSortKeys, versionOf } from '../changeset.ts';
import { isStoreError, StoreError } from '../errors.ts';
import { parseJsonText } from '../json-text.ts';
import { decodeCursor, encodeCursor, sortColumns, type SortValue } from '../keyset.ts';
import type {
  BlobInfo,
  Changeset,
  CommitResult,
  HistoryQuery,
  LogEntry,
  OutboxMessage,
  PurgeTarget,
  PutBlobOptions,
  ReindexEntry,
  ResourceBody,
  SearchPage,
  SearchQuery,
  Store,
  StoredVersion,
} from '../types.ts';
import { MongoBlobs, type BlobChunkDoc, type BlobFileDoc } from './mongo-blobs.ts';
import { CommitLedger, type StringIdDoc } from './mongo-commits.ts';
import { baseFilter, compileCondition, compileKeyset, sortField, sortSpec, type MongoFilter } from './mongo-query.ts';

export interface MongoStoreOptions {
  uri: string;
  database?: string;
  /** How often unfinished commits are looked for (ms); 0 turns the timer off. */
  sweepIntervalMs?: number;
  /** How long a commit may run before others may roll it back (ms). */
  commitDeadlineMs?: number;
}

/** One stored version of a resource. */
interface VersionDoc extends StringIdDoc {
  _id: string;
  t: string;
  i: string;
  v: number;
  ts: number;
  del: boolean;
  /** The resource as JSON text (keeps decimals as written; BSON doubles would not). */
  r: string | null;
  cur: boolean;
  k?: string[];
  lo?: string[];
  hi?: string[];
  sk?: Record<string, string>;
  tx?: string;
  sup?: string;
}

/** A purge under way: written before anything is deleted, removed once all of it is gone. */
interface PurgeRecord extends PurgeTarget {
  _id: string;
  at: number;
}

const DUPLICATE_KEY = 11000;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoError && error.code === DUPLICATE_KEY;
}

/** Database trouble becomes 'unavailable' (503); our own errors pass through. */
function asStoreError(error: unknown): unknown {
  if (isStoreError(error)) return error;
  if (error instanceof MongoError) return new StoreError('unavailable', 'database unavailable', { cause: error });
  return error;
}

export class MongoStore implements Store {
  readonly kind = 'mongo';
  readonly #client: MongoClient;
  readonly #dbName: string | undefined;
  readonly #sweepIntervalMs: number;
  readonly #commitDeadlineMs: number | undefined;
  #db: Db | undefined;
  #versions!: Collection<VersionDoc>;
  #log!: Collection<StringIdDoc>;
  #outbox!: Collection<StringIdDoc>;
  #leases!: Collection<StringIdDoc>;
  #counters!: Collection<{ _id: string; seq: number }>;
  #purges!: Collection<PurgeRecord>;
  #blobFiles!: Collection<StringIdDoc>;
  #blobs!: MongoBlobs;
  #ledger!: CommitLedger;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MongoStoreOptions) {
    this.#client = new MongoClient(options.uri, { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 5000 });
    this.#dbName = options.database;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    this.#commitDeadlineMs = options.commitDeadlineMs;
  }

  async open(): Promise<void> {
    await this.#client.connect();
    const db = this.#client.db(this.#dbName ?? (this.#client.options.dbName || 'carnet'));
    this.#db = db;
    this.#versions = db.collection<VersionDoc>('versions');
    this.#log = db.collection('log');
    this.#outbox = db.collection('outbox');
    this.#leases = db.collection('outbox_leases');
    this.#counters = db.collection('counters');
    this.#purges = db.collection<PurgeRecord>('purges');
    this.#blobFiles = db.collection('blobs.files');
    this.#blobs = new MongoBlobs(db.collection<BlobFileDoc>('blobs.files'), db.collection<BlobChunkDoc>('blobs.chunks'));
    this.#ledger = new CommitLedger(db, this.#versions as unknown as Collection<StringIdDoc>, [this.#log, this.#outbox], this.#blobFiles, this.#commitDeadlineMs);
    await Promise.all([
      this.#versions.createIndex({ t: 1, i: 1, cur: 1 }),
      this.#versions.createIndex({ t: 1, k: 1 }),
      this.#versions.createIndex({ t: 1, lo: 1 }),
      this.#versions.createIndex({ t: 1, hi: 1 }),
      this.#versions.createIndex({ t: 1, 'sk._lastUpdated': 1 }),
      this.#versions.createIndex({ ts: -1, t: -1, i: -1, v: -1 }),
      this.#versions.createIndex({ t: 1, ts: -1, i: -1, v: -1 }),
      this.#versions.createIndex({ tx: 1 }),
      this.#versions.createIndex({ sup: 1 }),
      this.#log.createIndex({ stream: 1, seq: 1 }, { unique: true }),
      this.#log.createIndex({ tx: 1 }),
      this.#outbox.createIndex({ done: 1, notBefore: 1 }),
      this.#outbox.createIndex({ tx: 1 }),
      this.#ledger.createIndexes(),
      this.#blobs.createIndexes(),
    ]);
    await this.#ledger.sweep();
    await this.#finishPurges();
    await this.#blobs.dropStaged(Date.now() - 24 * 3600_000);
    if (this.#sweepIntervalMs > 0) {
      this.#timer = setInterval(() => {
        this.#ledger.sweep().catch(() => undefined);
      }, this.#sweepIntervalMs);
      this.#timer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#client.close();
    this.#db = undefined;
  }

  async ping(): Promise<boolean> {
    try {
      await this.#database.command({ ping: 1 }, { timeoutMS: 2000 });
      return true;
    } catch {
      return false;
    }
  }

  get #database(): Db {
    if (!this.#db) throw new StoreError('unavailable', 'store is not open');
    return this.#db;
  }

  /** The visible current version document of a resource. */
  async #current(type: string, id: string): Promise<VersionDoc | undefined> {
    const docs = await this.#versions.find({ t: type, i: id, cur: true }).sort({ v: -1 }).limit(8).toArray();
    const [visible] = await this.#ledger.visible(docs);
    return visible;
  }

  async commit(changes: Changeset): Promise<CommitResult> {
    checkChangeset(changes);
    if (!this.#db) throw new StoreError('unavailable', 'store is not open');
    const tx = randomUUID();
    const ts = nextTimestamp(changes.writes.length > 0);
    const lastUpdated = new Date(ts).toISOString();
    const versions: (StoredVersion | undefined)[] = [];
    try {
      await this.#ledger.begin(tx, changes.blobs ?? []);
      for (const w of changes.writes) versions.push(await this.#write(tx, w, ts, lastUpdated));
      for (const l of changes.log ?? []) await this.#appendLog(tx, l.stream, lastUpdated, l.entry);
      if (changes.outbox?.length) {
        await this.#outbox.insertMany(
          changes.outbox.map((m) => ({ _id: randomUUID(), topic: m.topic, payload: m.payload, notBefore: m.notBefore ?? Date.now(), leaseUntil: 0, attempts: 0, done: false, tx })),
        );
      }
      if (changes.blobs?.length) {
        const found = await this.#blobFiles.countDocuments({ _id: { $in: changes.blobs } });
        if (found !== new Set(changes.blobs).size) throw new StoreError('bad-request', 'unknown blob in commit');
      }
      if (!(await this.#ledger.markCommitted(tx))) throw new StoreError('unavailable', 'commit ran past its deadline and was rolled back');
    } catch (error) {
      // Best effort: if this fails too, the sweep rolls the commit back after its deadline.
      await this.#ledger.resolve(tx).catch(() => undefined);
      throw asStoreError(error);
    }
    // Readers already see the commit whole; finalizing only tidies (the sweep retries it).
    await this.#ledger.finalize(tx).catch(() => undefined);
    return { versions, lastUpdated };
  }

  /**
   * Appends a log entry under the next sequence number of its stream. The counter's $inc is
   * not atomic on FerretDB 1.x, so the unique `stream:seq` _id is the arbiter: a writer that
   * lands on a taken number takes the next one.
   */
  async #appendLog(tx: string, stream: string, at: string, entry: Record<string, unknown>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const counter = await this.#counters.findOneAndUpdate({ _id: `log:${stream}` }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' });
        const seq = (counter as { seq: number }).seq;
        await this.#log.insertOne({ _id: `${stream}:${seq}`, stream, seq, at, entry, tx });
        return;
      } catch (error) {
        if (!isDuplicateKey(error) || attempt >= 50) throw error;
      }
    }
  }

  async #write(tx: string, w: Changeset['writes'][number], ts: number, lastUpdated: string): Promise<StoredVersion | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.#current(w.type, w.id);
      const curVid = cur?.v ?? 0;
      const live = cur !== undefined && !cur.del;
      if (w.ifVersion !== undefined && w.ifVersion !== (live ? curVid : 0)) {
        throw new StoreError('version-conflict', `${w.type}/${w.id} is at version ${live ? curVid : 0}, not ${w.ifVersion}`);
      }
      if (w.op === 'create' && live) throw new StoreError('already-exists', `${w.type}/${w.id} already exists`);
      if (w.op === 'delete' && !live) return undefined;
      const vid = curVid + 1;
      const body = w.op === 'delete' ? undefined : stampResource(w.resource as ResourceBody, w.id, vid, lastUpdated);
      const doc: VersionDoc = { _id: `${w.type}/${w.id}/${vid}`, t: w.type, i: w.id, v: vid, ts, del: !body, r: body ? JSON.stringify(body) : null, cur: true, tx };
      if (body) Object.assign(doc, storedKeys(w.index), { sk: storedSortKeys(w.sortKeys, ts) });
      try {
        await this.#versions.insertOne(doc);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // Another commit holds the next version. If it is a dead one past its deadline,
        // checking its state aborts it and we retry; otherwise it won the race.
        const other = await this.#versions.findOne({ _id: doc._id });
        const blocked = other?.tx ? (await this.#ledger.states([other.tx])).get(other.tx) : undefined;
        if (blocked === 'aborted' && attempt < 3) continue;
        if (w.ifVersion === undefined && blocked !== 'pending' && attempt < 3) continue;
        throw new StoreError('version-conflict', `${w.type}/${w.id} was changed concurrently`);
      }
      if (cur) await this.#versions.updateOne({ _id: cur._id }, { $set: { sup: tx } });
      return versionOf(w.type, w.id, vid, ts, body);
    }
  }

  async reindex(entries: ReindexEntry[]): Promise<number> {
    for (const e of entries) checkTypeAndId(e.type, e.id);
    let done = 0;
    try {
      for (const e of entries) {
        const cur = await this.#current(e.type, e.id);
        if (!cur || cur.del || cur.v !== e.versionId) continue;
        // In place on the version document: a concurrent write made a newer one, indexed when written.
        const result = await this.#versions.updateOne({ _id: cur._id, del: false }, { $set: { ...storedKeys(e.index), sk: storedSortKeys(e.sortKeys, cur.ts) } });
        done += result.matchedCount;
      }
    } catch (error) {
      throw asStoreError(error);
    }
    return done;
  }

  #toVersion(doc: VersionDoc): StoredVersion {
    return versionOf(doc.t, doc.i, doc.v, doc.ts, doc.r === null ? undefined : (parseJsonText(doc.r) as ResourceBody));
  }

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    checkTypeAndId(type, id);
    try {
      const doc = await this.#current(type, id);
      return doc && this.#toVersion(doc);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async readVersion(type: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    checkTypeAndId(type, id);
    try {
      const doc = await this.#versions.findOne({ _id: `${type}/${id}/${versionId}` });
      const [visible] = await this.#ledger.visible(doc ? [doc] : [], { ignoreSuperseded: true });
      return visible && this.#toVersion(visible);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  /** Reads pages of raw documents until `want` visible ones are found or none are left. */
  async #fill(
    filter: Filter<VersionDoc>,
    sort: Record<string, 1 | -1>,
    want: number,
    after: (last: VersionDoc) => Filter<VersionDoc>,
    options: { ignoreSuperseded?: boolean } = {},
  ): Promise<VersionDoc[]> {
    const out: VersionDoc[] = [];
    let current = filter;
    for (;;) {
      const need = want - out.length;
      const batch = await this.#versions.find(current).sort(sort).limit(need).toArray();
      out.push(...(await this.#ledger.visible(batch, options)));
      const last = batch.at(-1);
      if (out.length >= want || batch.length < need || !last) return out;
      current = { $and: [filter, after(last)] };
    }
  }

  async history(query: HistoryQuery): Promise<{ entries: StoredVersion[]; next?: string }> {
    const filter: Filter<VersionDoc> = {};
    if (query.type !== undefined) {
      if (query.id !== undefined) checkTypeAndId(query.type, query.id);
      filter.t = query.type;
    }
    if (query.id !== undefined) filter.i = query.id;
    if (query.since !== undefined) filter.ts = { $gte: query.since };
    const afterDoc = (ts: number, t: string, i: string, v: number): Filter<VersionDoc> => ({
      $or: [{ ts: { $lt: ts } }, { ts, t: { $lt: t } }, { ts, t, i: { $lt: i } }, { ts, t, i, v: { $lt: v } }],
    });
    let start: Filter<VersionDoc> = filter;
    if (query.cursor) {
      const [ts, t, i, v] = decodeCursor(query.cursor, 4);
      start = { $and: [filter, afterDoc(Number(ts), String(t), String(i), Number(v))] };
    }
    try {
      const docs = await this.#fill(start, { ts: -1, t: -1, i: -1, v: -1 }, query.count + 1, (d) => ({ $and: [filter, afterDoc(d.ts, d.t, d.i, d.v)] }), {
        ignoreSuperseded: true,
      });
      const page = docs.slice(0, query.count);
      const last = page.at(-1);
      return {
        entries: page.map((d) => this.#toVersion(d)),
        next: docs.length > query.count && last ? encodeCursor([String(last.ts), last.t, last.i, String(last.v)]) : undefined,
      };
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    const columns = sortColumns(query.sort);
    const where = query.where ? compileCondition(query.where) : {};
    const filter = { $and: [baseFilter(query.types), where] } as Filter<VersionDoc>;
    const valuesOf = (d: VersionDoc): SortValue[] =>
      columns.map((c) => {
        const field = sortField(c.key);
        if (field === 't') return d.t;
        if (field === 'i') return d.i;
        return d.sk?.[c.key] ?? null;
      });
    let start: Filter<VersionDoc> = filter;
    if (query.cursor) start = { $and: [filter, compileKeyset(columns, decodeCursor(query.cursor, columns.length)) as Filter<VersionDoc>] };
    try {
      const docs = await this.#fill(start, sortSpec(columns), query.count + 1, (d) => ({ $and: [filter, compileKeyset(columns, valuesOf(d)) as Filter<VersionDoc>] }));
      const page = docs.slice(0, query.count);
      const last = page.at(-1);
      const result: SearchPage = { entries: page.map((d) => this.#toVersion(d)) };
      if (docs.length > query.count && last) result.next = encodeCursor(valuesOf(last));
      if (query.total) {
        // Versions of commits still being written are left out; during the few
        // milliseconds a commit is finalised the count may be off by its resources.
        result.total = await this.#versions.countDocuments({ $and: [filter, { tx: { $exists: false } }] });
      }
      return result;
    } catch (error) {
      throw asStoreError(error);
    }
  }

  /** Rolls back commits left unfinished past their deadline now (the timer does it too). */
  async repair(): Promise<number> {
    return this.#ledger.sweep();
  }

  /** The query plan of a search, for tests that check indexes are used. */
  async explainSearch(query: SearchQuery): Promise<MongoFilter> {
    const where = query.where ? compileCondition(query.where) : {};
    return this.#versions.find({ $and: [baseFilter(query.types), where] } as Filter<VersionDoc>).explain();
  }

  async putBlob(source: Readable | AsyncIterable<Uint8Array>, options: PutBlobOptions): Promise<BlobInfo> {
    const id = randomUUID();
    try {
      return await this.#blobs.put(id, source, options);
    } catch (error) {
      await this.#blobs.remove([id]).catch(() => undefined);
      throw asStoreError(error);
    }
  }

  async blobInfo(id: string): Promise<BlobInfo | undefined> {
    try {
      return await this.#blobs.info(id);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async readBlob(id: string, range?: { start: number; end: number }): Promise<Readable | undefined> {
    try {
      return await this.#blobs.read(id, range);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async purge(target: PurgeTarget): Promise<void> {
    for (const r of target.resources) checkTypeAndId(r.type, r.id);
    const record: PurgeRecord = { _id: randomUUID(), resources: target.resources, blobs: target.blobs, at: Date.now() };
    try {
      // Without transactions the deletes land one by one: the record lets open() finish a
      // purge a crash cut short, and every step is idempotent, so re-running is safe.
      await this.#purges.insertOne(record);
      await this.#purgeNow(record);
      await this.#purges.deleteOne({ _id: record._id });
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async #purgeNow(target: PurgeTarget): Promise<void> {
    const byType = new Map<string, string[]>();
    for (const r of target.resources) byType.set(r.type, [...(byType.get(r.type) ?? []), r.id]);
    for (const [t, ids] of byType) {
      // Current versions first: from then on reads and searches no longer find the resources,
      // even while older versions are still being removed.
      await this.#versions.deleteMany({ t, i: { $in: ids }, cur: true });
      await this.#versions.deleteMany({ t, i: { $in: ids } });
    }
    await this.#blobs.remove(target.blobs);
  }

  /** Finishes purges a crash interrupted (their records remain). */
  async #finishPurges(): Promise<void> {
    for (const record of await this.#purges.find({}).toArray()) {
      await this.#purgeNow(record);
      await this.#purges.deleteOne({ _id: record._id });
    }
  }

  async readLog(stream: string, options: { afterSeq?: number; limit: number }): Promise<LogEntry[]> {
    try {
      const docs = await this.#log.find({ stream, seq: { $gt: options.afterSeq ?? 0 } }).sort({ seq: 1 }).limit(options.limit).toArray();
      const states = await this.#ledger.states(docs.flatMap((d) => (d.tx ? [d.tx as string] : [])));
      const out: LogEntry[] = [];
      for (const d of docs) {
        const state = d.tx ? states.get(d.tx) : 'committed';
        // Stop before an entry whose commit is undecided: readers get a prefix that never changes.
        if (state === 'pending') break;
        if (state === 'committed') out.push({ stream: d.stream, seq: d.seq, at: d.at, entry: d.entry });
      }
      return out;
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async claimOutbox(options: { limit: number; leaseMs: number; now?: number }): Promise<OutboxMessage[]> {
    const now = options.now ?? Date.now();
    const out: OutboxMessage[] = [];
    try {
      // Messages still marked with their commit's tx are not handed out until it is finalised.
      const due = await this.#outbox
        .find({ done: false, tx: { $exists: false }, notBefore: { $lte: now }, leaseUntil: { $lte: now } })
        .sort({ notBefore: 1 })
        .limit(options.limit * 2)
        .toArray();
      for (const doc of due) {
        if (out.length >= options.limit) break;
        const attempt = Number(doc.attempts) + 1;
        // One claimer per attempt: the unique lease id decides (FerretDB 1.x runs a conditional
        // update as a find then a write, so two claimers could both "win" an update).
        try {
          await this.#leases.insertOne({ _id: `${doc._id}#${attempt}`, at: now });
        } catch (error) {
          if (isDuplicateKey(error)) continue;
          throw error;
        }
        await this.#outbox.updateOne({ _id: doc._id }, { $set: { leaseUntil: now + options.leaseMs, attempts: attempt } });
        out.push({ id: String(doc._id), topic: doc.topic, payload: doc.payload, attempts: attempt });
      }
      return out;
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async completeOutbox(id: string): Promise<void> {
    await this.#outbox.updateOne({ _id: id }, { $set: { done: true } });
    await this.#leases.deleteMany({ _id: { $regex: `^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#` } });
  }

  async retryOutbox(id: string, notBefore: number): Promise<void> {
    await this.#outbox.updateOne({ _id: id, done: false }, { $set: { notBefore, leaseUntil: 0 } });
  }
}
