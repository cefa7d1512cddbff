// Validation of FHIR R4 resources: the front door. Every write goes through validateResource;
// `$validate` answers with validateForOperation.
//
//   const issues = validateResource(body, { mode: 'create', profiles: [FR_DMP_DOCUMENT_REFERENCE_PROFILE] });
//   if (issues.some((i) => i.severity === 'error')) → 422 (or 400) with every issue, store nothing
//
// Checks, each in its own module: schema.ts (R4 JSON schema, ajv), cardinality.ts,
// bindings.ts (required value sets), invariants.ts (FHIRPath constraints; exceptions listed in
// invariant-exceptions.ts), references.ts (Reference target types), profiles.ts (Carnet's
// StructureDefinitions in profiles/, selected by options.profiles or meta.profile).
import { knownProfileUrls } from './profiles.ts';
import { validateResource } from './validate.ts';
import { loadValueSets } from './value-sets.ts';

export type { ValidationIssue, ValidateOptions, IssueSeverity, IssueCode } from './types.ts';
export { validateResource } from './validate.ts';
export { validateForOperation } from './operation.ts';
export type { ValidateOperationOptions } from './operation.ts';
export { knownProfileUrls } from './profiles.ts';

/** Carnet's profile of a DMP document's DocumentReference (profiles/StructureDefinition-fr-dmp-document-reference.json). */
export const FR_DMP_DOCUMENT_REFERENCE_PROFILE = 'https://carnet.example/fhir/StructureDefinition/fr-dmp-document-reference';
/** Carnet's profile of a DMP patient identified by the INS (profiles/StructureDefinition-fr-dmp-patient-ins.json). */
export const FR_DMP_PATIENT_INS_PROFILE = 'https://carnet.example/fhir/StructureDefinition/fr-dmp-patient-ins';
/** PDSm 3.1.1 comprehensive DocumentReference: accepted, and checked as FR_DMP_DOCUMENT_REFERENCE_PROFILE. */
export const PDSM_COMPREHENSIVE_DOCUMENT_REFERENCE_PROFILE = 'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-document-reference';
/** FR Core Patient INS: accepted, and checked as FR_DMP_PATIENT_INS_PROFILE. */
export const FR_CORE_PATIENT_INS_PROFILE = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins';

/**
 * Reads the definitions, value sets and profiles and compiles the validators of these resource
 * types now (seconds: the R4 StructureDefinitions alone are 37 MB of JSON), so that the first
 * write does not pay for it. Optional: everything is lazy and cached.
 */
export function warmUpValidation(resourceTypes: readonly string[]): void {
  for (const resourceType of resourceTypes) validateResource({ resourceType });
  loadValueSets();
  knownProfileUrls();
}
