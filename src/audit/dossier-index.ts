// Which dossier an AuditEvent is about, as an index value of its own: the access gate keeps a
// patient's searches of the trail to their own dossier's events with it (the standard `patient`
// parameter would also match events where a patient is the agent, acting on another dossier).
// Pure.
import { indexKey, type IndexValue, type ResourceBody } from '../store/index.ts';
import { ENTITY } from './codes.ts';

export const AUDITED_DOSSIER_PARAM = '_audited_dossier';

const PATIENT_REF = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/** The patient id of the AuditEvent's entity in the Patient role, if any. */
export function auditedDossier(event: ResourceBody): string | undefined {
  const entities = Array.isArray(event.entity) ? (event.entity as { role?: { system?: string; code?: string }; what?: { reference?: string } }[]) : [];
  const entity = entities.find((e) => e.role?.system === ENTITY.patientRole.system && e.role.code === ENTITY.patientRole.code);
  return PATIENT_REF.exec(entity?.what?.reference ?? '')?.[1];
}

export function auditedDossierKey(patientId: string): string {
  return indexKey('ref', `Patient/${patientId}`);
}

export function auditedDossierIndex(event: ResourceBody): IndexValue[] {
  const id = auditedDossier(event);
  return id ? [{ param: AUDITED_DOSSIER_PARAM, value: auditedDossierKey(id) }] : [];
}
