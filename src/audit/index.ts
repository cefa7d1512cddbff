// Front door of the audit module: AuditEvents for every access decision and write (IHE BALP),
// written in the commit of what they record, tamper-evident through sealed hash chains.
//
// How the protocol layers use it:
//   const audit = trail.record({ actor, mode, action: 'read', channel: 'fhir', patientId, resource, outcome: 'success' });
//   await store.commit(withAudit({ writes: [...] }, audit));    // a change and its record, all or nothing
//   await trail.recordAlone({ ..., outcome: 'refused', reason }); // a refusal, where nothing else is written
//   accessNotice(actor, mode) + commitWithNotice(markers, ...)  // an access the patient is told of, same commit
//   refusals.refused({ address, reason, channel })              // a refused identity, coalesced per address
export { auditEvent, DOSSIER_ACTIVITIES, SEARCH_PARAM_NAME } from './event.ts';
export type { AuditAction, AuditActor, AuditChannel, AuditEventOptions, AuditOutcome, AuditRecord } from './event.ts';
export { AuditTrail, withAudit } from './trail.ts';
export type {
  AuditChanges, AuditProblem, AuditProblemKind, AuditSearchOptions, AuditSearchPage, AuditTrailOptions, AuditVerification, VerifyOptions,
} from './trail.ts';
export { AuditSealer } from './sealer.ts';
export type { AuditSealerOptions, SealerLog } from './sealer.ts';
export { AUDIT_STREAM, SEAL_STREAM, SEAL_HEAD_ID, canonicalJson } from './chain.ts';
export type { AuditEntry, AuditSeal } from './chain.ts';
export { ACCESS_MODE_SYSTEM, MODE_CODES, PROFESSION_SYSTEM, PS_IDNAT_SYSTEM, STRUCT_IDNAT_SYSTEM } from './codes.ts';
export { AUDITED_DOSSIER_PARAM, auditedDossier, auditedDossierIndex, auditedDossierKey } from './dossier-index.ts';
export { ACCESS_MARKER_TYPE, ACCESS_NOTICES, AccessMarkers, accessNotice, commitWithNotice } from './access-notices.ts';
export type { AccessMarkersOptions, AccessNotice, AccessNoticeTopic, NoticeChanges } from './access-notices.ts';
export { RefusalAudit } from './refusals.ts';
export type { RefusalAuditOptions, RefusedRequest } from './refusals.ts';
