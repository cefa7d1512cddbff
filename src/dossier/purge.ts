// The purge of dossiers closed longer ago than they are kept (10 years by default), run by a
// scheduled job. For each dossier due:
//   1. its record is set to 'purging' (optimistic concurrency: a reactivation that got there
//      first wins, and the dossier is left alone); from then on it cannot be reactivated;
//   2. what belongs to it is gathered: every resource whose access index names the dossier
//      (all FHIR types but AuditEvent, whose retention is the audit trail's), the Binaries its
//      DocumentReferences pointed at in any version, their blobs in any version, the dossier's
//      internal records (device tokens, keyword-search cache);
//   3. the sign-in credentials are withdrawn (representatives keep theirs for other minors);
//   4. everything is hard-deleted (HardDelete; idempotent), the record and INS claim last, so
//      a purge cut short is found again ('purging') and finished by the next run.
// Without a HardDelete (the Store port has none yet) the resources get delete markers instead:
// nobody reads them any more, but their versions and blobs stay. The job says so in its log.
import { ACCESS_PARAMS } from '../access/index.ts';
import { ACCESS_MARKER_TYPE } from '../audit/index.ts';
import { indexKey, type ResourceBody, type ResourceWrite, type Store } from '../store/index.ts';
import type { DossierCredentials } from './credentials.ts';
import { binaryIdOf, blobOf, DOCUMENT_TEXT_TYPE, SUPPORTED_TYPES } from './fhir-port.ts';
import { deleteWrite, dossierWrite, insKey, loginKey, readDossier, recordsWhere, RECORD_TYPES } from './records.ts';
import { PREFERENCES_TYPE, readPreferences } from './preferences.ts';
import { purgeDue } from './rules.ts';
import type { DossierEvents, DossierRecord, HardDelete } from './types.ts';

/** Types never purged with a dossier: the audit trail keeps its own retention (append-only chain). */
const KEPT_TYPES = new Set(['AuditEvent', 'Binary']);
const PAGE = 500;

export interface PurgeLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface PurgeOptions {
  store: Store;
  credentials: DossierCredentials | Promise<DossierCredentials>;
  events: DossierEvents;
  hardDelete?: HardDelete;
  clock: () => number;
  log?: PurgeLog;
}

export interface PurgeTarget {
  resources: { type: string; id: string }[];
  blobs: string[];
}

async function pagedIds(store: Store, type: string, where: Parameters<Store['search']>[0]['where']): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ types: [type], where, count: PAGE, cursor });
    ids.push(...page.entries.map((e) => e.id));
    cursor = page.next;
  } while (cursor);
  return ids;
}

async function everyVersion(store: Store, type: string, id: string): Promise<ResourceBody[]> {
  const bodies: ResourceBody[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.history({ type, id, count: PAGE, cursor });
    for (const v of page.entries) if (v.resource) bodies.push(v.resource);
    cursor = page.next;
  } while (cursor);
  return bodies;
}

/** Everything of one dossier to delete (its record and INS claim excepted: they go last). */
export async function dossierContents(store: Store, patientId: string): Promise<PurgeTarget> {
  const inDossier = { param: ACCESS_PARAMS.dossier, in: [indexKey('ref', `Patient/${patientId}`)] };
  const resources: { type: string; id: string }[] = [];
  const binaries = new Set<string>();
  for (const type of SUPPORTED_TYPES) {
    if (KEPT_TYPES.has(type)) continue;
    for (const id of await pagedIds(store, type, inDossier)) {
      resources.push({ type, id });
      if (type !== 'DocumentReference') continue;
      for (const body of await everyVersion(store, type, id)) {
        for (const c of (body.content as { attachment?: { url?: string } }[] | undefined) ?? []) {
          const binary = binaryIdOf(c.attachment?.url);
          if (binary) binaries.add(binary);
        }
      }
    }
  }
  const blobs = new Set<string>();
  for (const id of binaries) {
    const versions = await everyVersion(store, 'Binary', id);
    if (versions.length === 0) continue;
    resources.push({ type: 'Binary', id });
    for (const body of versions) {
      const blob = blobOf(body);
      if (blob) blobs.add(blob);
    }
  }
  for (const id of await recordsWhere(store, RECORD_TYPES.deviceToken, 'patient', patientId)) resources.push({ type: RECORD_TYPES.deviceToken, id });
  for (const id of await recordsWhere(store, DOCUMENT_TEXT_TYPE, 'patient', patientId)) resources.push({ type: DOCUMENT_TEXT_TYPE, id });
  // The patient's choice of channels holds their addresses.
  if (await readPreferences(store, patientId)) resources.push({ type: PREFERENCES_TYPE, id: patientId });
  // The audit module's first-access markers (who has already been announced to the patient).
  for (const id of await recordsWhere(store, ACCESS_MARKER_TYPE, 'patient', patientId)) resources.push({ type: ACCESS_MARKER_TYPE, id });
  return { resources, blobs: [...blobs] };
}

