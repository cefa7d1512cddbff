// The embedded store on Node's built-in node:sqlite: one file in the data folder, WAL mode,
// every commit one SQLite savepoint inside a group transaction (group-commit.ts), so a killed
// process leaves either all of a commit or nothing, and one fsync serves many commits.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { chunkAndDigest, CHUNK_SIZE, type ChunkDigest } from '../blob-chunks.ts';
import { checkChangeset, checkTypeAndId, nextTimestamp, stampResource, storedKeys, storedSortKeys, versionOf } from '../changeset.ts';
import { StoreError } from '../errors.ts';
import { parseJsonText } from '../json-text.ts';
import { decodeCursor, encodeCursor, sortColumns } from '../keyset.ts';
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
import { SCHEMA } from './schema.ts';
import { compileKeyset, compileWhere, sortExpression, type Sql } from './sqlite-query.ts';
import { GroupCommit } from './group-commit.ts';

type Row = Record<string, SQLInputValue>;

/** Distinct SQL texts kept prepared; searches vary in shape, so the cache is bounded. */
const STATEMENT_CACHE = 500;
/** Chunks of an upload written per transaction (about 2 MB): few commits, bounded memory. */
const BLOB_CHUNKS_PER_WRITE = 8;

export interface SqliteStoreOptions {
  dataDir: string;
  /** File name inside dataDir (default carnet.db). */
  fileName?: string;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #path: string;
  #db: DatabaseSync | undefined;
  readonly #statements = new Map<string, StatementSync>();
  #writer: GroupCommit | undefined;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.#path = join(options.dataDir, options.fileName ?? 'carnet.db');
  }

  get #conn(): DatabaseSync {
    if (!this.#db) throw new StoreError('unavailable', 'store is not open');
    return this.#db;
  }

  async open(): Promise<void> {
    const db = new DatabaseSync(this.#path);
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: an acknowledged write survives a power cut, not only a process crash.
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec(SCHEMA);
    this.#db = db;
    this.#writer = new GroupCommit(db);
    // SQLite rolls back an interrupted transaction by itself; what remains are staged blobs
    // that no commit took (an upload cut off, or a crash between upload and commit).
    await this.#dropStagedBlobs(Date.now() - 24 * 3600_000);
  }

  async close(): Promise<void> {
    // Commits already queued are written, not dropped.
    this.#writer?.flush();
    this.#writer = undefined;
    this.#statements.clear();
    this.#db?.close();
    this.#db = undefined;
  }

  /** A prepared statement, prepared once per SQL text. */
  #stmt(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#conn.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in a durable transaction shared with the other writes of this moment (see group-commit.ts). */
  #write<T>(work: () => T): Promise<T> {
    if (!this.#writer) return Promise.reject(new StoreError('unavailable', 'store is not open'));
    return this.#writer.run(work);
  }

  async ping(): Promise<boolean> {
    try {
      this.#stmt('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  async commit(changes: Changeset): Promise<CommitResult> {
    checkChangeset(changes);
    const ts = nextTimestamp(changes.writes.length > 0);
    const lastUpdated = new Date(ts).toISOString();
    const versions = await this.#write(() => {
      const readCurrent = this.#stmt('SELECT vid, deleted FROM current WHERE type = ? AND id = ?');
      const insertVersion = this.#stmt('INSERT INTO versions (type, id, vid, ts, body) VALUES (?, ?, ?, ?, ?)');
      const upsertCurrent = this.#stmt(
        `INSERT INTO current (type, id, vid, ts, deleted, sort) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (type, id) DO UPDATE SET vid = excluded.vid, ts = excluded.ts, deleted = excluded.deleted, sort = excluded.sort`,
      );
      const dropKeys = this.#stmt('DELETE FROM search_keys WHERE type = ? AND id = ?');
      const insertKey = this.#stmt('INSERT INTO search_keys (type, id, field, key) VALUES (?, ?, ?, ?)');
      const out: (StoredVersion | undefined)[] = [];
      for (const w of changes.writes) {
        const cur = readCurrent.get(w.type, w.id) as { vid: number; deleted: number } | undefined;
        const curVid = cur?.vid ?? 0;
        const live = cur !== undefined && cur.deleted === 0;
        if (w.ifVersion !== undefined && w.ifVersion !== (live ? curVid : 0)) {
          throw new StoreError('version-conflict', `${w.type}/${w.id} is at version ${live ? curVid : 0}, not ${w.ifVersion}`);
        }
        if (w.op === 'create' && live) throw new StoreError('already-exists', `${w.type}/${w.id} already exists`);
        if (w.op === 'delete' && !live) {
          out.push(undefined);
          continue;
        }
        const vid = curVid + 1;
        const body = w.op === 'delete' ? undefined : stampResource(w.resource as ResourceBody, w.id, vid, lastUpdated);
        insertVersion.run(w.type, w.id, vid, ts, body ? JSON.stringify(body) : null);
        const sort = w.op === 'delete' ? {} : storedSortKeys(w.sortKeys, ts);
        upsertCurrent.run(w.type, w.id, vid, ts, body ? 0 : 1, JSON.stringify(sort));
        dropKeys.run(w.type, w.id);
        if (body) {
          const keys = storedKeys(w.index);
          for (const field of ['k', 'lo', 'hi'] as const) for (const key of keys[field]) insertKey.run(w.type, w.id, field, key);
        }
        out.push(versionOf(w.type, w.id, vid, ts, body));
      }
      if (changes.log?.length) {
        const nextSeq = this.#stmt('SELECT coalesce(max(seq), 0) + 1 AS seq FROM log WHERE stream = ?');
        const insertLog = this.#stmt('INSERT INTO log (stream, seq, at, entry) VALUES (?, ?, ?, ?)');
        for (const l of changes.log) {
          const { seq } = nextSeq.get(l.stream) as { seq: number };
          insertLog.run(l.stream, seq, lastUpdated, JSON.stringify(l.entry));
        }
      }
      if (changes.outbox?.length) {
        // Due at the wall clock's now, not at ts: under a burst of commits ts runs ahead of the
        // clock (it must increase by 1 ms per commit), and the message would wait for it.
        const insertOutbox = this.#stmt('INSERT INTO outbox (id, topic, payload, not_before) VALUES (?, ?, ?, ?)');
        for (const m of changes.outbox) insertOutbox.run(randomUUID(), m.topic, JSON.stringify(m.payload), m.notBefore ?? Date.now());
      }
      if (changes.blobs?.length) {
        const keep = this.#stmt(`UPDATE blobs SET state = 'live' WHERE id = ?`);
        for (const id of changes.blobs) {
          if (Number(keep.run(id).changes) !== 1) throw new StoreError('bad-request', 'unknown blob in commit');
        }
      }
      return out;
    });
    return { versions, lastUpdated };
  }

  async reindex(entries: ReindexEntry[]): Promise<number> {
    for (const e of entries) checkTypeAndId(e.type, e.id);
    return this.#write(() => {
      const readCurrent = this.#stmt('SELECT vid, ts, deleted FROM current WHERE type = ? AND id = ?');
      const setSort = this.#stmt('UPDATE current SET sort = ? WHERE type = ? AND id = ?');
      const dropKeys = this.#stmt('DELETE FROM search_keys WHERE type = ? AND id = ?');
      const insertKey = this.#stmt('INSERT INTO search_keys (type, id, field, key) VALUES (?, ?, ?, ?)');
      let done = 0;
      for (const e of entries) {
        const cur = readCurrent.get(e.type, e.id) as { vid: number; ts: number; deleted: number } | undefined;
        if (!cur || cur.deleted !== 0 || cur.vid !== e.versionId) continue;
        setSort.run(JSON.stringify(storedSortKeys(e.sortKeys, cur.ts)), e.type, e.id);
        dropKeys.run(e.type, e.id);
        const keys = storedKeys(e.index);
        for (const field of ['k', 'lo', 'hi'] as const) for (const key of keys[field]) insertKey.run(e.type, e.id, field, key);
        done++;
      }
      return done;
    });
  }

  #version(row: Row | undefined): StoredVersion | undefined {
    if (!row) return undefined;
    const body = row.body === null ? undefined : (parseJsonText(String(row.body)) as ResourceBody);
    return versionOf(String(row.type), String(row.id), Number(row.vid), Number(row.ts), body);
  }

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    checkTypeAndId(type, id);
    const row = this.#stmt(
      `SELECT v.type, v.id, v.vid, v.ts, v.body FROM current c
       JOIN versions v ON v.type = c.type AND v.id = c.id AND v.vid = c.vid WHERE c.type = ? AND c.id = ?`,
    ).get(type, id) as Row | undefined;
    return this.#version(row);
  }

  async readVersion(type: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    checkTypeAndId(type, id);
    const row = this.#stmt('SELECT type, id, vid, ts, body FROM versions WHERE type = ? AND id = ? AND vid = ?').get(type, id, versionId) as Row | undefined;
    return this.#version(row);
  }

  async history(query: HistoryQuery): Promise<{ entries: StoredVersion[]; next?: string }> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.type !== undefined) {
      if (query.id !== undefined) checkTypeAndId(query.type, query.id);
      where.push('type = ?');
      params.push(query.type);
    }
    if (query.id !== undefined) {
      where.push('id = ?');
      params.push(query.id);
    }
    if (query.since !== undefined) {
      where.push('ts >= ?');
      params.push(query.since);
    }
    if (query.cursor) {
      const [ts, type, id, vid] = decodeCursor(query.cursor, 4);
      where.push('(ts, type, id, vid) < (?, ?, ?, ?)');
      params.push(Number(ts), type, id, Number(vid));
    }
    const sql = `SELECT type, id, vid, ts, body FROM versions ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY ts DESC, type DESC, id DESC, vid DESC LIMIT ?`;
    const rows = this.#stmt(sql).all(...params, query.count + 1) as Row[];
    const page = rows.slice(0, query.count);
    const last = page.at(-1);
    return {
      entries: page.map((r) => this.#version(r) as StoredVersion),
      next: rows.length > query.count && last ? encodeCursor([String(last.ts), String(last.type), String(last.id), String(last.vid)]) : undefined,
    };
  }

  /** Capped candidate counts, for compileWhere to drive a search from its most selective criterion. */
  readonly #estimate = (probe: Sql): number => Number((this.#stmt(probe.sql).get(...probe.params) as { n: number }).n);

  #searchSql(query: SearchQuery): { sql: string; params: SQLInputValue[]; filter: Sql; columns: ReturnType<typeof sortColumns> } {
    const columns = sortColumns(query.sort);
    const filter = compileWhere(query.types, query.where, this.#estimate);
    const sortExprs = columns.map((c) => sortExpression(c.key));
    let sql = `SELECT c.type, c.id, c.vid, c.ts, v.body, ${sortExprs.map((e, i) => `${e} AS s${i}`).join(', ')}
      FROM current c JOIN versions v ON v.type = c.type AND v.id = c.id AND v.vid = c.vid
      WHERE ${filter.sql}`;
    const params = [...filter.params];
    if (query.cursor) {
      const keyset = compileKeyset(columns, decodeCursor(query.cursor, columns.length));
      sql += ` AND ${keyset.sql}`;
      params.push(...keyset.params);
    }
    sql += ` ORDER BY ${columns.map((c, i) => `${sortExprs[i]} ${c.descending ? 'DESC' : 'ASC'}`).join(', ')} LIMIT ?`;
    params.push(query.count + 1);
    return { sql, params, filter, columns };
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    const { sql, params, filter, columns } = this.#searchSql(query);
    const rows = this.#stmt(sql).all(...params) as Row[];
    const page = rows.slice(0, query.count);
    const last = page.at(-1);
    const result: SearchPage = { entries: page.map((r) => this.#version(r) as StoredVersion) };
    if (rows.length > query.count && last) {
      result.next = encodeCursor(columns.map((_, i) => (last[`s${i}`] === null ? null : String(last[`s${i}`]))));
    }
    if (query.total) {
      const row = this.#stmt(`SELECT count(*) AS n FROM current c WHERE ${filter.sql}`).get(...filter.params) as { n: number };
      result.total = Number(row.n);
    }
    return result;
  }

  /** The SQL plan of a search (the page query), for tests that check indexes are used. */
  explainSearch(query: SearchQuery): string[] {
    const { sql, params } = this.#searchSql(query);
    const rows = this.#conn.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Row[];
    return rows.map((r) => String(r.detail));
  }

  async putBlob(source: Readable | AsyncIterable<Uint8Array>, options: PutBlobOptions): Promise<BlobInfo> {
    const id = randomUUID();
    const created = Date.now();
    let digest: ChunkDigest | undefined;
    let n = 0;
    let pending: Buffer[] = [];
    // Chunks are written a few at a time, each batch one transaction (the first also creates
    // the staged blob row, the last fills in size and digests): a 50 KB document is one
    // commit, a 50 MB one about 25, and at most one batch is held in memory.
    const writeBatch = (last: boolean): Promise<void> => {
      const chunks = pending;
      const base = n - chunks.length;
      pending = [];
      return this.#write(() => {
        if (base === 0) this.#stmt(`INSERT INTO blobs (id, content_type, state, created) VALUES (?, ?, 'staged', ?)`).run(id, options.contentType, created);
        const insertChunk = this.#stmt('INSERT INTO blob_chunks (blob_id, n, data) VALUES (?, ?, ?)');
        chunks.forEach((chunk, i) => insertChunk.run(id, base + i, chunk));
        if (last) {
          const d = digest as ChunkDigest;
          this.#stmt('UPDATE blobs SET size = ?, sha1 = ?, sha256 = ? WHERE id = ?').run(d.size, d.sha1, d.sha256, id);
        }
      });
    };
    try {
      for await (const chunk of chunkAndDigest(source, options.maxBytes, (d) => (digest = d))) {
        pending.push(chunk);
        n++;
        if (pending.length >= BLOB_CHUNKS_PER_WRITE) await writeBatch(false);
      }
      await writeBatch(true);
    } catch (error) {
      await this.#write(() => this.#dropBlob(id)).catch(() => undefined);
      throw error;
    }
    return { id, contentType: options.contentType, ...(digest as ChunkDigest) };
  }

  async blobInfo(id: string): Promise<BlobInfo | undefined> {
    const row = this.#stmt('SELECT id, content_type, size, sha1, sha256 FROM blobs WHERE id = ?').get(id) as Row | undefined;
    if (!row) return undefined;
    return { id: String(row.id), contentType: String(row.content_type), size: Number(row.size), sha1: String(row.sha1), sha256: String(row.sha256) };
  }

  async readBlob(id: string, range?: { start: number; end: number }): Promise<Readable | undefined> {
    const info = await this.blobInfo(id);
    if (!info) return undefined;
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? info.size - 1, info.size - 1);
    const readChunk = this.#stmt('SELECT data FROM blob_chunks WHERE blob_id = ? AND n = ?');
    async function* bytes(): AsyncGenerator<Buffer> {
      for (let n = Math.floor(start / CHUNK_SIZE); n * CHUNK_SIZE <= end; n++) {
        const row = readChunk.get(id, n) as { data: Uint8Array } | undefined;
        if (!row) throw new StoreError('unavailable', 'blob chunk missing');
        const base = n * CHUNK_SIZE;
        const data = Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength);
        yield data.subarray(Math.max(0, start - base), Math.min(data.length, end - base + 1));
      }
    }
    // Not object mode: the stream buffers about one chunk ahead, not sixteen.
    return Readable.from(end >= start ? bytes() : [], { objectMode: false, highWaterMark: CHUNK_SIZE });
  }

  /** Inside a write: removes a blob and its chunks. */
  #dropBlob(id: string): void {
    this.#stmt('DELETE FROM blob_chunks WHERE blob_id = ?').run(id);
    this.#stmt('DELETE FROM blobs WHERE id = ?').run(id);
  }

  #dropStagedBlobs(olderThan: number): Promise<void> {
    const rows = this.#stmt(`SELECT id FROM blobs WHERE state = 'staged' AND created < ?`).all(olderThan) as Row[];
    return this.#write(() => {
      for (const r of rows) this.#dropBlob(String(r.id));
    });
  }

  async purge(target: PurgeTarget): Promise<void> {
    for (const r of target.resources) checkTypeAndId(r.type, r.id);
    // One transaction: all of it is gone, or (after a crash) none of it, and a re-run finishes.
    await this.#write(() => {
      for (const table of ['versions', 'current', 'search_keys']) {
        const drop = this.#stmt(`DELETE FROM ${table} WHERE type = ? AND id = ?`);
        for (const r of target.resources) drop.run(r.type, r.id);
      }
      for (const id of target.blobs) this.#dropBlob(id);
    });
  }

  async readLog(stream: string, options: { afterSeq?: number; limit: number }): Promise<LogEntry[]> {
    const rows = this.#stmt('SELECT stream, seq, at, entry FROM log WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?').all(stream, options.afterSeq ?? 0, options.limit) as Row[];
    return rows.map((r) => ({ stream: String(r.stream), seq: Number(r.seq), at: String(r.at), entry: JSON.parse(String(r.entry)) }));
  }

  async claimOutbox(options: { limit: number; leaseMs: number; now?: number }): Promise<OutboxMessage[]> {
    const now = options.now ?? Date.now();
    const rows = await this.#write(
      () =>
        this.#stmt(
          `UPDATE outbox SET lease_until = ?, attempts = attempts + 1
           WHERE id IN (SELECT id FROM outbox WHERE done = 0 AND not_before <= ? AND lease_until <= ? ORDER BY not_before LIMIT ?)
           RETURNING id, topic, payload, attempts`,
        ).all(now + options.leaseMs, now, now, options.limit) as Row[],
    );
    return rows.map((r) => ({ id: String(r.id), topic: String(r.topic), payload: JSON.parse(String(r.payload)), attempts: Number(r.attempts) }));
  }

  async completeOutbox(id: string): Promise<void> {
    await this.#write(() => this.#stmt('UPDATE outbox SET done = 1 WHERE id = ?').run(id));
  }

  async retryOutbox(id: string, notBefore: number): Promise<void> {
    await this.#write(() => this.#stmt('UPDATE outbox SET not_before = ?, lease_until = 0 WHERE id = ? AND done = 0').run(notBefore, id));
  }
}
