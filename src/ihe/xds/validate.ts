// Metadata checks for submissions (ITI-41, ITI-42, ITI-57) decidable from the message and the
// affinity domain alone: required attributes per object, formats, one patient everywhere,
// association structure, value sets. Pure. What needs the registry's state is in
// registry-checks.ts, the bytes of provided documents in provide-and-register.ts.
//
// Returns RegistryErrors; an empty list (or warnings only) means the submission may go on.
// Error codes follow ITI TF-3 4.2.4 and ITI TF-2 3.41.4.1.3/3.42.4.1.3/3.57.4.1.3.
import type { AffinityDomain, CodedAttribute } from './affinity-domain.ts';
import { checkCode, isValidIns } from './affinity-domain.ts';
import { parseMediaType } from './content-type.ts';
import type { RegistryError, XdsErrorCode } from './errors.ts';
import { registryError } from './errors.ts';
import type { Cx } from './hl7v2.ts';
import { isOid, isUuidUrn, isWellFormedPatientId, parseCx, parseHd } from './hl7v2.ts';
import type { Author, Code, DocumentEntry, Folder, RegistryObjects, Slot, SubmissionSet } from './model.ts';
import { DOCUMENT_RELATIONSHIPS, STATUS } from './vocabulary.ts';

export type SubmissionTransaction = 'ITI-41' | 'ITI-42' | 'ITI-57';

export interface SubmissionCheckOptions {
  readonly transaction: SubmissionTransaction;
  readonly domain: AffinityDomain;
}

/** Collects errors for one object, so every rule reads as one line. */
class Findings {
  readonly errors: RegistryError[] = [];
  add(code: XdsErrorCode, codeContext: string, location?: string, severity?: 'Error' | 'Warning'): void {
    this.errors.push(registryError(code, codeContext, location, severity));
  }
}

// ---------------------------------------------------------------------------------------------
// Formats

const DTM = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2}))?)?)?)?)?$/;

/** An XDS DTM: UTC, YYYY[MM[DD[hh[mm[ss]]]]], each present part in range. */
export function isDtm(value: string): boolean {
  const m = DTM.exec(value);
  if (!m) return false;
  const [, , month, day, hour, minute, second] = m.map((v) => (v === undefined ? undefined : Number(v)));
  if (month !== undefined && (month < 1 || month > 12)) return false;
  if (day !== undefined && (day < 1 || day > 31)) return false;
  if (hour !== undefined && hour > 23) return false;
  if (minute !== undefined && minute > 59) return false;
  if (second !== undefined && second > 59) return false;
  return true;
}

/** DocumentEntry.uniqueId: an OID (≤ 64 chars), optionally ^extension (≤ 16 chars). */
export function isDocumentUniqueId(value: string): boolean {
  const [root, extension, ...rest] = value.split('^');
  if (rest.length > 0 || !isOid(root)) return false;
  return extension === undefined || (extension.length > 0 && extension.length <= 16);
}

const isHash = (v: string) => /^[0-9a-fA-F]{40}$/.test(v);
const isSize = (v: string) => /^\d{1,15}$/.test(v);
const isLanguage = (v: string) => /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(v);
const isMimeType = (v: string) => !!parseMediaType(v);
const isSymbolicOrUuid = (v: string) => (v.startsWith('urn:uuid:') ? isUuidUrn(v) : /^[^\s]{1,256}$/.test(v));
const isHomeCommunityId = (v: string) => v.startsWith('urn:oid:') && isOid(v.slice(8));

// ---------------------------------------------------------------------------------------------
// validateSubmission

export function validateSubmission(objects: RegistryObjects, options: SubmissionCheckOptions): RegistryError[] {
  const f = new Findings();
  const { transaction } = options;
  if (objects.submissionSets.length !== 1) {
    f.add('XDSRegistryMetadataError', `a submission holds exactly one SubmissionSet, found ${objects.submissionSets.length}`);
  }
  checkIds(objects, f);
  for (const s of objects.submissionSets) checkSubmissionSet(s, options, f);
  for (const d of objects.documentEntries) checkDocumentEntry(d, options, f);
  for (const folder of objects.folders) checkFolder(folder, options, f);
  checkSamePatient(objects, f);
  checkUniqueIdsInMessage(objects, transaction, f);
  checkAssociations(objects, options, f);
  return f.errors;
}

