// The internal model of XDS metadata (ITI TF-3 4.1/4.2): what the ebRIM parser produces, what the
// MHD mapping converts to FHIR, and what the builders write back.
//
// Values are kept as the sender wrote them (HL7 v2 strings for CX/XCN/XON, DTM strings for
// times, decimal strings for size): the model is faithful to the message, the metadata checks
// judge it, and hl7v2.ts parses the composite values where a structure is needed. Almost every
// attribute is optional in the types because a message may omit it; validate.ts says which ones
// XDS requires.
import type { AssociationType } from './vocabulary.ts';

/** A coded value as XDS carries it: code (nodeRepresentation), codingScheme slot, display name. */
export interface Code {
  code: string;
  codingScheme: string;
  displayName?: string;
}

/** A slot that is not part of the standard metadata (extra metadata, kept as sent). */
export interface Slot {
  name: string;
  values: string[];
}

export interface Author {
  /** XCN. */
  person?: string;
  /** XON values. */
  institutions: string[];
  /** Plain string, `code^^^&oid&ISO` or `code^display^oid` forms are all seen in the wild. */
  roles: string[];
  specialties: string[];
  /** XTN values. */
  telecoms: string[];
}

export type DocumentObjectType = 'stable' | 'on-demand';

export interface DocumentEntry {
  /** ebRIM id: `urn:uuid:…`, or a symbolic id inside a submission. */
  entryUuid: string;
  /** ebRIM lid; equals entryUuid unless the entry is a later version (Metadata Update). */
  logicalId?: string;
  /** VersionInfo/@versionName. */
  version?: string;
  objectType: DocumentObjectType;
  uniqueId?: string;
  /** CX. */
  patientId?: string;
  /** CX. */
  sourcePatientId?: string;
  /** `PID-n|value` lines. */
  sourcePatientInfo: string[];
  classCode?: Code;
  typeCode?: Code;
  formatCode?: Code;
  healthcareFacilityTypeCode?: Code;
  practiceSettingCode?: Code;
  confidentialityCodes: Code[];
  eventCodes: Code[];
  authors: Author[];
  /** DTM (UTC): YYYY[MM[DD[hh[mm[ss]]]]]. */
  creationTime?: string;
  serviceStartTime?: string;
  serviceStopTime?: string;
  languageCode?: string;
  mimeType?: string;
  /** SHA-1, hexadecimal. */
  hash?: string;
  /** Decimal number of bytes. */
  size?: string;
  title?: string;
  comments?: string;
  /** XCN. */
  legalAuthenticator?: string;
  /** CXi values. */
  referenceIds: string[];
  repositoryUniqueId?: string;
  uri?: string;
  availabilityStatus?: string;
  documentAvailability?: string;
  homeCommunityId?: string;
  limitedMetadata: boolean;
  extraSlots: Slot[];
}

export interface SubmissionSet {
  entryUuid: string;
  uniqueId?: string;
  sourceId?: string;
  patientId?: string;
  submissionTime?: string;
  contentTypeCode?: Code;
  authors: Author[];
  /** XON|XCN|XTN values. */
  intendedRecipients: string[];
  title?: string;
  comments?: string;
  availabilityStatus?: string;
  homeCommunityId?: string;
  limitedMetadata: boolean;
  extraSlots: Slot[];
}

export interface Folder {
  entryUuid: string;
  logicalId?: string;
  version?: string;
  uniqueId?: string;
  patientId?: string;
  codeList: Code[];
  lastUpdateTime?: string;
  title?: string;
  comments?: string;
  availabilityStatus?: string;
  homeCommunityId?: string;
  limitedMetadata: boolean;
  extraSlots: Slot[];
}

export interface Association {
  entryUuid: string;
  /** Undefined when the association type URN is not one XDS defines (see typeUrn). */
  type?: AssociationType;
  typeUrn: string;
  sourceUuid: string;
  targetUuid: string;
  /** HasMember from a SubmissionSet: 'Original' (submitted here) or 'Reference' (existing object). */
  submissionSetStatus?: string;
  /** Metadata Update: version of the entry being replaced. */
  previousVersion?: string;
  /** UpdateAvailabilityStatus. */
  originalStatus?: string;
  newStatus?: string;
  /** Metadata Update: whether the update also reaches folder memberships ('yes'/'no'). */
  associationPropagation?: string;
  availabilityStatus?: string;
  extraSlots: Slot[];
}

/** A RegistryObjectList in model form: a submission, or the objects a query returns. */
export interface RegistryObjects {
  submissionSets: SubmissionSet[];
  documentEntries: DocumentEntry[];
  folders: Folder[];
  associations: Association[];
}

export function emptyRegistryObjects(): RegistryObjects {
  return { submissionSets: [], documentEntries: [], folders: [], associations: [] };
}

/** Every entryUUID (ebRIM id) of the objects. */
export function allEntryUuids(objects: RegistryObjects): string[] {
  return [
    ...objects.submissionSets.map((o) => o.entryUuid),
    ...objects.documentEntries.map((o) => o.entryUuid),
    ...objects.folders.map((o) => o.entryUuid),
    ...objects.associations.map((o) => o.entryUuid),
  ];
}

/**
 * Replaces symbolic ids (anything that is not `urn:uuid:`) by fresh UUIDs everywhere they are
 * used: object ids, association ends and (for entries whose lid was symbolic or absent) logical
 * ids. The registry must do this before storing a submission (ITI TF-3 4.2.1.2). Returns the
 * mapping from symbolic id to new `urn:uuid:`.
 */
export function assignEntryUuids(objects: RegistryObjects, newUuid: () => string): Map<string, string> {
  const mapping = new Map<string, string>();
  const fresh = (id: string): string => {
    if (id.startsWith('urn:uuid:')) return id;
    let assigned = mapping.get(id);
    if (!assigned) {
      assigned = `urn:uuid:${newUuid()}`;
      mapping.set(id, assigned);
    }
    return assigned;
  };
  for (const o of objects.submissionSets) o.entryUuid = fresh(o.entryUuid);
  for (const o of objects.documentEntries) {
    o.entryUuid = fresh(o.entryUuid);
    o.logicalId = o.logicalId && o.logicalId.startsWith('urn:uuid:') ? o.logicalId : o.entryUuid;
  }
  for (const o of objects.folders) {
    o.entryUuid = fresh(o.entryUuid);
    o.logicalId = o.logicalId && o.logicalId.startsWith('urn:uuid:') ? o.logicalId : o.entryUuid;
  }
  for (const a of objects.associations) {
    a.entryUuid = fresh(a.entryUuid);
    a.sourceUuid = mapping.get(a.sourceUuid) ?? a.sourceUuid;
    a.targetUuid = mapping.get(a.targetUuid) ?? a.targetUuid;
  }
  // Association ends may name an association submitted later in the list (SS → Folder/Doc
  // membership); resolve once more now that every symbolic id has its UUID.
  for (const a of objects.associations) {
    a.sourceUuid = mapping.get(a.sourceUuid) ?? a.sourceUuid;
    a.targetUuid = mapping.get(a.targetUuid) ?? a.targetUuid;
  }
  return mapping;
}
