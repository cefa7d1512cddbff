// What the dossier module needs from the FHIR module beyond its front door, in one place. The
// FHIR front door (src/fhir/index.ts) does not export these yet; once it does, only this file
// changes.
//
// The server's own writes: the dossier lifecycle writes resources on a decision of its own
// (rules.ts), not of the access engine: the Patient set inactive on closing (which the gate
// itself then refuses to anyone), a Binary whose owning DocumentReference is in the same commit
// (the gate reads the owner from the store, where it is not yet), a Device the patient registers.
// Those go through a repository with an open gate, but with the same validation and search and
// access indexes as every other write.
import type { Habilitations } from '../access/index.ts';
import { FhirRepository, OPEN_GATE } from '../fhir/index.ts';
import { accessIndexWith, blobOf } from '../fhir/repository.ts';
import { SUPPORTED_TYPES } from '../fhir/resource-types.ts';
import { validateResource } from '../fhir/validation/index.ts';
import type { IssueType, OperationOutcomeIssue } from '../fhir/operation-outcome.ts';
import type { ResourceBody } from '../store/index.ts';

export { blobOf, SUPPORTED_TYPES };
export type { IssueType, OperationOutcomeIssue };
export {
  ADVANCE_DIRECTIVES_TYPE, assertedBy, binaryIdOf, CLASS_SYSTEM, CONFIDENTIALITY_SYSTEM, DMP_TYPE_SYSTEM, DOCUMENT_TEXT_TYPE, FORMAT_SYSTEM,
  IHE_FORMAT_SYSTEM, insOf, INS_SYSTEMS, PATIENT_CLASS, PATIENT_DOCUMENT_TYPES,
} from '../fhir/operations/patient-data.ts';
export type { Asserter } from '../fhir/operations/patient-data.ts';

/** A repository over the same store that lets the server's own writes through (see above). */
export function systemRepository(repository: FhirRepository, matrix: Habilitations): FhirRepository {
  return new FhirRepository({
    store: repository.store,
    registry: repository.registry,
    gate: OPEN_GATE,
    validate: (resource: ResourceBody) => validateResource(resource) as OperationOutcomeIssue[],
    accessIndex: accessIndexWith(matrix),
    documentLimitBytes: repository.documentLimitBytes,
  });
}
