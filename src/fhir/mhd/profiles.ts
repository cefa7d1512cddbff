// Canonical URLs of IHE MHD 4.2 and PDSm 3.1.1 (the French MHD) that Carnet recognises.
const MHD = 'https://profiles.ihe.net/ITI/MHD/StructureDefinition';
const PDSM = 'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition';

/** Bundles that are an ITI-65 Provide Document Bundle: checked against the MHD rules first. */
export const PROVIDE_BUNDLE_PROFILES = new Set([
  `${MHD}/IHE.MHD.Minimal.ProvideBundle`,
  `${MHD}/IHE.MHD.Comprehensive.ProvideBundle`,
  `${MHD}/IHE.MHD.UnContained.Comprehensive.ProvideBundle`,
  `${PDSM}/pdsm-comprehensive-provide-document-bundle`,
  // MHD 3.x names, still sent by older Document Sources.
  'http://ihe.net/fhir/StructureDefinition/IHE_MHD_Provide_Comprehensive_DocumentBundle',
  'http://ihe.net/fhir/StructureDefinition/IHE_MHD_Provide_Minimal_DocumentBundle',
]);

export const SUBMISSION_SET_PROFILES = new Set([
  `${MHD}/IHE.MHD.Minimal.SubmissionSet`,
  `${MHD}/IHE.MHD.Comprehensive.SubmissionSet`,
  `${MHD}/IHE.MHD.UnContained.Comprehensive.SubmissionSet`,
  `${PDSM}/pdsm-submissionset-comprehensive`,
]);

export const FOLDER_PROFILES = new Set([`${MHD}/IHE.MHD.Minimal.Folder`, `${MHD}/IHE.MHD.Comprehensive.Folder`, `${PDSM}/pdsm-folder-comprehensive`]);

/** The List.code systems of SubmissionSets and Folders (MHD 4.x, and MHD 3.x's). */
export const LIST_TYPE_SYSTEMS = new Set(['https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', 'http://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', 'http://ihe.net/fhir/CodeSystem/MHDlistTypes']);

/** PDSm extensions carried as they come and searchable (profiles/search-parameters.json: isArchived). */
export const PDSM_IS_ARCHIVED = [`${PDSM}/pdsm-ext-is-archived`, 'http://esante.gouv.fr/cisis/fhir/StructureDefinition/PDSm_isArchived'];
export const PDSM_INTENDED_RECIPIENT = `${PDSM}/pdsm-ext-intended-recipient`;

/** A canonical without its `|version`. */
export function canonical(url: string): string {
  return url.split('|')[0];
}

export function hasProfile(resource: { meta?: Record<string, unknown> } | undefined, profiles: Set<string>): boolean {
  const declared = resource?.meta?.profile;
  return Array.isArray(declared) && declared.some((p) => typeof p === 'string' && profiles.has(canonical(p)));
}

/** ITI-105 Simplified Publish: a DocumentReference carrying its document in attachment.data. */
export const SIMPLIFIED_PUBLISH_PROFILE = `${MHD}/IHE.MHD.SimplifiedPublish.DocumentReference`;
export const MINIMAL_PROVIDE_BUNDLE = `${MHD}/IHE.MHD.Minimal.ProvideBundle`;
export const MINIMAL_SUBMISSION_SET = `${MHD}/IHE.MHD.Minimal.SubmissionSet`;
export const MHD_LIST_TYPES = 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes';
export const MHD_DESIGNATION_TYPE = `${MHD}/ihe-designationType`;
