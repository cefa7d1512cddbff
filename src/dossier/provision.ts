// A patient with an open dossier and sign-in credentials of their choosing, for test and
// demonstration set-ups (scripts/patient-credentials.ts). It goes through the lifecycle as the
// insurer's desk would — the Patient with its INS, the patient's Consent, the dossier record,
// its audit record and notification — and then the patient replaces the handed-over password
// with theirs, as they would on first sign-in. An existing dossier is reused (reactivated if
// closed), so running it twice is harmless.
import { randomInt } from 'node:crypto';
import type { RequestContext } from '../fhir/index.ts';
import type { OtpChannel } from '../identity/index.ts';
import type { ResourceBody, Store } from '../store/index.ts';
import { CREATE_DOSSIER_CODE, LIFECYCLE_SYSTEM } from './consent.ts';
import { MIN_PASSWORD_LENGTH } from './credentials.ts';
import type { FhirRepository } from '../fhir/index.ts';
import { insOf } from './fhir-port.ts';
import type { Dossier } from './index.ts';
import { withoutVersionMeta } from './lifecycle.ts';
import { readDossier } from './records.ts';

/** The INS system of test identities (INS-NIR of test): never a real person's. */
export const TEST_INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.10';

export interface ProvisionRequest {
  patientId: string;
  /** Default: the Patient's own INS, else a generated test INS. */
  ins?: { system: string; value: string };
  /** Default 1980-01-01: an adult (a minor's dossier needs legal representatives). */
  birthDate?: string;
  login: string;
  password: string;
  otp: OtpChannel;
}

export interface ProvisionResult {
  patientId: string;
  dossier: 'created' | 'reactivated' | 'reused';
}

/** A 13-digit NIR of test followed by its key (97 − NIR mod 97), for a Patient without an INS. */
export function testIns(random: (max: number) => number = randomInt): string {
  const nir = `${1 + random(2)}80${String(1 + random(12)).padStart(2, '0')}75${String(random(1_000_000)).padStart(6, '0')}`;
  const key = 97n - (BigInt(nir) % 97n);
  return `${nir}${String(key).padStart(2, '0')}`;
}

function creationConsentNow(at: string): ResourceBody {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LIFECYCLE_SYSTEM, code: CREATE_DOSSIER_CODE }] }],
    dateTime: at,
    provision: { type: 'permit' },
  };
}

/**
 * Makes sure `patientId` has an active dossier whose patient signs in with `login` and
 * `password`. Needs dossier services built without a request context (no identities): the
 * operator running the script acts for the desk.
 */
export async function provisionDossier(services: { store: Store; dossier: Dossier; repository: FhirRepository }, request: ProvisionRequest): Promise<ProvisionResult> {
  const { store, dossier } = services;
  // Checked first: the password is set after the dossier is opened, and must not fail then.
  if (request.password.length < MIN_PASSWORD_LENGTH) throw new Error(`a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  const ctx: RequestContext = { baseUrl: '', strict: true };
  const existing = await readDossier(store, request.patientId);
  if (existing) {
    const own = existing.value.logins.patient;
    if (own && own.toLowerCase() !== request.login.toLowerCase()) throw new Error(`the dossier of Patient/${request.patientId} already has the login ${own}: use it`);
    if (existing.value.status === 'purging') throw new Error(`the dossier of Patient/${request.patientId} is being purged`);
    const reactivate = existing.value.status === 'closed';
    if (reactivate) await dossier.lifecycle.reactivate(ctx, request.patientId, undefined);
    await dossier.credentials.set({ login: request.login, password: request.password, subject: { kind: 'patient', patientId: request.patientId }, otp: request.otp });
    return { patientId: request.patientId, dossier: reactivate ? 'reactivated' : 'reused' };
  }

  const stored = await store.read('Patient', request.patientId);
  let current = stored && !stored.deleted && stored.resource ? withoutVersionMeta(stored.resource) : undefined;
  const ins = insOf(current?.identifier) ?? request.ins ?? { system: TEST_INS_SYSTEM, value: testIns() };
  if (current && !insOf(current.identifier)) {
    // A Patient made before it had an INS: the lifecycle finds the dossier's Patient by its INS.
    current = { ...current, identifier: [...((current.identifier as unknown[] | undefined) ?? []), ins] };
    await services.repository.commit([await services.repository.prepareWrite(ctx, 'update', 'Patient', request.patientId, current, stored?.versionId)]);
  }
  const patient: ResourceBody = {
    ...(current ?? { resourceType: 'Patient', id: request.patientId, identifier: [ins] }),
    birthDate: (current?.birthDate as string | undefined) ?? request.birthDate ?? '1980-01-01',
  };
  const created = await dossier.lifecycle.create(ctx, {
    patient,
    consent: creationConsentNow(new Date(dossier.lifecycle.now()).toISOString()),
    channel: 'insurer-desk',
    login: request.login,
    otp: request.otp,
    representatives: [],
  });
  const handedOver = created.credentials.find((c) => c.role === 'patient')?.initialPassword;
  if (!handedOver) throw new Error('the lifecycle issued no initial password');
  await dossier.lifecycle.setPassword(ctx, created.patientId, { login: request.login, current: handedOver, next: request.password });
  return { patientId: created.patientId, dossier: 'created' };
}
