// The dossier module's internal records in the Store, as the identity module keeps its sign-in
// records (types the FHIR API never serves, the record nested under `record`), written in the
// same commit as the FHIR resources they go with, with optimistic concurrency:
//
//   CarnetDossier/<patient id>        the dossier (status, channel, logins…), see DossierRecord
//   CarnetDossierIns/<sha256(INS)>    one per INS: created with ifVersion 0, so a second dossier
//                                     for the same INS fails in the store itself, race or not
//   CarnetActivation/<sha256(INS)>    an online activation code (its SHA-256 only)
//   CarnetDeviceToken/<sha256(token)> a connected device's token (never stored in clear)
//   CarnetDossierLogin/<sha256(login)> a sign-in login a dossier issued: created with ifVersion 0
//                                     in the creation's commit, so two creations cannot both take it
//
// Why records and not only FHIR resources: the status must be read on every request by the
// gate (one read by id), the INS uniqueness needs a key the store enforces, and tokens and codes
// must never be served by the FHIR API.
import { createHash } from 'node:crypto';
import { indexKey, type IndexValue, type ResourceWrite, type Store } from '../store/index.ts';
import type { DossierRecord, DossierStatus } from './types.ts';

export const RECORD_TYPES = {
  dossier: 'CarnetDossier',
  insClaim: 'CarnetDossierIns',
  activation: 'CarnetActivation',
  deviceToken: 'CarnetDeviceToken',
  login: 'CarnetDossierLogin',
} as const;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function insKey(ins: { system: string; value: string }): string {
  return sha256(`${ins.system}|${ins.value}`);
}

export interface Versioned<T> {
  value: T;
  version: number;
}

export async function readRecord<T>(store: Store, type: string, id: string): Promise<Versioned<T> | undefined> {
  const v = await store.read(type, id);
  if (!v || v.deleted || !v.resource) return undefined;
  return { value: v.resource.record as T, version: v.versionId };
}

export function recordWrite(type: string, id: string, record: object, ifVersion: number | undefined, index: IndexValue[] = []): ResourceWrite {
  return { op: 'update', type, id, resource: { resourceType: type, record }, index, ifVersion };
}

export function deleteWrite(type: string, id: string, ifVersion?: number): ResourceWrite {
  return { op: 'delete', type, id, ifVersion };
}

const code = (value: string) => indexKey('code', value);

/** The dossier record's index: what the purge job and the statistics search on. */
function dossierIndex(record: DossierRecord): IndexValue[] {
  const created = Date.parse(record.createdAt);
  return [
    { param: 'status', value: code(record.status) },
    { param: 'channel', value: code(record.channel) },
    { param: 'created', low: created, high: created },
    ...(record.department ? [{ param: 'department', value: code(record.department) }] : []),
    ...(record.purgeAt !== undefined ? [{ param: 'purge_at', low: record.purgeAt, high: record.purgeAt }] : []),
  ];
}

export function readDossier(store: Store, patientId: string): Promise<Versioned<DossierRecord> | undefined> {
  return readRecord<DossierRecord>(store, RECORD_TYPES.dossier, patientId);
}

/** `ifVersion` 0: must not exist yet. */
export function dossierWrite(record: DossierRecord, ifVersion: number): ResourceWrite {
  return recordWrite(RECORD_TYPES.dossier, record.patientId, record, ifVersion, dossierIndex(record));
}

/** Claims the INS for this dossier; fails (version conflict) when another dossier holds it. */
export function insClaimWrite(ins: { system: string; value: string }, patientId: string): ResourceWrite {
  return recordWrite(RECORD_TYPES.insClaim, insKey(ins), { patientId }, 0);
}

/** Takes a login for a new credential; fails (version conflict) when another creation took it. */
export function loginClaimWrite(login: string, patientId: string): ResourceWrite {
  return recordWrite(RECORD_TYPES.login, loginKey(login), { patientId }, 0);
}

export function loginKey(login: string): string {
  return sha256(login.normalize('NFC').trim().toLowerCase());
}

export async function dossierOfIns(store: Store, ins: { system: string; value: string }): Promise<string | undefined> {
  return (await readRecord<{ patientId: string }>(store, RECORD_TYPES.insClaim, insKey(ins)))?.value.patientId;
}

/**
 * The dossier's status for the access gate: 'active', 'closed' (also while being purged), or
 * undefined when no dossier was ever opened (or it was purged).
 */
export async function dossierStatus(store: Store, patientId: string): Promise<DossierStatus | undefined> {
  const found = await readDossier(store, patientId);
  if (!found) return undefined;
  return found.value.status === 'active' ? 'active' : 'closed';
}

// ---- device tokens ----------------------------------------------------------------------------

export interface DeviceTokenRecord {
  patientId: string;
  deviceId: string;
  createdAt: string;
}

export function deviceTokenWrite(tokenHash: string, record: DeviceTokenRecord): ResourceWrite {
  return recordWrite(RECORD_TYPES.deviceToken, tokenHash, record, 0, [
    { param: 'device', value: indexKey('exact', record.deviceId) },
    { param: 'patient', value: indexKey('exact', record.patientId) },
  ]);
}

/** Every record of a type indexed under `param` = exact `value` (all pages). */
export async function recordsWhere(store: Store, type: string, param: string, value: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ types: [type], where: { param, in: [indexKey('exact', value)] }, count: 500, cursor });
    ids.push(...page.entries.map((e) => e.id));
    cursor = page.next;
  } while (cursor);
  return ids;
}
