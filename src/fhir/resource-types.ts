// The resource types Carnet serves over FHIR. Others answer 404 with an OperationOutcome.
export const SUPPORTED_TYPES = [
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'DocumentReference',
  'Binary',
  'List',
  'Consent',
  'AuditEvent',
  'AllergyIntolerance',
  'Condition',
  'MedicationStatement',
  'MedicationRequest',
  'Immunization',
  'Observation',
  'ExplanationOfBenefit',
  'Device',
] as const;

export type SupportedType = (typeof SUPPORTED_TYPES)[number];

const SUPPORTED = new Set<string>(SUPPORTED_TYPES);

export function isSupportedType(type: string): type is SupportedType {
  return SUPPORTED.has(type);
}

/** Written only by the server itself (the audit trail): the API may read and search them. */
export const READ_ONLY_TYPES = new Set<string>(['AuditEvent']);