function checkIds(objects: RegistryObjects, f: Findings): void {
  const seen = new Set<string>();
  const all = [...objects.submissionSets, ...objects.documentEntries, ...objects.folders, ...objects.associations];
  for (const o of all) {
    if (!o.entryUuid || !isSymbolicOrUuid(o.entryUuid)) {
      f.add('XDSRegistryMetadataError', 'entryUUID must be a urn:uuid or a symbolic id without spaces', o.entryUuid || undefined);
    }
    if (seen.has(o.entryUuid)) f.add('XDSRegistryMetadataError', 'two objects of the submission share this id', o.entryUuid);
    seen.add(o.entryUuid);
  }
}

/** Errors the repository raises itself in ITI-41 (TF-2 3.41.4.1.3.2), the registry otherwise. */
function metadataError(transaction: SubmissionTransaction, repositoryChecked: boolean): XdsErrorCode {
  return transaction === 'ITI-41' && repositoryChecked ? 'XDSRepositoryMetadataError' : 'XDSRegistryMetadataError';
}

function required(f: Findings, present: unknown, what: string, location: string, code: XdsErrorCode = 'XDSRegistryMetadataError'): boolean {
  const ok = Array.isArray(present) ? present.length > 0 : present !== undefined && present !== '';
  if (!ok) f.add(code, `${what} is required`, location);
  return ok;
}

function checkFormat(f: Findings, value: string | undefined, test: (v: string) => boolean, what: string, location: string, code: XdsErrorCode = 'XDSRegistryMetadataError'): void {
  if (value !== undefined && !test(value)) f.add(code, `${what} is malformed`, location);
}

function checkSubmissionSet(s: SubmissionSet, options: SubmissionCheckOptions, f: Findings): void {
  const id = s.entryUuid;
  const repo = metadataError(options.transaction, true);
  if (s.limitedMetadata) f.add('XDSRegistryMetadataError', 'an XDS registry does not accept limited metadata', id);
  if (required(f, s.uniqueId, 'SubmissionSet.uniqueId', id)) checkFormat(f, s.uniqueId, isOid, 'SubmissionSet.uniqueId (an OID)', id);
  if (required(f, s.sourceId, 'SubmissionSet.sourceId', id, repo)) checkFormat(f, s.sourceId, isOid, 'SubmissionSet.sourceId (an OID)', id, repo);
  if (required(f, s.patientId, 'SubmissionSet.patientId', id)) checkPatientId(s.patientId!, 'SubmissionSet.patientId', id, options.domain, f);
  if (required(f, s.submissionTime, 'SubmissionSet.submissionTime', id)) checkFormat(f, s.submissionTime, isDtm, 'SubmissionSet.submissionTime', id);
  if (required(f, s.contentTypeCode, 'SubmissionSet.contentTypeCode', id)) checkCoded(f, options.domain, 'contentTypeCode', s.contentTypeCode!, id);
  checkFormat(f, s.homeCommunityId, isHomeCommunityId, 'homeCommunityId', id);
  checkAuthors(s.authors, options.domain, id, f);
  checkExtraSlots(s.extraSlots, id, f);
}

