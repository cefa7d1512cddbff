// Code and identifier systems the access engine reads. French systems come either as urn:oid
// or as their NOS canonical URL (shared/reference/dmp-fr.md): both names mean the same system.
// Kept here rather than borrowed from src/fhir, because access sits below the protocol layers.

/** TRE_A03-ClasseDocument: DocumentReference.category (XDS classCode, value set J57). */
export const CLASS_SYSTEMS = ['urn:oid:1.2.250.1.213.1.1.4.1', 'https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument'];

/** TRE_A07-StatutVisibiliteDocument: securityLabel / meta.security (XDS confidentialityCode). */
export const VISIBILITY_SYSTEMS = [
  'urn:oid:1.2.250.1.213.1.1.4.13',
  'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument',
];

/**
 * Visibility codes → the ResourceFacts flag they set. INVISIBLE_REP_LEGAUX is the HL7v2
 * gateway's spelling (table MetaDMPMSS) of INVISIBLE_REPRESENTANTS_LEGAUX.
 */
export const VISIBILITY_CODES: Record<string, 'masked' | 'invisibleToPatient' | 'invisibleToRepresentatives'> = {
  MASQUE_PS: 'masked',
  INVISIBLE_PATIENT: 'invisibleToPatient',
  INVISIBLE_REPRESENTANTS_LEGAUX: 'invisibleToRepresentatives',
  INVISIBLE_REP_LEGAUX: 'invisibleToRepresentatives',
};

/** PS_IdNat (1.2.250.1.71.4.2.1): '8' + RPPS for RPPS holders. */
export const PS_IDNAT_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
/** FR Core's RPPS naming system: the bare 11-digit number. */
export const RPPS_SYSTEM = 'https://rpps.esante.gouv.fr';
export const PROFESSIONAL_ID_SYSTEMS = [PS_IDNAT_SYSTEM, RPPS_SYSTEM];

/**
 * Carnet's code system for the patient's controls (Consent.category, see profiles/README.md).
 * A URN, because Carnet owns no domain to publish a canonical URL under.
 */
export const DOSSIER_CONTROL_SYSTEM = 'urn:carnet:fhir:CodeSystem:dossier-control';
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';

/**
 * The RPPS number inside a professional identifier: PS_IdNat '8' + 11 digits loses its prefix;
 * anything else (a bare RPPS, an establishment's internal id) is kept as it is.
 */
export function normaliseRpps(value: string): string {
  return /^8\d{11}$/.test(value) ? value.slice(1) : value;
}
