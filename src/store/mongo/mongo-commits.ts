// All-or-nothing commits on MongoDB without multi-document transactions (FerretDB 1.x has none).
//
// A commit T first inserts a commit record {state: 'pending'}, then writes its documents marked
// `tx: T` (new versions, log entries, outbox messages) and marks the versions they replace with
// `sup: T`. Flipping the record to 'committed' (one single-document update) is the commit
// point. Readers apply one rule: a document is visible when its `tx` is committed (or absent)
// and its `sup` is not committed. So a reader sees every document of T or none of them, even
// while T is being finalised (markers removed) or after a crash left it half-written.
// A pending commit past its deadline is aborted by whoever meets it (reader, writer, sweep);
// the pending → aborted and pending → committed flips are conditional, so exactly one wins.
import type { Collection, Db, Document } from 'mongodb';

/** Every collection of this store keys its documents by string ids. */
export type StringIdDoc = Document & { _id: string };

export type CommitState = 'pending' | 'committed' | 'aborted';

interface CommitRecord {
  _id: string;
  state: 'pending' | 'committed' | 'aborted' | 'done';
  at: number;
  expires: number;
  blobs: string[];
  cleaned?: boolean;
}

/** How long a commit may take before others may abort it (default). */
export const COMMIT_DEADLINE_MS = 30_000;
/** How long finished commit records are kept, so late readers can still tell their outcome. */
const RECORD_RETENTION_MS = 3600_000;

export class CommitLedger {
  readonly #records: Collection<CommitRecord>;
  readonly #marked: Collection<StringIdDoc>[];
  readonly #versions: Collection<StringIdDoc>;
  readonly #blobFiles: Collection<StringIdDoc>;
  /** Final outcomes never change: cache them. */
  readonly #final = new Map<string, 'committed' | 'aborted'>();

  readonly #deadlineMs: number;

  constructor(db: Db, versions: Collection<StringIdDoc>, others: Collection<StringIdDoc>[], blobFiles: Collection<StringIdDoc>, deadlineMs = COMMIT_DEADLINE_MS) {
    this.#deadlineMs = deadlineMs;
    this.#records = db.collection<CommitRecord>('commits');
    this.#versions = versions;
    this.#marked = [versions, ...others];
    this.#blobFiles = blobFiles;
  }

  async createIndexes(): Promise<void> {
    await this.#records.createIndex({ state: 1, expires: 1 });
  }

  async begin(id: string, blobs: string[]): Promise<void> {
    const now = Date.now();
    await this.#records.insertOne({ _id: id, state: 'pending', at: now, expires: now + this.#deadlineMs, blobs });
  }

  /** The commit point. False when the commit was aborted meanwhile (it ran past its deadline). */
  async markCommitted(id: string): Promise<boolean> {
    const r = await this.#records.updateOne({ _id: id, state: 'pending' }, { $set: { state: 'committed' } });
    return r.modifiedCount === 1;
  }

  /** Removes the markers of a committed commit; idempotent. */
  async finalize(id: string): Promise<void> {
    const record = await this.#records.findOne({ _id: id });
    await this.#versions.updateMany({ sup: id }, { $set: { cur: false }, $unset: { sup: '', k: '', lo: '', hi: '', sk: '' } });
    for (const c of this.#marked) await c.updateMany({ tx: id }, { $unset: { tx: '' } });
    if (record?.blobs.length) await this.#blobFiles.updateMany({ _id: { $in: record.blobs } }, { $set: { 'metadata.state': 'live' } });
    await this.#records.updateOne({ _id: id, state: 'committed' }, { $set: { state: 'done', at: Date.now() } });
    this.#remember(id, 'committed');
  }

  /** Aborts a pending commit (or finishes a committed one) and removes what it wrote. */
  async resolve(id: string): Promise<void> {
    await this.#records.updateOne({ _id: id, state: 'pending' }, { $set: { state: 'aborted' } });
    const record = await this.#records.findOne({ _id: id });
    if (record?.state === 'committed') return this.finalize(id);
    if (record?.state !== 'aborted' || record.cleaned) return;
    this.#remember(id, 'aborted');
    for (const c of this.#marked) await c.deleteMany({ tx: id });
    await this.#versions.updateMany({ sup: id }, { $unset: { sup: '' } });
    await this.#records.updateOne({ _id: id }, { $set: { cleaned: true, at: Date.now() } });
  }

  /** Outcome of each commit id; pending ones past their deadline are aborted on the way. */
  async states(ids: Iterable<string>): Promise<Map<string, CommitState>> {
    const out = new Map<string, CommitState>();
    const unknown: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.#final.get(id);
      if (known) out.set(id, known);
      else unknown.push(id);
    }
    if (unknown.length === 0) return out;
    const records = await this.#records.find({ _id: { $in: unknown } }).toArray();
    const byId = new Map(records.map((r) => [r._id, r]));
    const now = Date.now();
    for (const id of unknown) {
      const r = byId.get(id);
      // No record: finished and forgotten long ago. Aborted commits delete their documents
      // before their record goes, so a document still marked with it was committed.
      let state: CommitState = !r || r.state === 'committed' || r.state === 'done' ? 'committed' : r.state;
      if (state === 'pending' && r && r.expires < now) {
        await this.resolve(id);
        const after = await this.#records.findOne({ _id: id });
        state = after?.state === 'committed' || after?.state === 'done' ? 'committed' : 'aborted';
      }
      if (state !== 'pending') this.#remember(id, state);
      out.set(id, state);
    }
    return out;
  }

  #remember(id: string, state: 'committed' | 'aborted'): void {
    if (this.#final.size > 10_000) this.#final.clear();
    this.#final.set(id, state);
  }

  /** Keeps only the documents a reader may see (see the rule at the top). */
  async visible<T extends Document>(docs: T[], options: { ignoreSuperseded?: boolean } = {}): Promise<T[]> {
    const ids: string[] = [];
    for (const d of docs) {
      if (d.tx) ids.push(d.tx);
      if (d.sup && !options.ignoreSuperseded) ids.push(d.sup);
    }
    if (ids.length === 0) return docs;
    const states = await this.states(ids);
    return docs.filter(
      (d) => (!d.tx || states.get(d.tx) === 'committed') && (options.ignoreSuperseded || !d.sup || states.get(d.sup) !== 'committed'),
    );
  }

  /** Start-up and periodic repair: finish committed commits, abort expired ones, forget old records. */
  async sweep(): Promise<number> {
    const now = Date.now();
    const open = await this.#records
      .find({ $or: [{ state: 'committed' }, { state: 'pending', expires: { $lt: now } }, { state: 'aborted', cleaned: { $ne: true } }] })
      .toArray();
    for (const r of open) await this.resolve(r._id);
    await this.#records.deleteMany({ state: { $in: ['done', 'aborted'] }, at: { $lt: now - RECORD_RETENTION_MS } });
    return open.length;
  }
}