/** Delete markers in place of a hard delete: unreadable, but the versions and blobs stay. */
async function markDeleted(store: Store, target: PurgeTarget): Promise<void> {
  const writes: ResourceWrite[] = [];
  for (const r of target.resources) {
    const current = await store.read(r.type, r.id);
    if (current && !current.deleted) writes.push(deleteWrite(r.type, r.id));
  }
  for (let i = 0; i < writes.length; i += PAGE) await store.commit({ writes: writes.slice(i, i + PAGE) });
}

export class DossierPurge {
  readonly #o: PurgeOptions;

  constructor(options: PurgeOptions) {
    this.#o = options;
  }

  /** Dossiers due at `now`: closed with their retention over, or a purge left unfinished. */
  async due(now: number): Promise<string[]> {
    const closedAndOver = { and: [{ param: 'status', in: [indexKey('code', 'closed')] }, { param: 'purge_at', bound: 'high' as const, cmp: 'le' as const, value: now }] };
    const unfinished = { param: 'status', in: [indexKey('code', 'purging')] };
    return pagedIds(this.#o.store, RECORD_TYPES.dossier, { or: [closedAndOver, unfinished] });
  }

  /** Purges every dossier due; returns the patient ids purged. */
  async run(now: number = this.#o.clock()): Promise<string[]> {
    const purged: string[] = [];
    for (const patientId of await this.due(now)) {
      if (await this.purgeOne(patientId, now)) purged.push(patientId);
    }
    return purged;
  }

  /** Purges one dossier if it is due; false when it is not (or someone reactivated it first). */
  async purgeOne(patientId: string, now: number): Promise<boolean> {
    const { store } = this.#o;
    const found = await readDossier(store, patientId);
    if (!found || !purgeDue(found.value, now)) return false;
    let record: DossierRecord = found.value;
    if (record.status !== 'purging') {
      record = { ...record, status: 'purging' };
      try {
        await store.commit({ writes: [dossierWrite(record, found.version)] });
      } catch {
        return false; // changed meanwhile (reactivated): the next run looks again
      }
    }
    const target = await dossierContents(store, patientId);
    const credentials = await this.#o.credentials;
    for (const login of [record.logins.patient, ...record.logins.representatives.map((r) => r.login)]) {
      if (!login) continue;
      await credentials.withdraw(login, patientId);
      // A login nobody signs in with any more may be issued again.
      if (!(await credentials.subjectOf(login))) target.resources.push({ type: RECORD_TYPES.login, id: loginKey(login) });
    }
    await this.#erase(target);
    const event = await this.#o.events.emit({ kind: 'dossier-purged', patientId, at: new Date(now).toISOString(), resources: target.resources.length, blobs: target.blobs.length });
    if (event.writes?.length || event.log?.length || event.outbox?.length) await store.commit({ writes: event.writes ?? [], log: event.log ?? [], outbox: event.outbox ?? [] });
    await this.#erase({ resources: [{ type: RECORD_TYPES.insClaim, id: insKey(record.ins) }, { type: RECORD_TYPES.dossier, id: patientId }], blobs: [] });
    this.#o.log?.info({ dossierPurged: patientId, resources: target.resources.length, blobs: target.blobs.length }, 'dossier purged');
    return true;
  }

  async #erase(target: PurgeTarget): Promise<void> {
    if (this.#o.hardDelete) return this.#o.hardDelete.purge(target);
    this.#o.log?.warn({ resources: target.resources.length, blobs: target.blobs.length }, 'no hard delete in this store: dossier erased with delete markers, its versions and blobs remain');
    await markDeleted(this.#o.store, target);
  }
}

/**
 * The store's own hard delete (Store.purge) when the adapter has one; undefined otherwise, and
 * the purge falls back to delete markers.
 */
export function hardDeleteOf(store: Store): HardDelete | undefined {
  const purge = (store as Partial<HardDelete>).purge;
  return typeof purge === 'function' ? { purge: (target) => purge.call(store, target) } : undefined;
}

/** Runs the purge every `intervalMs` (never two runs at once); stop() ends it and waits for a run under way. */
export function schedulePurge(purge: DossierPurge, intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = purge.run().then(() => undefined, onError).finally(() => {
      running = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
