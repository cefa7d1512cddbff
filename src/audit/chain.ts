// The hashes of the audit trail: canonical JSON, the hash of one audit entry, the hash of a
// seal, and the shapes of both as stored in the log. Pure.
//
// Why seals rather than a `prev` in each entry: an audit entry is written in the same commit as
// the change it records, by any request of any server instance, and the store gives its `seq`
// only at commit time. Chaining at write time would need every commit that audits anything to
// read the chain head and to fail when another commit moved it: one global lock on all writes,
// across instances. Instead each entry carries the hash of its own canonical content, and a
// seal (a log entry of its own stream, written by one sealer at a time) chains, in seq order,
// the (seq, hash) pairs of the entries written since the previous seal with that seal's hash.
// Verification recomputes both, so a modified, deleted, inserted or reordered entry, and a
// modified, deleted or reordered seal, is found. Entries after the last seal are checked only
// against their own hash until the next seal (every minute or so) covers them.
import { createHash } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';

export const AUDIT_STREAM = 'audit';
export const SEAL_STREAM = 'audit_seal';
export const GENESIS = '0'.repeat(64);
/** The AuditEvent resource that holds the chain head: updating it with ifVersion serialises sealers. */
export const SEAL_HEAD_ID = 'audit-seal-head';

/** One audit entry in the `audit` log stream. */
export interface AuditEntry {
  v: 1;
  event: AuditEvent;
  /** SHA-256 (hex) of the canonical JSON of the entry without `hash`. */
  hash: string;
}

/** One seal in the `audit_seal` log stream. */
export interface AuditSeal {
  v: 1;
  /** 1, 2, 3…: the seal's place in the chain. */
  n: number;
  /** Hash of the previous seal (GENESIS for the first). */
  prev: string;
  /** The seal covers the audit entries with fromSeq < seq ≤ toSeq. */
  fromSeq: number;
  toSeq: number;
  /** The seqs of the entries in that range, ascending (MongoDB may leave gaps), and their hashes. */
  seqs: number[];
  hashes: string[];
  sealedAt: string;
  /** SHA-256 (hex) of prev followed by the canonical JSON of the seal without `hash`. */
  hash: string;
}

/**
 * Canonical JSON (after RFC 8785): object keys sorted by UTF-16 code units, no whitespace,
 * undefined members left out, numbers as JavaScript writes them. The same value gives the same
 * text whatever the key order a database hands back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON: cannot encode a ${typeof value}`);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function without<T extends object>(value: T, key: keyof T): Omit<T, typeof key> {
  const copy = { ...value };
  delete copy[key];
  return copy;
}

/** The hash an entry should carry (over everything in it but `hash`). */
export function entryHash(entry: Record<string, unknown>): string {
  return sha256(canonicalJson(without(entry, 'hash')));
}

export function auditEntry(event: AuditEvent): AuditEntry {
  const body = { v: 1 as const, event };
  return { ...body, hash: entryHash(body) };
}

export function sealHash(seal: Omit<AuditSeal, 'hash'> | AuditSeal): string {
  return sha256(seal.prev + canonicalJson(without(seal as AuditSeal, 'hash')));
}

export function makeSeal(body: Omit<AuditSeal, 'hash' | 'v'>): AuditSeal {
  const seal = { v: 1 as const, ...body };
  return { ...seal, hash: sealHash(seal) };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Whether a stored seal has the expected shape (before its hash is checked). */
export function isSeal(value: Record<string, unknown>): value is AuditSeal & Record<string, unknown> {
  const s = value as Partial<AuditSeal>;
  return (
    s.v === 1 &&
    Number.isInteger(s.n) &&
    typeof s.prev === 'string' &&
    Number.isInteger(s.fromSeq) &&
    Number.isInteger(s.toSeq) &&
    Array.isArray(s.seqs) &&
    Array.isArray(s.hashes) &&
    s.seqs.length === s.hashes.length &&
    s.seqs.every((q, i) => Number.isInteger(q) && q > (i === 0 ? (s.fromSeq as number) : (s.seqs as number[])[i - 1]) && q <= (s.toSeq as number)) &&
    s.hashes.every((h) => typeof h === 'string' && HEX64.test(h)) &&
    typeof s.sealedAt === 'string' &&
    typeof s.hash === 'string'
  );
}

/** Whether a stored audit entry has the expected shape (before its hash is checked). */
export function isAuditEntry(value: Record<string, unknown>): value is AuditEntry & Record<string, unknown> {
  const e = value as Partial<AuditEntry>;
  return e.v === 1 && typeof e.hash === 'string' && typeof e.event === 'object' && e.event !== null && e.event.resourceType === 'AuditEvent' && typeof e.event.id === 'string';
}
