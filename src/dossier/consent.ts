// The patient's consent to their dossier, recorded as a FHIR Consent (the convention, next to the
// access controls of profiles/README.md "Patient controls as Consents"):
//
//   status          active
//   scope           consentscope#patient-privacy
//   category        urn:carnet:fhir:CodeSystem:dossier-lifecycle#create-dossier
//                   (its own system: the access engine's dossier-control codes stay apart, and
//                   the engine ignores this Consent when it reads the patient's controls)
//   patient         Patient/<id> (filled in when absent)
//   dateTime        when the patient agreed (required; not in the future)
//   performer       who collected it: the patient (online), or the professional / desk (filled in)
//   policyRule      v3-ActCode#OPTIN (filled in when absent)
//   provision.type  permit
//   sourceAttachment  optional: the signed form
//
// Reactivating a closed dossier records a new one (the same convention).
import { CONSENT_SCOPE_SYSTEM } from '../access/index.ts';
import type { ResourceBody } from '../store/index.ts';

export const LIFECYCLE_SYSTEM = 'urn:carnet:fhir:CodeSystem:dossier-lifecycle';
export const CREATE_DOSSIER_CODE = 'create-dossier';
const OPTIN = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] };
/** Clocks differ a little between the client and us. */
const CLOCK_SKEW_MS = 5 * 60_000;

type Json = Record<string, unknown>;
type Coding = { system?: string; code?: string };

function codings(value: unknown): Coding[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.flatMap((c) => (c && typeof c === 'object' && Array.isArray((c as Json).coding) ? ((c as Json).coding as Coding[]) : []));
}

/** What is wrong with a Consent given as the patient's agreement to the dossier (empty: nothing). */
export function creationConsentProblems(consent: unknown, patientId: string, now: number): string[] {
  if (!consent || typeof consent !== 'object' || (consent as Json).resourceType !== 'Consent') return ['the consent must be a Consent resource'];
  const c = consent as Json;
  const problems: string[] = [];
  if (c.status !== 'active') problems.push("Consent.status must be 'active'");
  if (!codings(c.scope).some((x) => x.system === CONSENT_SCOPE_SYSTEM && x.code === 'patient-privacy')) problems.push(`Consent.scope must be ${CONSENT_SCOPE_SYSTEM}|patient-privacy`);
  if (!codings(c.category).some((x) => x.system === LIFECYCLE_SYSTEM && x.code === CREATE_DOSSIER_CODE)) problems.push(`Consent.category must hold ${LIFECYCLE_SYSTEM}|${CREATE_DOSSIER_CODE}`);
  const patient = (c.patient as Json | undefined)?.reference;
  if (patient !== undefined && patient !== `Patient/${patientId}`) problems.push(`Consent.patient must be Patient/${patientId}`);
  if ((c.provision as Json | undefined)?.type !== 'permit') problems.push("Consent.provision.type must be 'permit'");
  const at = typeof c.dateTime === 'string' ? Date.parse(c.dateTime) : Number.NaN;
  if (Number.isNaN(at)) problems.push('Consent.dateTime must say when the patient agreed');
  else if (at > now + CLOCK_SKEW_MS) problems.push('Consent.dateTime is in the future');
  return problems;
}

/** The Consent as stored: its id, the patient, and performer and policyRule filled in when absent. */
export function creationConsent(consent: ResourceBody, id: string, patientId: string, performer: Json): ResourceBody {
  const performers = Array.isArray(consent.performer) && consent.performer.length > 0 ? consent.performer : [performer];
  const hasPolicy = consent.policyRule !== undefined || (Array.isArray(consent.policy) && consent.policy.length > 0);
  const { meta: _meta, ...rest } = consent;
  return { ...rest, resourceType: 'Consent', id, patient: { reference: `Patient/${patientId}` }, performer: performers, ...(hasPolicy ? {} : { policyRule: OPTIN }) };
}

/** A creation Consent built by the server: the patient themselves asks (reactivation online). */
export function patientRequestConsent(id: string, patientId: string, at: string): ResourceBody {
  return {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LIFECYCLE_SYSTEM, code: CREATE_DOSSIER_CODE }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: at,
    performer: [{ reference: `Patient/${patientId}` }],
    policyRule: OPTIN,
    provision: { type: 'permit' },
  };
}
