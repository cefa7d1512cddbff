// The Store port: what FHIR, XDS, access, audit and notify need from persistence.
// Both adapters (sqlite/, mongo/) implement it and pass the same contract suite
// (test/store/contract.test.ts). Nothing here knows about HTTP, XDS or FHIR search syntax.
import type { Readable } from 'node:stream';

/** A resource as stored: plain FHIR JSON (the store fills meta.versionId / meta.lastUpdated). */
export type ResourceBody = { resourceType: string; id?: string; meta?: Record<string, unknown>; [k: string]: unknown };

/** One version of one resource. `resource` is absent for a delete marker. */
export interface StoredVersion {
  type: string;
  id: string;
  versionId: number;
  /** ISO instant with milliseconds, the same value as resource.meta.lastUpdated. */
  lastUpdated: string;
  deleted: boolean;
  resource?: ResourceBody;
}

/**
 * A search-index value extracted at write time (the FHIR layer evaluates each SearchParameter).
 * `value`: an exact-match key (tokens, references, uris, normalised strings), encoded by
 * `indexKey` in ./index-keys.ts so every adapter compares the same strings.
 * `low`/`high`: a numeric range (dates as epoch milliseconds, numbers, quantities).
 */
export interface IndexValue {
  param: string;
  value?: string;
  low?: number;
  high?: number;
}

export interface ResourceWrite {
  op: 'create' | 'update' | 'delete';
  type: string;
  id: string;
  /** Optimistic concurrency: the version the writer read. 0 means "must not exist yet". */
  ifVersion?: number;
  /** For create/update; its meta.versionId/lastUpdated are set by the store. */
  resource?: ResourceBody;
  /** Search index of this version (ignored for delete). */
  index?: IndexValue[];
  /** Sort keys, one order-preserving string per sortable parameter (see ./index-keys.ts). */
  sortKeys?: Record<string, string>;
}

export interface LogAppend {
  stream: string;
  entry: Record<string, unknown>;
}

export interface OutboxAppend {
  topic: string;
  payload: Record<string, unknown>;
  /** Epoch ms before which the message is not delivered. Default: now. */
  notBefore?: number;
}

/** Everything one commit makes visible at once, or not at all. */
export interface Changeset {
  writes: ResourceWrite[];
  log?: LogAppend[];
  outbox?: OutboxAppend[];
  /** Staged blobs (from putBlob) this commit makes permanent. */
  blobs?: string[];
}

export interface CommitResult {
  /** The new versions, in the order of `writes` (a delete of a missing resource gives undefined). */
  versions: (StoredVersion | undefined)[];
  lastUpdated: string;
}

// ---- search ---------------------------------------------------------------------------------

/** A query tree, already parsed and normalised by the FHIR layer (and constrained by access). */
export type Condition =
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition }
  /** The parameter has one of these exact keys. */
  | { param: string; in: string[] }
  /** The parameter has a key starting with this prefix. */
  | { param: string; prefix: string }
  /** The parameter has a key containing this text. */
  | { param: string; contains: string }
  /** The parameter has a range whose low or high bound compares so with `value`. */
  | { param: string; bound: 'low' | 'high'; cmp: 'gt' | 'ge' | 'lt' | 'le'; value: number }
  /** The parameter has no value at all (missing: true) or at least one (missing: false). */
  | { param: string; missing: boolean }
  | { ids: string[] }
  | { lastUpdated: { cmp: 'gt' | 'ge' | 'lt' | 'le'; value: number } };

export interface SortKey {
  /** A sort-key name given in ResourceWrite.sortKeys, or '_lastUpdated' / '_id'. */
  key: string;
  descending?: boolean;
}

export interface SearchQuery {
  types: string[];
  where?: Condition;
  sort?: SortKey[];
  /** Page size. */
  count: number;
  /** Opaque keyset cursor from a previous page's `next`. */
  cursor?: string;
  /** Also count all matches (costly; only for _total=accurate). */
  total?: boolean;
}

export interface SearchPage {
  entries: StoredVersion[];
  /** Cursor for the following page, absent on the last one. */
  next?: string;
  total?: number;
}

export interface HistoryQuery {
  type?: string;
  id?: string;
  /** Only versions written at or after this epoch ms. */
  since?: number;
  count: number;
  cursor?: string;
}

// ---- blobs, log, outbox ---------------------------------------------------------------------

export interface BlobInfo {
  id: string;
  contentType: string;
  size: number;
  /** Hex digests, computed while streaming in. */
  sha1: string;
  sha256: string;
}

export interface PutBlobOptions {
  contentType: string;
  /** Refuse (BlobTooLargeError) once more bytes than this arrive. */
  maxBytes?: number;
}

export interface LogEntry {
  stream: string;
  seq: number;
  at: string;
  entry: Record<string, unknown>;
}

export interface OutboxMessage {
  id: string;
  topic: string;
  payload: Record<string, unknown>;
  attempts: number;
}

/** What a hard delete removes (the dossier purge): resources with all their versions, and blobs. */
export interface PurgeTarget {
  resources: { type: string; id: string }[];
  blobs: string[];
}

/** A current version's search index, recomputed (see Store.reindex). */
export interface ReindexEntry {
  type: string;
  id: string;
  /** The version the index was computed from: a resource changed since is left alone. */
  versionId: number;
  index: IndexValue[];
  sortKeys?: Record<string, string>;
}

export interface Store {
  readonly kind: 'sqlite' | 'mongo';
  /** Creates tables/indexes and repairs what a crash left (rolls back unfinished commits). */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Cheap round-trip to the database, for /ready. */
  ping(): Promise<boolean>;

  commit(changes: Changeset): Promise<CommitResult>;
  /** Current version (possibly a delete marker), or undefined if never created. */
  read(type: string, id: string): Promise<StoredVersion | undefined>;
  readVersion(type: string, id: string, versionId: number): Promise<StoredVersion | undefined>;
  /** Newest first. */
  history(query: HistoryQuery): Promise<{ entries: StoredVersion[]; next?: string }>;
  search(query: SearchQuery): Promise<SearchPage>;

  putBlob(source: Readable | AsyncIterable<Uint8Array>, options: PutBlobOptions): Promise<BlobInfo>;
  blobInfo(id: string): Promise<BlobInfo | undefined>;
  /** Streams a blob, or a byte range of it (inclusive `end`, as in HTTP Range). */
  readBlob(id: string, range?: { start: number; end: number }): Promise<Readable | undefined>;

  readLog(stream: string, options: { afterSeq?: number; limit: number }): Promise<LogEntry[]>;

  /** Leases up to `limit` due messages for `leaseMs`; a leased message is not handed out again until then. */
  claimOutbox(options: { limit: number; leaseMs: number; now?: number }): Promise<OutboxMessage[]>;
  completeOutbox(id: string): Promise<void>;
  /** Gives a leased message back for a later attempt. */
  retryOutbox(id: string, notBefore: number): Promise<void>;

  /**
   * Hard delete, for the dossier purge only: every version, index key and current pointer of
   * these resources, and each blob with its chunks, are removed for good (no delete marker,
   * no history). Idempotent: what is already gone is skipped, so a purge cut short (a crash)
   * is finished by running it again. Log and outbox entries are not touched.
   */
  purge(target: PurgeTarget): Promise<void>;

  /**
   * Replaces the search index and sort keys of current versions, in place: no new version, no
   * change to the resource (after the search parameters or the matrix's class tables changed).
   * An entry whose resource has moved past `versionId`, or is deleted, is skipped: its newer
   * version was indexed when written. Returns how many were reindexed.
   */
  reindex(entries: ReindexEntry[]): Promise<number>;
}