function checkDocumentEntry(d: DocumentEntry, options: SubmissionCheckOptions, f: Findings): void {
  const { transaction, domain } = options;
  const id = d.entryUuid;
  const repo = metadataError(transaction, true);
  if (d.limitedMetadata) f.add('XDSRegistryMetadataError', 'an XDS registry does not accept limited metadata', id);
  if (d.objectType !== 'stable') f.add('XDSRegistryMetadataError', 'on-demand DocumentEntries are not accepted by this transaction', id);
  if (transaction === 'ITI-57') {
    if (!d.logicalId || !isUuidUrn(d.logicalId) || d.logicalId === d.entryUuid) {
      f.add('XDSMetadataIdentifierError', 'an updated DocumentEntry must carry the logicalId (lid) of the entry it updates, distinct from its new id', id);
    }
  } else if (d.logicalId && d.logicalId !== d.entryUuid) {
    f.add('XDSRegistryMetadataError', 'logicalId (lid) differs from id: only Update Document Set may do that', id);
  }
  if (required(f, d.uniqueId, 'DocumentEntry.uniqueId', id, repo)) checkFormat(f, d.uniqueId, isDocumentUniqueId, 'DocumentEntry.uniqueId (OID[^extension])', id, repo);
  if (required(f, d.patientId, 'DocumentEntry.patientId', id)) checkPatientId(d.patientId!, 'DocumentEntry.patientId', id, domain, f);
  if (required(f, d.sourcePatientId, 'DocumentEntry.sourcePatientId', id)) checkSourcePatientId(d.sourcePatientId!, id, f);
  if (required(f, d.mimeType, 'DocumentEntry.mimeType', id, repo)) checkFormat(f, d.mimeType, isMimeType, 'DocumentEntry.mimeType', id, repo);
  if (required(f, d.creationTime, 'DocumentEntry.creationTime', id)) checkFormat(f, d.creationTime, isDtm, 'DocumentEntry.creationTime', id);
  checkFormat(f, d.serviceStartTime, isDtm, 'DocumentEntry.serviceStartTime', id);
  checkFormat(f, d.serviceStopTime, isDtm, 'DocumentEntry.serviceStopTime', id);
  if (d.serviceStartTime && d.serviceStopTime && isDtm(d.serviceStartTime) && isDtm(d.serviceStopTime) && d.serviceStopTime < d.serviceStartTime.slice(0, d.serviceStopTime.length)) {
    f.add('XDSRegistryMetadataError', 'serviceStopTime is before serviceStartTime', id);
  }
  if (required(f, d.languageCode, 'DocumentEntry.languageCode', id)) checkFormat(f, d.languageCode, isLanguage, 'DocumentEntry.languageCode', id);
  // The repository computes hash and size for ITI-41; a registry needs them from the source.
  const registryNeedsBytesFacts = transaction !== 'ITI-41';
  if (registryNeedsBytesFacts) {
    required(f, d.hash, 'DocumentEntry.hash', id);
    required(f, d.size, 'DocumentEntry.size', id);
    required(f, d.repositoryUniqueId, 'DocumentEntry.repositoryUniqueId', id);
  }
  checkFormat(f, d.hash, isHash, 'DocumentEntry.hash (40 hexadecimal digits of SHA-1)', id, repo);
  checkFormat(f, d.size, isSize, 'DocumentEntry.size (a number of bytes)', id, repo);
  checkFormat(f, d.repositoryUniqueId, isOid, 'DocumentEntry.repositoryUniqueId (an OID)', id);
  checkFormat(f, d.homeCommunityId, isHomeCommunityId, 'homeCommunityId', id);
  for (const [attribute, code] of [
    ['classCode', d.classCode], ['typeCode', d.typeCode], ['formatCode', d.formatCode],
    ['healthcareFacilityTypeCode', d.healthcareFacilityTypeCode], ['practiceSettingCode', d.practiceSettingCode],
  ] as const) {
    if (required(f, code, `DocumentEntry.${attribute}`, id)) checkCoded(f, domain, attribute, code!, id);
  }
  if (required(f, d.confidentialityCodes, 'DocumentEntry.confidentialityCode', id)) {
    for (const c of d.confidentialityCodes) checkCoded(f, domain, 'confidentialityCode', c, id);
  }
  for (const c of d.eventCodes) checkCoded(f, domain, 'eventCode', c, id);
  for (const ref of d.referenceIds) checkReferenceId(ref, domain, id, f);
  if (d.availabilityStatus && transaction !== 'ITI-57' && d.availabilityStatus !== STATUS.approved && d.availabilityStatus !== STATUS.submitted) {
    f.add('XDSRegistryMetadataError', 'a new DocumentEntry cannot be submitted with a status other than Approved', id);
  }
  checkAuthors(d.authors, domain, id, f);
  checkExtraSlots(d.extraSlots, id, f);
}

