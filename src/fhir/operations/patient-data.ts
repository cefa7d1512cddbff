// Conventions for data that patients, their devices and the insurer add to a dossier, shared by
// the FHIR operations ($summary, $search-text, $import-care-history) and the dossier module
// (uploads, declarations, devices). Data, not code: each table is what the domain says.
//
// Who asserted a resource is said with the HL7 integrity labels of v3-ObservationValue in
// meta.security (PATAST patient asserted, SDMAST substitute decision maker asserted, DEVAST
// device asserted, PAYAST payer asserted): a standard place, read by any FHIR client, and not
// a visibility label, so the access engine ignores it.
import type { ResourceBody } from '../../store/index.ts';

export const INTEGRITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';

export const ASSERTED_BY = {
  patient: { code: 'PATAST', display: 'patient asserted' },
  representative: { code: 'SDMAST', display: 'substitute decision maker asserted' },
  device: { code: 'DEVAST', display: 'device asserted' },
  payer: { code: 'PAYAST', display: 'payer asserted' },
} as const;

export type Asserter = keyof typeof ASSERTED_BY;

/** Immunization: when the next dose (booster) is due. R4 has no element for it. */
export const NEXT_DOSE_EXTENSION = 'https://carnet.example/fhir/StructureDefinition/immunization-next-dose-date';

/** INS systems (dmp-fr.md §3): INS-NIR, INS-NIA, and the test and demo INS-NIR. */
export const INS_SYSTEMS = [
  'urn:oid:1.2.250.1.213.1.4.8',
  'urn:oid:1.2.250.1.213.1.4.9',
  'urn:oid:1.2.250.1.213.1.4.10',
  'urn:oid:1.2.250.1.213.1.4.11',
] as const;

/** TRE_A03 class codes (DocumentReference.category) and the DMP's local type codes (J07). */
export const CLASS_SYSTEM = 'urn:oid:1.2.250.1.213.1.1.4.1';
export const DMP_TYPE_SYSTEM = 'urn:oid:1.2.250.1.213.1.1.4.12';
export const CONFIDENTIALITY_SYSTEM = 'urn:oid:2.16.840.1.113883.5.25';
export const FORMAT_SYSTEM = 'urn:oid:1.3.6.1.4.1.19376.1.2.3';
export const IHE_FORMAT_SYSTEM = 'http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode';

/** Class 90: documents the patient adds (J57). */
export const PATIENT_CLASS = { code: '90', display: 'Autres documents déposés par le patient' } as const;

/** The document types a patient may upload (J07, class 90), with their labels. */
export const PATIENT_DOCUMENT_TYPES: Readonly<Record<string, string>> = {
  DOCPAT01: 'Synthèse déposée par le patient',
  DOCPAT02: 'Traitement ou document de soins déposé par le patient',
  DOCPAT03: 'CR déposé par le patient',
  DOCPAT04: 'Imagerie déposée par le patient',
  DOCPAT05: 'CR de biologie déposé par le patient',
  DOCPAT06: 'CR de prévention déposé par le patient',
  DOCPAT07: 'Certificat déposé par le patient',
  DOCPAT08: 'Profil médical Mon espace santé',
  DOCPAT09: 'Document administratif déposé par le patient',
  EXPPAT_1: 'Volontés et droits du patient',
  EXPPAT_2: 'Autre document du patient',
  EXPPAT_3: 'Directives anticipées',
};

/** The patient's advance directives: their own document type (class 90). */
export const ADVANCE_DIRECTIVES_TYPE = 'EXPPAT_3';
/** Medical summaries (class 11) the $summary operation picks the latest of. */
export const SUMMARY_DOCUMENT_TYPES = ['SYNTH', '60591-5'] as const;
/** ABO and Rh group (LOINC). */
export const BLOOD_GROUP_CODE = '882-1';

type Coding = { system?: string; code?: string; display?: string };

function securityCodings(resource: ResourceBody): Coding[] {
  const meta = resource.meta as { security?: Coding[] } | undefined;
  return Array.isArray(meta?.security) ? meta.security : [];
}

/** The resource with the integrity label of its asserter added (once). */
export function assertedBy<T extends ResourceBody>(resource: T, asserter: Asserter): T {
  const label = ASSERTED_BY[asserter];
  const meta = (resource.meta ?? {}) as Record<string, unknown>;
  const security = securityCodings(resource).filter((c) => !(c.system === INTEGRITY_SYSTEM && c.code === label.code));
  return { ...resource, meta: { ...meta, security: [...security, { system: INTEGRITY_SYSTEM, code: label.code, display: label.display }] } };
}

/** Who the resource says asserted it, from its integrity label; undefined for professionals' data. */
export function asserterOf(resource: ResourceBody): Asserter | undefined {
  const codes = new Set(securityCodings(resource).filter((c) => c.system === INTEGRITY_SYSTEM).map((c) => c.code));
  return (Object.keys(ASSERTED_BY) as Asserter[]).find((a) => codes.has(ASSERTED_BY[a].code));
}

/** The INS of a Patient (or of an identifier list): the first identifier in an INS system. */
export function insOf(identifiers: unknown): { system: string; value: string } | undefined {
  if (!Array.isArray(identifiers)) return undefined;
  for (const id of identifiers as { system?: unknown; value?: unknown }[]) {
    if (typeof id?.system === 'string' && (INS_SYSTEMS as readonly string[]).includes(id.system) && typeof id.value === 'string' && id.value.trim() !== '') {
      return { system: id.system, value: id.value.trim() };
    }
  }
  return undefined;
}

/** `Binary/<id>` (relative, or absolute ending so) → the id; undefined for anything else. */
export function binaryIdOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const match = /(?:^|\/)Binary\/([A-Za-z0-9\-.]{1,64})$/.exec(url);
  return match?.[1];
}

/**
 * The keyword-search cache ($search-text): one internal record per DocumentReference version
 * with its text (CDA narrative included), indexed by `patient` (exact patient id) so that the
 * dossier's purge finds and removes it.
 */
export const DOCUMENT_TEXT_TYPE = 'CarnetDocumentText';
