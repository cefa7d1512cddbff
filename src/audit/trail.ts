// The audit trail over the Store port. Each AuditEvent is written twice in the commit of the
// change (or refusal) it records:
//   - as an entry of the append-only log stream `audit`, carrying the hash of its own content:
//     the authoritative, tamper-evident record (chain.ts explains the seals that chain them);
//   - as an AuditEvent resource with its search index (patient, agent, date…), so the patient's
//     access history and the FHIR API search it through indexes instead of scanning the log.
// verify() checks the seals, the entries against their seals, and each resource against its
// log entry, so removing or altering the searchable copy is found as well.
import type { AuditEvent } from '@medplum/fhirtypes';
import { extractIndex, referenceKeys } from '../fhir/search/extract.ts';
import { searchRegistry } from '../fhir/search/registry.ts';
import { indexKey, isStoreError } from '../store/index.ts';
import type { Changeset, Condition, IndexValue, LogAppend, LogEntry, OutboxAppend, ResourceBody, ResourceWrite, Store } from '../store/index.ts';
import {
  AUDIT_STREAM,
  GENESIS,
  SEAL_HEAD_ID,
  SEAL_STREAM,
  auditEntry,
  canonicalJson,
  entryHash,
  isAuditEntry,
  isSeal,
  makeSeal,
  sealHash,
} from './chain.ts';
import type { AuditSeal } from './chain.ts';
import { ACTIVITY_TYPES, AGENT_TYPES, CARNET_ACTIVITY_SYSTEM, ENTITY, PS_IDNAT_SYSTEM, SOURCE_TYPE } from './codes.ts';
import { auditedDossierIndex } from './dossier-index.ts';
import { auditEvent } from './event.ts';
import type { AuditRecord } from './event.ts';

/** What a caller adds to its commit: `store.commit({ writes: [...mine, ...a.writes], log: a.log })`, or withAudit(). */
export interface AuditChanges {
  writes: ResourceWrite[];
  log: LogAppend[];
}

export interface AuditTrailOptions {
  /** source.site of the events (default 'carnet'). */
  site?: string;
  /** Index values the access gate adds to every write (AccessGate.indexOf), if it has any. */
  extraIndex?: (resource: ResourceBody) => IndexValue[];
  /**
   * Seal only entries committed at least this long ago. On MongoDB a commit takes its log seq
   * before it is decided, so a lower seq can still appear for up to one commit deadline after a
   * higher one was committed: give 2 × the store's commit deadline plus clock skew (default
   * 65 s on MongoDB, whose default deadline is 30 s; 0 on the embedded store, whose commits
   * are serial).
   */
  settleMs?: number;
  /** Most entries one seal covers (default 1000, about 70 kB). */
  sealSize?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

export interface AuditSearchOptions {
  /** Only events recorded at or after this instant. */
  from?: Date | string | number;
  /** Only events recorded before this instant. */
  to?: Date | string | number;
  /** Only events where this professional (RPPS number) acted. */
  professional?: string;
  /** Only these outcomes (default all). */
  outcome?: ('success' | 'refused' | 'error')[];
  cursor?: string;
  /** Page size (default 50). */
  count?: number;
}

export interface AuditSearchPage {
  /** Newest first. */
  events: AuditEvent[];
  next?: string;
}

export type AuditProblemKind =
  | 'entry-malformed'
  | 'entry-modified'
  | 'entry-missing'
  | 'entry-inserted'
  | 'entry-replaced'
  | 'seal-malformed'
  | 'seal-modified'
  | 'seal-chain-broken'
  | 'seal-head-mismatch'
  | 'resource-missing'
  | 'resource-modified';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The log stream and seq where the trail breaks, or the resource. */
  stream?: typeof AUDIT_STREAM | typeof SEAL_STREAM;
  seq?: number;
  resource?: string;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Audit entries read. */
  entries: number;
  /** Of which covered by a seal, and after the last seal (checked against their own hash only). */
  sealed: number;
  unsealed: number;
  seals: number;
  /** The last seal: record n and hash elsewhere to detect a rewrite of the whole trail later. */
  head?: { n: number; hash: string; toSeq: number };
  /** The first place where the trail is broken. */
  problem?: AuditProblem;
}