function checkFolder(folder: Folder, options: SubmissionCheckOptions, f: Findings): void {
  const id = folder.entryUuid;
  if (folder.limitedMetadata) f.add('XDSRegistryMetadataError', 'an XDS registry does not accept limited metadata', id);
  if (options.transaction === 'ITI-57' && folder.logicalId && folder.logicalId !== folder.entryUuid && !isUuidUrn(folder.logicalId)) {
    f.add('XDSMetadataIdentifierError', 'an updated Folder must carry the logicalId (lid) of the folder it updates', id);
  }
  if (required(f, folder.uniqueId, 'Folder.uniqueId', id)) checkFormat(f, folder.uniqueId, isOid, 'Folder.uniqueId (an OID)', id);
  if (required(f, folder.patientId, 'Folder.patientId', id)) checkPatientId(folder.patientId!, 'Folder.patientId', id, options.domain, f);
  required(f, folder.title, 'Folder.title', id);
  if (required(f, folder.codeList, 'Folder.codeList', id)) {
    for (const c of folder.codeList) checkCoded(f, options.domain, 'folderCode', c, id);
  }
  checkFormat(f, folder.homeCommunityId, isHomeCommunityId, 'homeCommunityId', id);
  checkExtraSlots(folder.extraSlots, id, f);
}

function checkPatientId(value: string, what: string, location: string, domain: AffinityDomain, f: Findings): void {
  if (!isWellFormedPatientId(value)) {
    f.add('XDSRegistryMetadataError', `${what} must be id^^^&OID&ISO (CX with an ISO assigning authority)`, location);
    return;
  }
  const cx = parseCx(value);
  const authority = cx.assigningAuthority?.universalId ?? '';
  if (domain.patientIdAuthorities.length > 0 && !domain.patientIdAuthorities.includes(authority)) {
    f.add('XDSUnknownPatientId', `${what} has an assigning authority outside the ${domain.id} affinity domain`, location);
    return;
  }
  if (domain.patientIdTypeCode && cx.identifierTypeCode !== domain.patientIdTypeCode) {
    f.add('XDSRegistryMetadataError', `${what} must have identifier type ${domain.patientIdTypeCode} (CX.5) in the ${domain.id} affinity domain`, location);
  }
  if (domain.patientIdFormat === 'ins' && !isValidIns(cx.id)) {
    f.add('XDSRegistryMetadataError', `${what} is not a valid INS (15 characters with a matching key)`, location);
  }
}

function checkSourcePatientId(value: string, location: string, f: Findings): void {
  const cx = parseCx(value);
  if (!cx.id || !cx.assigningAuthority) {
    f.add('XDSRegistryMetadataError', 'DocumentEntry.sourcePatientId must be a CX with an id and an assigning authority', location);
  }
}

function checkCoded(f: Findings, domain: AffinityDomain, attribute: CodedAttribute, code: Code, location: string): void {
  if (!code.code || !code.codingScheme) return; // already reported by the ebRIM reader
  const valueSet = domain.valueSets[attribute];
  if (!valueSet) return;
  const verdict = checkCode(valueSet, code);
  if (verdict === 'unknown-code') {
    f.add('XDSRegistryMetadataError', `${attribute} ${code.code} is not in ${valueSet.name}`, location);
  } else if (verdict === 'wrong-scheme') {
    f.add('XDSRegistryMetadataError', `${attribute} ${code.code} has codingScheme ${code.codingScheme}, not the one ${valueSet.name} defines`, location);
  }
}

/**
 * Author roles and specialties are strings; when coded they come as `code^display^OID` (CE, the
 * DMP form) or `code^^^&OID&ISO` (the IHE "Identifiable" form). Returns the code and scheme.
 */
export function codedAuthorValue(value: string): { code: string; codingScheme?: string; display?: string } {
  const parts = value.split('^');
  if (parts.length >= 4 && parts[3].includes('&')) {
    return { code: parts[0], codingScheme: parseHd(parts[3])?.universalId, ...(parts[1] ? { display: parts[1] } : {}) };
  }
  if (parts.length >= 3) return { code: parts[0], codingScheme: parts[2] || undefined, ...(parts[1] ? { display: parts[1] } : {}) };
  return { code: parts[0], ...(parts[1] ? { display: parts[1] } : {}) };
}

