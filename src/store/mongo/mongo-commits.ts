// All-or-nothing commits on MongoDB without multi-document transactions (FerretDB 1.x has none).
//
// A commit T first inserts a commit record {state: 'pending'}, then writes its documents marked
// `tx: T` (new versions, log entries, outbox messages) and marks the versions they replace with
// `sup: T`. Flipping the record to 'committed' (one single-document update) is the commit
// point. Readers apply one rule: a document is visible when its `tx` is committed (or absent)
// and its `sup` is not committed. So a reader sees every document of T or none of them, even
// while T is being finalised (markers removed) or after a crash left it half-written.
// A pending commit past its deadline is aborted by whoever meets it (reader, writer, sweep).
// Committed or aborted is decided once, by the first insert of the commit's outcome document:
// a unique _id is atomic on every backend, where FerretDB 1.x does not run a conditional
// update (find, then write) atomically, so two flips could both "succeed" there.
import { MongoError, type Collection, type Db, type Document } from 'mongodb';

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
  readonly #outcomes: Collection<{ _id: string; outcome: 'committed' | 'aborted'; at: number }>;
  readonly #marked: Collection<StringIdDoc>[];
  readonly #versions: Collection<StringIdDoc>;
  readonly #blobFiles: Collection<StringIdDoc>;
  /** Final outcomes never change: cache them. */
  readonly #final = new Map<string, 'committed' | 'aborted'>();

  readonly #deadlineMs: number;

  constructor(db: Db, versions: Collection<StringIdDoc>, others: Collection<StringIdDoc>[], blobFiles: Collection<StringIdDoc>, deadlineMs = COMMIT_DEADLINE_MS) {
    this.#deadlineMs = deadlineMs;
    this.#records = db.collection<CommitRecord>('commits');
    this.#outcomes = db.collection('commit_outcomes');
    this.#versions = versions;
    this.#marked = [versions, ...others];
    this.#blobFiles = blobFiles;
  }

  async createIndexes(): Promise<void> {
    await this.#records.createIndex({ state: 1, expires: 1 });
    await this.#outcomes.createIndex({ at: 1 });
  }

  /** Decides a commit's outcome once: the first outcome inserted wins; later callers read it. */
  async #decide(id: string, outcome: 'committed' | 'aborted'): Promise<'committed' | 'aborted'> {
    try {
      await this.#outcomes.insertOne({ _id: id, outcome, at: Date.now() });
      return outcome;
    } catch (error) {
      if (!(error instanceof MongoError && error.code === 11000)) throw error;
      const decided = await this.#outcomes.findOne({ _id: id });
      if (!decided) throw error;
      return decided.outcome;
    }
  }

  async begin(id: string, blobs: string[]): Promise<void> {
    const now = Date.now();
    await this.#records.insertOne({ _id: id, state: 'pending', at: now, expires: now + this.#deadlineMs, blobs });
  }

  /** The commit point. False when the commit was aborted meanwhile (it ran past its deadline). */
  async markCommitted(id: string): Promise<boolean> {
    if ((await this.#decide(id, 'committed')) !== 'committed') return false;
    await this.#records.updateOne({ _id: id, state: 'pending' }, { $set: { state: 'committed' } });
    return true;
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
    if ((await this.#decide(id, 'aborted')) === 'committed') return this.finalize(id);
    this.#remember(id, 'aborted');
    const record = await this.#records.findOne({ _id: id });
    if (record?.cleaned) return;
    await this.#records.updateOne({ _id: id }, { $set: { state: 'aborted' } });
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
    const decided = new Map((await this.#outcomes.find({ _id: { $in: unknown } }).toArray()).map((o) => [o._id, o.outcome]));
    const records = await this.#records.find({ _id: { $in: unknown.filter((id) => !decided.has(id)) } }).toArray();
    const byId = new Map(records.map((r) => [r._id, r]));
    const now = Date.now();
    for (const id of unknown) {
      let state: CommitState | undefined = decided.get(id);
      if (!state) {
        const r = byId.get(id);
        // No outcome and no record: finished and forgotten long ago. Aborted commits delete their
        // documents before their records go, so a document still marked with it was committed.
        state = !r || r.state === 'committed' || r.state === 'done' ? 'committed' : r.state;
        if (state === 'pending' && r && r.expires < now) {
          await this.resolve(id);
          state = (await this.#outcomes.findOne({ _id: id }))?.outcome ?? 'aborted';
        }
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
    await this.#outcomes.deleteMany({ at: { $lt: now - RECORD_RETENTION_MS } });
    return open.length;
  }
}
