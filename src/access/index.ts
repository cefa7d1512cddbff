// Front door of the access engine: pure decisions (who may see and do what) and the search
// constraints that push them into every store query. No I/O except loading the matrix file.
//
// How the protocol layers use it:
// - at write time: facts = resourceFacts(resource, matrix); index += accessIndex(facts);
//   decideAccess({ action: 'create' | 'update' | 'delete', ... }) before committing;
// - on every read path: decideAccess({ action: 'read', ... }) for one resource (absent → 404,
//   forbidden → 403), searchConstraint(...) AND-ed into every query ('deny' → 403);
// - dossier facts from the patient's Consents: dossierFacts(patientId, status, consents).
export type * from './types.ts';
export { ACCESS_MODES } from './types.ts';
export { ALLOW_REASONS, REFUSALS } from './reasons.ts';
export { DEFAULT_HABILITATIONS_PATH, HabilitationsError, defaultHabilitations, habilitationsFromJson, loadHabilitations } from './habilitations.ts';
export { resourceFacts } from './resource-facts.ts';
export type { ClassTables } from './resource-facts.ts';
export { ACCESS_PARAMS, accessIndex } from './access-index.ts';
export type { AccessFlag } from './access-index.ts';
export { decideAccess, decideLabelChange, decideSelfAuthorisation, dossierRefusal, isDirectoryType } from './decide.ts';
export type { AccessRequest, DossierRequest, LabelRequest, VisibilityLabel } from './decide.ts';
export { searchConstraint } from './constraint.ts';
export type { ConstraintRequest } from './constraint.ts';
export { DOSSIER_CONTROLS, consentControl, consentProblems, dossierFacts } from './consent-facts.ts';
export type { DossierControl, DossierControlCode, DossierFactsOptions } from './consent-facts.ts';
export { CONSENT_SCOPE_SYSTEM, DOSSIER_CONTROL_SYSTEM, normaliseRpps } from './systems.ts';
export { actorCategory } from './matrix.ts';
export { MEMBER_ELEMENTS, keepHiddenMembers, memberReferences, withoutHiddenMembers } from './members.ts';
export { actorOfIdentity, modeOfIdentity } from './actor-of-identity.ts';