function checkAuthors(authors: readonly Author[], domain: AffinityDomain, location: string, f: Findings): void {
  for (const a of authors) {
    if (!a.person && a.institutions.length === 0 && a.roles.length === 0 && a.specialties.length === 0 && a.telecoms.length === 0) {
      f.add('XDSRegistryMetadataError', 'an author classification must hold at least one author attribute', location);
    }
    const specialtySet = domain.valueSets.authorSpecialty;
    if (!specialtySet) continue;
    for (const s of a.specialties) {
      const coded = codedAuthorValue(s);
      if (!coded.codingScheme) {
        f.add('XDSRegistryMetadataError', `authorSpecialty must be coded (code^display^OID) in the ${domain.id} affinity domain`, location);
      } else {
        checkCoded(f, domain, 'authorSpecialty', { code: coded.code, codingScheme: coded.codingScheme }, location);
      }
    }
  }
}

function checkReferenceId(value: string, domain: AffinityDomain, location: string, f: Findings): void {
  const cx = parseCx(value);
  if (!cx.id || !cx.identifierTypeCode) {
    f.add('XDSRegistryMetadataError', 'referenceIdList values must be CXi: id^^^authority^type', location);
    return;
  }
  const types = domain.valueSets.referenceIdType;
  if (types && !types.codes.has(cx.identifierTypeCode)) {
    f.add('XDSRegistryMetadataError', `referenceIdList type ${cx.identifierTypeCode} is not in ${types.name}`, location);
  }
}

/** Extra metadata must be named by a URN outside urn:ihe: (ITI TF-3 4.2.3.1.8). */
function checkExtraSlots(slots: readonly Slot[], location: string, f: Findings): void {
  for (const s of slots) {
    if (!s.name.startsWith('urn:') || s.name.startsWith('urn:ihe:')) {
      f.add('XDSRegistryMetadataError', `slot ${s.name} is neither XDS metadata nor extra metadata named by a URN (not urn:ihe:)`, location);
    }
  }
}

function cxKey(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const cx: Cx = parseCx(value);
  return `${cx.id}|${cx.assigningAuthority?.universalId ?? ''}`;
}

function checkSamePatient(objects: RegistryObjects, f: Findings): void {
  const reference = cxKey(objects.submissionSets[0]?.patientId);
  if (!reference) return;
  for (const o of [...objects.documentEntries, ...objects.folders]) {
    const key = cxKey(o.patientId);
    if (key && key !== reference) f.add('XDSPatientIdDoesNotMatch', 'patientId differs from the SubmissionSet patientId', o.entryUuid);
  }
}

function checkUniqueIdsInMessage(objects: RegistryObjects, transaction: SubmissionTransaction, f: Findings): void {
  const seen = new Map<string, string>();
  const code: XdsErrorCode = transaction === 'ITI-41' ? 'XDSRepositoryDuplicateUniqueIdInMessage' : 'XDSRegistryDuplicateUniqueIdInMessage';
  for (const o of [...objects.submissionSets, ...objects.documentEntries, ...objects.folders]) {
    if (!o.uniqueId) continue;
    const first = seen.get(o.uniqueId);
    if (first) f.add(code, `uniqueId ${o.uniqueId} is also used by ${first}`, o.entryUuid);
    else seen.set(o.uniqueId, o.entryUuid);
  }
}