export interface VerifyOptions {
  /** Also check each AuditEvent resource against its log entry (default true). */
  resources?: boolean;
  /** Log entries read per round-trip (default 500). */
  pageSize?: number;
  /** Fails if the chain does not contain this seal (n and hash recorded from an earlier run). */
  anchor?: { n: number; hash: string };
}

/** Adds audit changes to a changeset. */
export function withAudit(changes: Changeset, ...audits: AuditChanges[]): Changeset {
  return {
    ...changes,
    writes: [...changes.writes, ...audits.flatMap((a) => a.writes)],
    log: [...(changes.log ?? []), ...audits.flatMap((a) => a.log)],
  };
}

interface Head {
  version: number;
  n: number;
  hash: string;
  toSeq: number;
}

function instant(value: Date | string | number, what: string): number {
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) throw new TypeError(`audit search: ${what} is not a date`);
  return ms;
}

function detail(event: AuditEvent, type: string): string | undefined {
  return event.entity?.[0]?.detail?.find((d) => d.type === type)?.valueString;
}

class Broken extends Error {
  readonly problem: AuditProblem;
  constructor(problem: AuditProblem) {
    super(problem.message);
    this.problem = problem;
  }
}

export class AuditTrail {
  readonly store: Store;
  readonly #site: string | undefined;
  readonly #extraIndex: ((resource: ResourceBody) => IndexValue[]) | undefined;
  readonly #settleMs: number;
  readonly #sealSize: number;
  readonly #now: () => number;

