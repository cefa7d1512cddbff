// The embedded store's tables. One row per version in `versions`; `current` points at the
// latest version of each resource and carries its sort keys; `search_keys` holds the index of
// current versions only (field k: exact keys, lo/hi: range bounds, all as `param=key`).
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS versions (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  vid INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  body TEXT,
  PRIMARY KEY (type, id, vid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_time ON versions (ts, type, id, vid);
CREATE INDEX IF NOT EXISTS versions_by_type_time ON versions (type, ts, id, vid);

CREATE TABLE IF NOT EXISTS current (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  vid INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  sort TEXT NOT NULL,
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS current_by_time ON current (type, ts);

CREATE TABLE IF NOT EXISTS search_keys (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  field TEXT NOT NULL,
  key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_keys_lookup ON search_keys (field, key, type, id);
-- A resource's own keys: rewriting them on update, and the EXISTS probes of range criteria.
CREATE INDEX IF NOT EXISTS search_keys_by_owner ON search_keys (type, id, field, key);
DROP INDEX IF EXISTS search_keys_owner;

CREATE TABLE IF NOT EXISTS log (
  stream TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at TEXT NOT NULL,
  entry TEXT NOT NULL,
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (done, not_before);

CREATE TABLE IF NOT EXISTS blobs (
  id TEXT PRIMARY KEY,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  sha1 TEXT NOT NULL DEFAULT '',
  sha256 TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blob_chunks (
  blob_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (blob_id, n)
) WITHOUT ROWID;
`;