function checkAssociations(objects: RegistryObjects, options: SubmissionCheckOptions, f: Findings): void {
  const { transaction } = options;
  const submissionSet = objects.submissionSets[0];
  const kinds = new Map<string, 'SubmissionSet' | 'DocumentEntry' | 'Folder' | 'Association'>();
  for (const o of objects.submissionSets) kinds.set(o.entryUuid, 'SubmissionSet');
  for (const o of objects.documentEntries) kinds.set(o.entryUuid, 'DocumentEntry');
  for (const o of objects.folders) kinds.set(o.entryUuid, 'Folder');
  for (const o of objects.associations) kinds.set(o.entryUuid, 'Association');
  const members = new Set<string>();

  for (const a of objects.associations) {
    const id = a.entryUuid;
    for (const [end, value] of [['sourceObject', a.sourceUuid], ['targetObject', a.targetUuid]] as const) {
      if (value && !kinds.has(value) && !isUuidUrn(value)) {
        f.add('XDSRegistryMetadataError', `${end} names neither an object of the submission nor an existing object (urn:uuid)`, id);
      }
    }
    const sourceKind = kinds.get(a.sourceUuid);
    const targetKind = kinds.get(a.targetUuid);
    if (a.type === 'HasMember') {
      if (sourceKind === 'SubmissionSet') {
        members.add(a.targetUuid);
        if (a.sourceUuid !== submissionSet?.entryUuid) continue;
        if (targetKind === 'DocumentEntry' || (targetKind === undefined && isUuidUrn(a.targetUuid))) {
          const expected = targetKind ? 'Original' : 'Reference';
          if (a.submissionSetStatus !== expected) {
            f.add('XDSRegistryMetadataError', `HasMember from the SubmissionSet to ${targetKind ? 'a new' : 'an existing'} DocumentEntry needs SubmissionSetStatus ${expected}`, id);
          }
        }
        if (transaction === 'ITI-57' && (targetKind === 'DocumentEntry' || targetKind === 'Folder')) {
          if (!a.previousVersion) f.add('XDSMetadataVersionError', 'HasMember to an updated object needs a PreviousVersion slot', id);
        }
      } else if (sourceKind === 'Folder' || (sourceKind === undefined && isUuidUrn(a.sourceUuid))) {
        if (targetKind && targetKind !== 'DocumentEntry') f.add('XDSRegistryMetadataError', 'a Folder can only hold DocumentEntries', id);
      } else {
        f.add('XDSRegistryMetadataError', 'HasMember must start at the SubmissionSet or a Folder', id);
      }
    } else if (a.type && DOCUMENT_RELATIONSHIPS.includes(a.type)) {
      if (sourceKind !== 'DocumentEntry') {
        f.add('XDSRegistryMetadataError', `${a.type} must start at a DocumentEntry of the submission`, id);
      }
      if (a.type !== 'signs' && a.type !== 'IsSnapshotOf' && targetKind !== undefined) {
        f.add('XDSRegistryMetadataError', `${a.type} must point at a DocumentEntry already in the registry (urn:uuid)`, id);
      }
    } else if (a.type === 'UpdateAvailabilityStatus') {
      if (transaction !== 'ITI-57') {
        f.add('XDSRegistryMetadataError', 'UpdateAvailabilityStatus is only allowed in Update Document Set', id);
        continue;
      }
      if (sourceKind !== 'SubmissionSet' || !isUuidUrn(a.targetUuid)) {
        f.add('XDSRegistryMetadataError', 'UpdateAvailabilityStatus goes from the SubmissionSet to an existing object (urn:uuid)', id);
      }
      if (!a.originalStatus || !a.newStatus) {
        f.add('XDSRegistryMetadataError', 'UpdateAvailabilityStatus needs OriginalStatus and NewStatus slots', id);
      } else if (!options.domain.availabilityStatuses.includes(a.newStatus)) {
        f.add('XDSMetadataUpdateOperationError', `NewStatus ${a.newStatus} is not allowed in the ${options.domain.id} affinity domain`, id);
      }
      members.add(id);
    } else if (a.type === 'SubmitAssociation') {
      if (transaction !== 'ITI-57') f.add('XDSRegistryMetadataError', 'SubmitAssociation is only allowed in Update Document Set', id);
    }
  }
  // Every DocumentEntry and Folder submitted must be a member of the SubmissionSet, and so must a
  // new Folder→DocumentEntry membership (TF-3 4.2.2.1).
  for (const o of [...objects.documentEntries, ...objects.folders]) {
    if (!members.has(o.entryUuid)) f.add('XDSRegistryMetadataError', 'object is not a member (HasMember) of the SubmissionSet', o.entryUuid);
  }
  for (const a of objects.associations) {
    const folderMembership = a.type === 'HasMember' && kinds.get(a.sourceUuid) !== 'SubmissionSet';
    if (folderMembership && !members.has(a.entryUuid)) {
      f.add('XDSRegistryMetadataError', 'a Folder membership must itself be a member (HasMember) of the SubmissionSet', a.entryUuid);
    }
  }
}
