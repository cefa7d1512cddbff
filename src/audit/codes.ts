// Code systems and codes of the audit trail: DICOM/IHE and HL7 ones as the IHE Basic Audit Log
// Patterns (BALP) use them, the French access-mode codes (TRE_R248) and the identifier systems
// of professionals and structures (shared/reference/dmp-fr.md).
import type { Coding } from '@medplum/fhirtypes';

export const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
export const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const IHE_TRANSACTIONS = 'urn:ihe:event-type-code';
export const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
export const ROLE_CLASS = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
export const AUDIT_ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
export const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
export const SECURITY_SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
export const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';

/** TRE_R248-ModeAcces: the access mode a professional declares (VIHF purposeofuse). */
export const ACCESS_MODE_SYSTEM = 'urn:oid:1.2.250.1.213.1.1.4.248';
/** TRE_G15-ProfessionSante. */
export const PROFESSION_SYSTEM = 'urn:oid:1.2.250.1.71.1.2.7';
/** TRE_R01 savoir-faire (physicians' specialties). */
export const SPECIALTY_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.5';
/** PS_IdNat: national professional identifier, "8" + RPPS. */
export const PS_IDNAT_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
/** Struct_IdNat: national structure identifier. */
export const STRUCT_IDNAT_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.2';

/** Carnet's own codes: non-REST activities (dossier lifecycle, sign-in…) and agent kinds. */
export const CARNET_ACTIVITY_SYSTEM = 'https://carnet.example/fhir/CodeSystem/audit-activity';
export const CARNET_AGENT_SYSTEM = 'https://carnet.example/fhir/CodeSystem/audit-agent';
/** Ids of the server's non-professional callers (operators, care-history feeds), as identity gives them. */
export const CARNET_ACCOUNT_SYSTEM = 'https://carnet.example/fhir/NamingSystem/account';

export const MODE_CODES = {
  normal: { system: ACCESS_MODE_SYSTEM, code: 'normal', display: 'Accès normal' },
  'break-the-glass': { system: ACCESS_MODE_SYSTEM, code: 'bris_de_glace', display: 'Accès en mode bris de glace' },
  'emergency-call': { system: ACCESS_MODE_SYSTEM, code: 'centre_15', display: 'Accès en mode centre de régulation' },
} as const satisfies Record<string, Coding>;

export const REST_TYPE: Coding = { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'Restful Operation' };

export const AGENT_TYPES = {
  /** DICOM puts the client as the source and the server as the destination, whatever the data flow. */
  client: { system: DICOM, code: '110153', display: 'Source Role ID' },
  server: { system: DICOM, code: '110152', display: 'Destination Role ID' },
  recipient: { system: PARTICIPATION_TYPE, code: 'IRCP', display: 'information recipient' },
  agent: { system: ROLE_CLASS, code: 'AGNT', display: 'agent' },
  patient: { system: ROLE_CLASS, code: 'PAT', display: 'patient' },
  organization: { system: ROLE_CLASS, code: 'PROV', display: 'healthcare provider' },
} as const satisfies Record<string, Coding>;

export const ENTITY = {
  person: { system: AUDIT_ENTITY_TYPE, code: '1', display: 'Person' },
  systemObject: { system: AUDIT_ENTITY_TYPE, code: '2', display: 'System Object' },
  patientRole: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  domainResource: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
  query: { system: OBJECT_ROLE, code: '24', display: 'Query' },
  requestId: { system: BALP_ENTITY_TYPE, code: 'XrequestId', display: 'X-Request-Id' },
} as const satisfies Record<string, Coding>;

export const SOURCE_TYPE: Coding = { system: SECURITY_SOURCE_TYPE, code: '4', display: 'Application Server' };

/**
 * The IHE transactions Carnet serves, with the DICOM event type and action their ATNA audit
 * messages use (from the server's side: a retrieve is an export, a provide-and-register an import).
 */
export const IHE_TRANSACTION_CODES: Readonly<Record<string, { display: string; type: Coding; action: 'C' | 'R' | 'U' | 'D' | 'E' }>> = {
  'ITI-18': { display: 'Registry Stored Query', type: { system: DICOM, code: '110112', display: 'Query' }, action: 'E' },
  'ITI-41': { display: 'Provide and Register Document Set-b', type: { system: DICOM, code: '110107', display: 'Import' }, action: 'C' },
  'ITI-42': { display: 'Register Document Set-b', type: { system: DICOM, code: '110107', display: 'Import' }, action: 'C' },
  'ITI-43': { display: 'Retrieve Document Set', type: { system: DICOM, code: '110106', display: 'Export' }, action: 'R' },
  'ITI-57': { display: 'Update Document Set', type: { system: DICOM, code: '110107', display: 'Import' }, action: 'U' },
  'ITI-62': { display: 'Delete Document Set', type: { system: DICOM, code: '110110', display: 'Patient Record' }, action: 'D' },
  'ITI-65': { display: 'Provide Document Bundle', type: { system: DICOM, code: '110107', display: 'Import' }, action: 'C' },
  'ITI-105': { display: 'Simplified Publish', type: { system: DICOM, code: '110107', display: 'Import' }, action: 'C' },
  'ITI-66': { display: 'Find Document Lists', type: { system: DICOM, code: '110112', display: 'Query' }, action: 'E' },
  'ITI-67': { display: 'Find Document References', type: { system: DICOM, code: '110112', display: 'Query' }, action: 'E' },
  'ITI-68': { display: 'Retrieve Document', type: { system: DICOM, code: '110106', display: 'Export' }, action: 'R' },
};

/** Non-REST activities: DICOM event type, action. */
export const ACTIVITY_TYPES = {
  login: { type: { system: DICOM, code: '110114', display: 'User Authentication' }, subtype: { system: DICOM, code: '110122', display: 'Login' }, action: 'E' },
  logout: { type: { system: DICOM, code: '110114', display: 'User Authentication' }, subtype: { system: DICOM, code: '110123', display: 'Logout' }, action: 'E' },
  export: { type: { system: DICOM, code: '110106', display: 'Export' }, action: 'R' },
  activity: { type: { system: DICOM, code: '110100', display: 'Application Activity' }, action: 'E' },
} as const;