  constructor(store: Store, options: AuditTrailOptions = {}) {
    this.store = store;
    this.#site = options.site;
    this.#extraIndex = options.extraIndex;
    this.#settleMs = options.settleMs ?? (store.kind === 'mongo' ? 65_000 : 0);
    this.#sealSize = options.sealSize ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The AuditEvent for a record (pure; record() calls it). */
  event(record: AuditRecord): AuditEvent {
    return auditEvent(record, { site: this.#site });
  }

  #write(event: AuditEvent, op: 'create' | 'update', ifVersion: number): ResourceWrite {
    const resource = event as unknown as ResourceBody;
    const { index, sortKeys } = extractIndex(resource, searchRegistry());
    if (this.#extraIndex) index.push(...this.#extraIndex(resource));
    index.push(...auditedDossierIndex(resource));
    return { op, type: 'AuditEvent', id: event.id as string, ifVersion, resource, index, sortKeys };
  }

  /** The writes and log entry that record this event: put them in the commit of the change. */
  record(input: AuditRecord | AuditEvent): AuditChanges {
    const event = 'resourceType' in input ? input : this.event(input);
    if (event.resourceType !== 'AuditEvent' || !event.id) throw new TypeError('audit: an AuditEvent with an id is needed');
    if (event.id === SEAL_HEAD_ID) throw new TypeError('audit: reserved id');
    return { writes: [this.#write(event, 'create', 0)], log: [{ stream: AUDIT_STREAM, entry: auditEntry(event) as unknown as Record<string, unknown> }] };
  }

  /**
   * Records an event in a commit of its own (a read, a refused access: nothing else is written),
   * with what must go in the same commit (an access notification and its marker).
   */
  async recordAlone(input: AuditRecord | AuditEvent, extra: { writes?: ResourceWrite[]; outbox?: OutboxAppend[] } = {}): Promise<AuditEvent> {
    const changes = this.record(input);
    await this.store.commit({ writes: [...changes.writes, ...(extra.writes ?? [])], log: changes.log, ...(extra.outbox?.length ? { outbox: extra.outbox } : {}) });
    return changes.writes[0].resource as unknown as AuditEvent;
  }

  // ---- the patient's access history -----------------------------------------------------------

  /** A patient's dossier history, newest first, through the AuditEvent index (no log scan). */
  async search(patientId: string, options: AuditSearchOptions = {}): Promise<AuditSearchPage> {
    const and: Condition[] = [{ param: 'patient', in: [indexKey('ref', `Patient/${patientId}`)] }];
    if (options.from !== undefined) and.push({ param: 'date', bound: 'high', cmp: 'ge', value: instant(options.from, 'from') });
    if (options.to !== undefined) and.push({ param: 'date', bound: 'low', cmp: 'lt', value: instant(options.to, 'to') });
    if (options.professional !== undefined) and.push({ param: 'agent', in: professionalKeys(options.professional) });
    if (options.outcome?.length) {
      const codes = { success: '0', refused: '4', error: '8' } as const;
      and.push({ param: 'outcome', in: options.outcome.map((o) => indexKey('code', codes[o])) });
    }
    const page = await this.store.search({
      types: ['AuditEvent'],
      where: { and },
      sort: [{ key: 'date', descending: true }],
      count: Math.max(1, Math.min(options.count ?? 50, 1000)),
      cursor: options.cursor,
    });
    return { events: page.entries.map((v) => v.resource as unknown as AuditEvent), ...(page.next ? { next: page.next } : {}) };
  }

  /**
   * Whether this professional already accessed the patient's dossier successfully (within
   * `withinMs`, default ever): tells the first access, which the patient is notified of.
   */
  async hasAccessed(patientId: string, rpps: string, withinMs?: number): Promise<boolean> {
    const from = withinMs === undefined ? undefined : this.#now() - withinMs;
    const page = await this.search(patientId, { professional: rpps, outcome: ['success'], count: 1, ...(from !== undefined ? { from } : {}) });
    return page.events.length > 0;
  }

  /** Every audit entry in log order (an operator's export), from after `afterSeq`. */
  async *entries(options: { afterSeq?: number; pageSize?: number } = {}): AsyncGenerator<{ seq: number; at: string; event: AuditEvent }> {
    for await (const e of this.#read(AUDIT_STREAM, options.afterSeq ?? 0, options.pageSize ?? 500)) {
      if (isAuditEntry(e.entry)) yield { seq: e.seq, at: e.at, event: e.entry.event };
    }
  }

  async *#read(stream: string, afterSeq: number, pageSize: number): AsyncGenerator<LogEntry> {
    let after = afterSeq;
    for (;;) {
      const page = await this.store.readLog(stream, { afterSeq: after, limit: pageSize });
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1].seq;
      if (page.length < pageSize) return;
    }
  }

  // ---- seals ----------------------------------------------------------------------------------

  async #head(): Promise<Head> {
    const current = await this.store.read('AuditEvent', SEAL_HEAD_ID);
    if (!current || current.deleted || !current.resource) return { version: current?.versionId ?? 0, n: 0, hash: GENESIS, toSeq: 0 };
    const event = current.resource as unknown as AuditEvent;
    const n = Number(detail(event, 'n'));
    const toSeq = Number(detail(event, 'toSeq'));
    const hash = detail(event, 'hash');
    if (!Number.isInteger(n) || !Number.isInteger(toSeq) || !hash) throw new Error('audit: the seal head is malformed');
    return { version: current.versionId, n, hash, toSeq };
  }

  /** The chain head as a (read-only) AuditEvent: Carnet sealing its trail is an application activity. */
  #headEvent(seal: AuditSeal): AuditEvent {
    return {
      resourceType: 'AuditEvent',
      id: SEAL_HEAD_ID,
      type: { ...ACTIVITY_TYPES.activity.type },
      subtype: [{ system: CARNET_ACTIVITY_SYSTEM, code: 'audit-seal' }],
      action: 'E',
      recorded: seal.sealedAt,
      outcome: '0',
      agent: [{ type: { coding: [{ ...AGENT_TYPES.server }] }, who: { display: 'Carnet' }, requestor: true }],
      source: { site: this.#site ?? 'carnet', observer: { display: 'Carnet' }, type: [{ ...SOURCE_TYPE }] },
      entity: [
        {
          type: { ...ENTITY.systemObject },
          detail: [
            { type: 'n', valueString: String(seal.n) },
            { type: 'hash', valueString: seal.hash },
            { type: 'fromSeq', valueString: String(seal.fromSeq) },
            { type: 'toSeq', valueString: String(seal.toSeq) },
            { type: 'count', valueString: String(seal.seqs.length) },
          ],
        },
      ],
    };
  }

  /**
   * Seals the entries committed since the last seal (and at least settleMs ago). Sealers on
   * several instances may run at once: the head's ifVersion lets one win each round; the
   * others stop (`raced`) and leave the rest to the next round.
   */
  async seal(): Promise<{ seals: number; entries: number; raced: boolean }> {
    let seals = 0;
    let entries = 0;
    for (;;) {
      const head = await this.#head();
      const cutoff = this.#now() - this.#settleMs;
      const page = await this.store.readLog(AUDIT_STREAM, { afterSeq: head.toSeq, limit: this.#sealSize });
      const batch: LogEntry[] = [];
      for (const e of page) {
        if (Date.parse(e.at) > cutoff) break;
        batch.push(e);
      }
      if (batch.length === 0) return { seals, entries, raced: false };
      const seal = makeSeal({
        n: head.n + 1,
        prev: head.hash,
        fromSeq: head.toSeq,
        toSeq: batch[batch.length - 1].seq,
        seqs: batch.map((e) => e.seq),
        hashes: batch.map((e) => storedHash(e.entry)),
        sealedAt: new Date(this.#now()).toISOString(),
      });
      try {
        await this.store.commit({
          writes: [this.#write(this.#headEvent(seal), head.version === 0 ? 'create' : 'update', head.version)],
          log: [{ stream: SEAL_STREAM, entry: seal as unknown as Record<string, unknown> }],
        });
      } catch (error) {
        if (isStoreError(error) && (error.code === 'version-conflict' || error.code === 'already-exists')) return { seals, entries, raced: true };
        throw error;
      }
      seals++;
      entries += batch.length;
      if (batch.length < page.length || page.length < this.#sealSize) return { seals, entries, raced: false };
    }
  }

  // ---- verification ---------------------------------------------------------------------------

  /** Walks the seal chain, the entries against their seals, and the resources against the entries. */
  async verify(options: VerifyOptions = {}): Promise<AuditVerification> {
    const pageSize = options.pageSize ?? 500;
    const result: AuditVerification = { ok: true, entries: 0, sealed: 0, unsealed: 0, seals: 0 };
    try {
      // 1. The seal chain: each seal's own hash, its link to the previous one, its range.
      let prev = GENESIS;
      let toSeq = 0;
      let n = 0;
      let anchored = false;
      for await (const e of this.#read(SEAL_STREAM, 0, pageSize)) {
        const s = e.entry;
        const at = { stream: SEAL_STREAM, seq: e.seq } as const;
        if (!isSeal(s)) throw new Broken({ kind: 'seal-malformed', ...at, message: `seal at ${SEAL_STREAM} seq ${e.seq} is malformed` });
        if (sealHash(s) !== s.hash) throw new Broken({ kind: 'seal-modified', ...at, message: `seal ${s.n} (${SEAL_STREAM} seq ${e.seq}) does not match its hash` });
        if (s.n !== n + 1 || s.prev !== prev || s.fromSeq !== toSeq) {
          throw new Broken({ kind: 'seal-chain-broken', ...at, message: `seal ${s.n} (${SEAL_STREAM} seq ${e.seq}) does not follow seal ${n}: a seal was removed, replaced or reordered` });
        }
        if (options.anchor && s.n === options.anchor.n) {
          if (s.hash !== options.anchor.hash) throw new Broken({ kind: 'seal-chain-broken', ...at, message: `seal ${s.n} differs from the anchor: the trail was rewritten` });
          anchored = true;
        }
        prev = s.hash;
        toSeq = s.toSeq;
        n = s.n;
        result.seals++;
      }
      if (n > 0) result.head = { n, hash: prev, toSeq };
      if (options.anchor && !anchored) throw new Broken({ kind: 'seal-chain-broken', stream: SEAL_STREAM, message: `seal ${options.anchor.n} of the anchor is missing: the trail was truncated or rewritten` });
      const head = await this.#head().catch(() => undefined);
      if (!head || head.n !== n || head.hash !== prev || head.toSeq !== toSeq) {
        throw new Broken({ kind: 'seal-head-mismatch', stream: SEAL_STREAM, message: `the chain head (seal ${head?.n ?? '?'}) does not match the last seal in the log (seal ${n}): seals were removed` });
      }
      const lastSealed = toSeq;

      // 2. The entries, in seq order, against their own hash and the (seq, hash) pairs sealed.
      const expected = this.#sealedPairs(pageSize);
      let next = await expected.next();
      for await (const e of this.#read(AUDIT_STREAM, 0, pageSize)) {
        result.entries++;
        const at = { stream: AUDIT_STREAM, seq: e.seq } as const;
        if (!isAuditEntry(e.entry)) throw new Broken({ kind: 'entry-malformed', ...at, message: `audit entry at seq ${e.seq} is malformed` });
        const hash = entryHash(e.entry);
        if (hash !== e.entry.hash) throw new Broken({ kind: 'entry-modified', ...at, message: `audit entry at seq ${e.seq} does not match its hash: it was modified` });
        if (!next.done && next.value.seq < e.seq) {
          throw new Broken({ kind: 'entry-missing', stream: AUDIT_STREAM, seq: next.value.seq, message: `audit entry at seq ${next.value.seq}, sealed by seal ${next.value.n}, is missing: it was deleted` });
        }
        if (!next.done && next.value.seq === e.seq) {
          if (next.value.hash !== hash) {
            throw new Broken({ kind: 'entry-replaced', ...at, message: `audit entry at seq ${e.seq} is not the one seal ${next.value.n} sealed: it was modified, replaced or moved` });
          }
          result.sealed++;
          next = await expected.next();
        } else if (e.seq <= lastSealed) {
          throw new Broken({ kind: 'entry-inserted', ...at, message: `audit entry at seq ${e.seq} is in the sealed range but in no seal: it was inserted` });
        } else {
          result.unsealed++;
        }
        if (options.resources !== false) await this.#checkResource(e.entry.event, e.seq);
      }
      if (!next.done) {
        throw new Broken({ kind: 'entry-missing', stream: AUDIT_STREAM, seq: next.value.seq, message: `audit entry at seq ${next.value.seq}, sealed by seal ${next.value.n}, is missing: it was deleted` });
      }
    } catch (error) {
      if (!(error instanceof Broken)) throw error;
      result.ok = false;
      result.problem = error.problem;
    }
    return result;
  }

  async *#sealedPairs(pageSize: number): AsyncGenerator<{ seq: number; hash: string; n: number }> {
    for await (const e of this.#read(SEAL_STREAM, 0, pageSize)) {
      const s = e.entry as unknown as AuditSeal;
      for (let i = 0; i < s.seqs.length; i++) yield { seq: s.seqs[i], hash: s.hashes[i], n: s.n };
    }
  }

  async #checkResource(event: AuditEvent, seq: number): Promise<void> {
    const ref = `AuditEvent/${event.id}`;
    const stored = await this.store.read('AuditEvent', event.id as string);
    if (!stored || stored.deleted || !stored.resource) {
      throw new Broken({ kind: 'resource-missing', resource: ref, seq, stream: AUDIT_STREAM, message: `${ref} (audit seq ${seq}) is missing from the searchable history` });
    }
    const copy = { ...stored.resource, meta: undefined };
    if (stored.versionId !== 1 || canonicalJson(copy) !== canonicalJson(event)) {
      throw new Broken({ kind: 'resource-modified', resource: ref, seq, stream: AUDIT_STREAM, message: `${ref} differs from its audit entry (seq ${seq})` });
    }
  }
}

function storedHash(entry: Record<string, unknown>): string {
  return typeof entry.hash === 'string' && /^[0-9a-f]{64}$/.test(entry.hash) ? entry.hash : entryHash(entry);
}

/** Index keys of a professional as an AuditEvent agent (the same keys extraction gives). */
function professionalKeys(rpps: string): string[] {
  return referenceKeys({ identifier: { system: PS_IDNAT_SYSTEM, value: `8${rpps}` } }).filter((k) => k.includes('|'));
}
