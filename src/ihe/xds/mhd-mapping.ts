// XDS metadata ⇄ FHIR R4, following the IHE MHD 4.2 mapping (DocumentEntry ⇄ DocumentReference,
// SubmissionSet/Folder ⇄ List, associations ⇄ relatesTo / List.entry, patient CX ⇄ subject
// identifier `urn:oid:<assigning authority>`), so a document sent over XDS is found over FHIR and
// the other way round.
//
// Where MHD has no place for an XDS attribute (repositoryUniqueId, homeCommunityId, extra slots,
// association ids, versions…) Carnet extensions keep it, so XDS → FHIR → XDS loses nothing but
// representation details: HL7 v2 values come back in canonical form (no trailing separators)
// and DTM times finer than a day come back with seconds (FHIR has no minute precision).
import type {
  CodeableConcept, DocumentReference, DocumentReferenceRelatesTo, Extension, Identifier, List, ListEntry, Patient, Practitioner,
  PractitionerRole, Reference, Resource,
} from '@medplum/fhirtypes';
import { isOid } from './hl7v2.ts';
import type { MhdMappingOptions, Resolved } from './mhd-datatypes.ts';
import {
  associationExtension, associationFrom, authorFromContained, authorToContained, concept, containedById, documentStatus, dropUndefined,
  dtmToFhir, entryUuidIdentifier, entryUuidOf, ext, extString, fhirToDtm, findString, fromCoding, fromConcept, fromSourcePatient,
  identifierToReferenceId, identifierToUniqueId, LOGICAL_ID_TYPE, MHD_EXTENSION, MHD_LIST_TYPES, MHD_MINIMAL_DOCUMENT_REFERENCE,
  MHD_MINIMAL_FOLDER, MHD_MINIMAL_SUBMISSION_SET, patientFromSubject, patientSubject, practitionerToXcn, referenceIdToIdentifier, resolved,
  RFC3986, slotExtensions, slotsFrom, sourcePatient, statusFromDocument, toCoding, uniqueIdOf, uniqueIdToIdentifier, xcnToPractitioner,
  XDS_EXTENSION,
} from './mhd-datatypes.ts';
import type { Association, Author, Code, DocumentEntry, Folder, RegistryObjects, SubmissionSet } from './model.ts';
import { emptyRegistryObjects } from './model.ts';
import type { AssociationType } from './vocabulary.ts';
import { ASSOCIATION_TYPE_URN, STATUS } from './vocabulary.ts';

// The data-type helpers callers need too, from this module's front.
export type { MhdMappingOptions } from './mhd-datatypes.ts';
export {
  codingSchemeToSystem, cxToIdentifier, dtmToFhir, fhirToDtm, identifierToCx, identifierToUniqueId, LOGICAL_ID_TYPE, MHD_EXTENSION,
  MHD_LIST_TYPES, PDSM_IS_ARCHIVED, systemToCodingScheme, uniqueIdToIdentifier, XDS_EXTENSION,
} from './mhd-datatypes.ts';

// ---------------------------------------------------------------------------------------------
// DocumentEntry ⇄ DocumentReference

const RELATES_TO: Partial<Record<AssociationType, DocumentReferenceRelatesTo['code']>> = {
  RPLC: 'replaces',
  XFRM: 'transforms',
  APND: 'appends',
  signs: 'signs',
  XFRM_RPLC: 'replaces',
  IsSnapshotOf: 'transforms',
};
const RELATES_TO_BACK: Record<string, AssociationType> = { replaces: 'RPLC', transforms: 'XFRM', appends: 'APND', signs: 'signs' };
/** Association types whose relatesTo code is not exact, so the extension names the type. */
const INEXACT: readonly AssociationType[] = ['XFRM_RPLC', 'IsSnapshotOf'];

export function documentEntryToDocumentReference(
  entry: DocumentEntry,
  outgoing: readonly Association[],
  options: MhdMappingOptions = {},
  date?: string,
): DocumentReference {
  const o = resolved(options);
  const contained: Resource[] = [];
  const authors: Reference<PractitionerRole>[] = entry.authors.map((a, i) => {
    const { role, contained: parts } = authorToContained(a, `author${i}`);
    contained.push(...parts);
    return { reference: `#${role.id}` };
  });
  let authenticator: Reference<Practitioner> | undefined;
  if (entry.legalAuthenticator) {
    const p = xcnToPractitioner('legal-authenticator', entry.legalAuthenticator);
    contained.push(p);
    authenticator = { reference: `#${p.id}` };
  }
  const patient = sourcePatient(entry);
  if (patient) contained.push(patient);

  const status = documentStatus(entry.availabilityStatus);
  const relatesTo: DocumentReferenceRelatesTo[] = [];
  const otherAssociations: Extension[] = [];
  for (const a of outgoing) {
    const code = a.type ? RELATES_TO[a.type] : undefined;
    if (code) {
      const kept = associationExtension(a, { typeAndEnds: false });
      // replaces/transforms also stand for XFRM_RPLC/IsSnapshotOf: name the exact XDS type then.
      if (a.type && INEXACT.includes(a.type)) kept.extension!.push({ url: 'type', valueUri: ASSOCIATION_TYPE_URN[a.type] });
      relatesTo.push({ code, target: { reference: `DocumentReference/${o.resourceId(a.targetUuid)}` }, extension: [kept] });
    } else {
      otherAssociations.push(associationExtension(a, { typeAndEnds: true }));
    }
  }

  const extension: Extension[] = [
    ...status.extension,
    ...extString(XDS_EXTENSION.repositoryUniqueId, entry.repositoryUniqueId),
    ...extString(XDS_EXTENSION.homeCommunityId, entry.homeCommunityId),
    ...extString(XDS_EXTENSION.documentAvailability, entry.documentAvailability),
    ...(entry.objectType === 'on-demand' ? extString(XDS_EXTENSION.objectType, 'on-demand') : []),
    ...extString(XDS_EXTENSION.version, entry.version),
    ...extString(XDS_EXTENSION.uri, entry.uri),
    ...slotExtensions(entry.extraSlots),
    ...otherAssociations,
  ];
  const identifiers: Identifier[] = [entryUuidIdentifier(entry.entryUuid)];
  if (entry.logicalId && entry.logicalId !== entry.entryUuid) {
    identifiers.push({ use: 'secondary', type: LOGICAL_ID_TYPE, system: RFC3986, value: entry.logicalId });
  }
  const url = o.documentUrl(entry);
  const resource: DocumentReference = {
    resourceType: 'DocumentReference',
    id: o.resourceId(entry.entryUuid),
    ...(entry.limitedMetadata ? { meta: { profile: [MHD_MINIMAL_DOCUMENT_REFERENCE] } } : {}),
    ...(contained.length > 0 ? { contained } : {}),
    ...(extension.length > 0 ? { extension } : {}),
    ...(entry.uniqueId ? { masterIdentifier: uniqueIdToIdentifier(entry.uniqueId) } : {}),
    identifier: identifiers,
    status: status.status,
    ...(entry.typeCode ? { type: concept(entry.typeCode) } : {}),
    ...(entry.classCode ? { category: [concept(entry.classCode)] } : {}),
    ...(entry.patientId ? { subject: patientSubject(entry.patientId, o) } : {}),
    ...(date ? { date } : {}),
    ...(authors.length > 0 ? { author: authors } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(relatesTo.length > 0 ? { relatesTo } : {}),
    ...(entry.comments !== undefined ? { description: entry.comments } : {}),
    ...(entry.confidentialityCodes.length > 0 ? { securityLabel: entry.confidentialityCodes.map(concept) } : {}),
    content: [
      dropUndefined({
        attachment: dropUndefined({
          contentType: entry.mimeType,
          language: entry.languageCode,
          url,
          size: entry.size !== undefined && /^\d+$/.test(entry.size) ? Number(entry.size) : undefined,
          hash: entry.hash && /^[0-9a-fA-F]{40}$/.test(entry.hash) ? Buffer.from(entry.hash, 'hex').toString('base64') : undefined,
          title: entry.title,
          creation: dtmToFhir(entry.creationTime),
        }),
        format: entry.formatCode ? toCoding(entry.formatCode) : undefined,
      }),
    ],
    context: dropUndefined({
      event: entry.eventCodes.length > 0 ? entry.eventCodes.map(concept) : undefined,
      period: entry.serviceStartTime || entry.serviceStopTime
        ? dropUndefined({ start: dtmToFhir(entry.serviceStartTime), end: dtmToFhir(entry.serviceStopTime) })
        : undefined,
      facilityType: entry.healthcareFacilityTypeCode ? concept(entry.healthcareFacilityTypeCode) : undefined,
      practiceSetting: entry.practiceSettingCode ? concept(entry.practiceSettingCode) : undefined,
      sourcePatientInfo: patient ? { reference: '#source-patient' } : undefined,
      related: entry.referenceIds.length > 0
        ? entry.referenceIds.map((r) => ({ identifier: referenceIdToIdentifier(r) }))
        : undefined,
    }),
  };
  if (resource.context && Object.keys(resource.context).length === 0) delete resource.context;
  return resource;
}

export function documentReferenceToDocumentEntry(resource: DocumentReference, options: MhdMappingOptions = {}): { entry: DocumentEntry; associations: Association[] } {
  const o = resolved(options);
  const contained = containedById(resource);
  const entryUuid = entryUuidOf(resource.identifier) ?? o.entryUuidOf(resource.id ?? '');
  const logicalId = resource.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'logicalId'))?.value;
  const attachment = resource.content?.[0]?.attachment;
  const context = resource.context;
  const source = fromSourcePatient(context?.sourcePatientInfo?.reference ? (contained.get(context.sourcePatientInfo.reference) as Patient | undefined) : undefined);
  const legal = resource.authenticator?.reference ? practitionerToXcn(contained.get(resource.authenticator.reference) as Practitioner | undefined) : undefined;
  const extensions = resource.extension;
  const entry: DocumentEntry = dropUndefined({
    entryUuid,
    logicalId: logicalId ?? entryUuid,
    version: findString(extensions, XDS_EXTENSION.version),
    objectType: findString(extensions, XDS_EXTENSION.objectType) === 'on-demand' ? 'on-demand' : 'stable',
    uniqueId: identifierToUniqueId(resource.masterIdentifier),
    patientId: patientFromSubject(resource.subject),
    sourcePatientId: source.sourcePatientId,
    sourcePatientInfo: source.sourcePatientInfo,
    classCode: fromConcept(resource.category?.[0]),
    typeCode: fromConcept(resource.type),
    formatCode: fromCoding(resource.content?.[0]?.format),
    healthcareFacilityTypeCode: fromConcept(context?.facilityType),
    practiceSettingCode: fromConcept(context?.practiceSetting),
    confidentialityCodes: (resource.securityLabel ?? []).map(fromConcept).filter((c): c is Code => !!c),
    eventCodes: (context?.event ?? []).map(fromConcept).filter((c): c is Code => !!c),
    authors: (resource.author ?? []).map((r) => authorFromContained(r, contained)).filter((a): a is Author => !!a),
    creationTime: fhirToDtm(attachment?.creation),
    serviceStartTime: fhirToDtm(context?.period?.start),
    serviceStopTime: fhirToDtm(context?.period?.end),
    languageCode: attachment?.language,
    mimeType: attachment?.contentType,
    hash: attachment?.hash ? Buffer.from(attachment.hash, 'base64').toString('hex') : undefined,
    size: attachment?.size !== undefined ? String(attachment.size) : undefined,
    title: attachment?.title,
    comments: resource.description,
    legalAuthenticator: legal,
    referenceIds: (context?.related ?? []).map((r) => identifierToReferenceId(r.identifier)).filter((v): v is string => !!v),
    repositoryUniqueId: findString(extensions, XDS_EXTENSION.repositoryUniqueId),
    uri: findString(extensions, XDS_EXTENSION.uri),
    availabilityStatus: statusFromDocument(resource),
    documentAvailability: findString(extensions, XDS_EXTENSION.documentAvailability),
    homeCommunityId: findString(extensions, XDS_EXTENSION.homeCommunityId),
    limitedMetadata: resource.meta?.profile?.includes(MHD_MINIMAL_DOCUMENT_REFERENCE) ?? false,
    extraSlots: slotsFrom(extensions),
  });
  const associations: Association[] = [];
  for (const r of resource.relatesTo ?? []) {
    const kept = r.extension?.find((e) => e.url === XDS_EXTENSION.association);
    const targetId = r.target.reference?.replace(/^DocumentReference\//, '') ?? '';
    const defaults: Partial<Association> = { type: RELATES_TO_BACK[r.code], sourceUuid: entryUuid, targetUuid: o.entryUuidOf(targetId) };
    associations.push(associationFrom(kept ?? { url: XDS_EXTENSION.association }, defaults, o));
  }
  for (const e of extensions ?? []) if (e.url === XDS_EXTENSION.association) associations.push(associationFrom(e, {}, o));
  return { entry, associations };
}

// ---------------------------------------------------------------------------------------------
// SubmissionSet / Folder ⇄ List

function listTypeCode(code: 'submissionset' | 'folder'): CodeableConcept {
  return { coding: [{ system: MHD_LIST_TYPES, code }] };
}

function listStatus(status: string | undefined): { status: List['status']; extension: Extension[] } {
  if (status === undefined || status === STATUS.approved) return { status: 'current', extension: [] };
  if (status === STATUS.deprecated) return { status: 'retired', extension: [] };
  return { status: 'current', extension: extString(XDS_EXTENSION.availabilityStatus, status) };
}

/** List.entry for a HasMember association (native), others as extensions on the List. */
function memberEntries(associations: readonly Association[], kinds: ReadonlyMap<string, string>, o: Resolved): { entry: ListEntry[]; extension: Extension[] } {
  const entry: ListEntry[] = [];
  const extension: Extension[] = [];
  for (const a of associations) {
    const targetKind = kinds.get(a.targetUuid);
    if (a.type === 'HasMember' && targetKind !== 'Association') {
      const type = targetKind === 'Folder' ? 'List' : 'DocumentReference';
      entry.push({ item: { reference: `${type}/${o.resourceId(a.targetUuid)}` }, extension: [associationExtension(a, { typeAndEnds: false })] });
    } else {
      extension.push(associationExtension(a, { typeAndEnds: true }));
    }
  }
  return { entry, extension };
}

function associationsFromList(list: List, sourceUuid: string, o: Resolved): Association[] {
  const out: Association[] = [];
  for (const e of list.entry ?? []) {
    const reference = e.item.reference ?? '';
    const targetUuid = o.entryUuidOf(reference.replace(/^(DocumentReference|List)\//, ''));
    const kept = e.extension?.find((x) => x.url === XDS_EXTENSION.association);
    out.push(associationFrom(kept ?? { url: XDS_EXTENSION.association }, { type: 'HasMember', sourceUuid, targetUuid }, o));
  }
  for (const x of list.extension ?? []) if (x.url === XDS_EXTENSION.association) out.push(associationFrom(x, {}, o));
  return out;
}

export function submissionSetToList(set: SubmissionSet, outgoing: readonly Association[], kinds: ReadonlyMap<string, string>, options: MhdMappingOptions = {}): List {
  const o = resolved(options);
  const contained: Resource[] = [];
  const authorRefs = set.authors.map((a, i) => {
    const { role, contained: parts } = authorToContained(a, `author${i}`);
    contained.push(...parts);
    return { reference: `#${role.id}` };
  });
  const status = listStatus(set.availabilityStatus);
  const members = memberEntries(outgoing, kinds, o);
  const extension: Extension[] = [
    ...(set.sourceId ? ext(MHD_EXTENSION.sourceId, { valueIdentifier: { system: RFC3986, value: isOid(set.sourceId) ? `urn:oid:${set.sourceId}` : set.sourceId } }) : []),
    ...(set.contentTypeCode ? ext(MHD_EXTENSION.designationType, { valueCodeableConcept: concept(set.contentTypeCode) }) : []),
    ...set.intendedRecipients.map((r) => ({ url: XDS_EXTENSION.intendedRecipient, valueString: r })),
    ...authorRefs.slice(1).map((r) => ({ url: XDS_EXTENSION.additionalAuthor, valueReference: r })),
    ...status.extension,
    ...extString(XDS_EXTENSION.homeCommunityId, set.homeCommunityId),
    ...slotExtensions(set.extraSlots),
    ...members.extension,
  ];
  return dropUndefined({
    resourceType: 'List' as const,
    id: o.resourceId(set.entryUuid),
    meta: set.limitedMetadata ? { profile: [MHD_MINIMAL_SUBMISSION_SET] } : undefined,
    contained: contained.length > 0 ? contained : undefined,
    extension: extension.length > 0 ? extension : undefined,
    identifier: [...(set.uniqueId ? [uniqueIdToIdentifier(set.uniqueId)] : []), entryUuidIdentifier(set.entryUuid)],
    status: status.status,
    mode: 'working' as const,
    title: set.title,
    code: listTypeCode('submissionset'),
    subject: patientSubject(set.patientId, o),
    date: dtmToFhir(set.submissionTime),
    source: authorRefs[0],
    note: set.comments !== undefined ? [{ text: set.comments }] : undefined,
    entry: members.entry.length > 0 ? members.entry : undefined,
  });
}

export function folderToList(folder: Folder, outgoing: readonly Association[], kinds: ReadonlyMap<string, string>, options: MhdMappingOptions = {}): List {
  const o = resolved(options);
  const status = listStatus(folder.availabilityStatus);
  const members = memberEntries(outgoing, kinds, o);
  const identifiers: Identifier[] = [...(folder.uniqueId ? [uniqueIdToIdentifier(folder.uniqueId)] : []), entryUuidIdentifier(folder.entryUuid)];
  if (folder.logicalId && folder.logicalId !== folder.entryUuid) identifiers.push({ use: 'secondary', type: LOGICAL_ID_TYPE, system: RFC3986, value: folder.logicalId });
  const extension: Extension[] = [
    ...folder.codeList.map((c) => ({ url: MHD_EXTENSION.designationType, valueCodeableConcept: concept(c) })),
    ...status.extension,
    ...extString(XDS_EXTENSION.homeCommunityId, folder.homeCommunityId),
    ...extString(XDS_EXTENSION.version, folder.version),
    ...slotExtensions(folder.extraSlots),
    ...members.extension,
  ];
  return dropUndefined({
    resourceType: 'List' as const,
    id: o.resourceId(folder.entryUuid),
    meta: folder.limitedMetadata ? { profile: [MHD_MINIMAL_FOLDER] } : undefined,
    extension: extension.length > 0 ? extension : undefined,
    identifier: identifiers,
    status: status.status,
    mode: 'working' as const,
    title: folder.title,
    code: listTypeCode('folder'),
    subject: patientSubject(folder.patientId, o),
    date: dtmToFhir(folder.lastUpdateTime),
    note: folder.comments !== undefined ? [{ text: folder.comments }] : undefined,
    entry: members.entry.length > 0 ? members.entry : undefined,
  });
}

export function listKind(list: List): 'SubmissionSet' | 'Folder' | undefined {
  const code = list.code?.coding?.find((c) => c.system === MHD_LIST_TYPES)?.code;
  return code === 'submissionset' ? 'SubmissionSet' : code === 'folder' ? 'Folder' : undefined;
}

export function listToSubmissionSet(list: List, options: MhdMappingOptions = {}): { set: SubmissionSet; associations: Association[] } {
  const o = resolved(options);
  const contained = containedById(list);
  const entryUuid = entryUuidOf(list.identifier) ?? o.entryUuidOf(list.id ?? '');
  const sourceIdValue = list.extension?.find((e) => e.url === MHD_EXTENSION.sourceId)?.valueIdentifier?.value;
  const authorRefs = [list.source, ...(list.extension ?? []).filter((e) => e.url === XDS_EXTENSION.additionalAuthor).map((e) => e.valueReference)];
  const set: SubmissionSet = dropUndefined({
    entryUuid,
    uniqueId: uniqueIdOf(list.identifier),
    sourceId: sourceIdValue?.replace(/^urn:oid:/, ''),
    patientId: patientFromSubject(list.subject),
    submissionTime: fhirToDtm(list.date),
    contentTypeCode: fromConcept(list.extension?.find((e) => e.url === MHD_EXTENSION.designationType)?.valueCodeableConcept),
    authors: authorRefs.map((r) => authorFromContained(r, contained)).filter((a): a is Author => !!a),
    intendedRecipients: (list.extension ?? []).filter((e) => e.url === XDS_EXTENSION.intendedRecipient).map((e) => e.valueString ?? ''),
    title: list.title,
    comments: list.note?.[0]?.text,
    availabilityStatus: statusFromDocument(list),
    homeCommunityId: findString(list.extension, XDS_EXTENSION.homeCommunityId),
    limitedMetadata: list.meta?.profile?.includes(MHD_MINIMAL_SUBMISSION_SET) ?? false,
    extraSlots: slotsFrom(list.extension),
  });
  return { set, associations: associationsFromList(list, entryUuid, o) };
}

export function listToFolder(list: List, options: MhdMappingOptions = {}): { folder: Folder; associations: Association[] } {
  const o = resolved(options);
  const entryUuid = entryUuidOf(list.identifier) ?? o.entryUuidOf(list.id ?? '');
  const logicalId = list.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'logicalId'))?.value;
  const folder: Folder = dropUndefined({
    entryUuid,
    logicalId: logicalId ?? entryUuid,
    version: findString(list.extension, XDS_EXTENSION.version),
    uniqueId: uniqueIdOf(list.identifier),
    patientId: patientFromSubject(list.subject),
    codeList: (list.extension ?? []).filter((e) => e.url === MHD_EXTENSION.designationType).map((e) => fromConcept(e.valueCodeableConcept)).filter((c): c is Code => !!c),
    lastUpdateTime: fhirToDtm(list.date),
    title: list.title,
    comments: list.note?.[0]?.text,
    availabilityStatus: statusFromDocument(list),
    homeCommunityId: findString(list.extension, XDS_EXTENSION.homeCommunityId),
    limitedMetadata: list.meta?.profile?.includes(MHD_MINIMAL_FOLDER) ?? false,
    extraSlots: slotsFrom(list.extension),
  });
  return { folder, associations: associationsFromList(list, entryUuid, o) };
}

// ---------------------------------------------------------------------------------------------
// Whole sets of objects

export interface MhdResources {
  documentReferences: DocumentReference[];
  /** SubmissionSet and Folder Lists (told apart by List.code). */
  lists: List[];
}

/**
 * Maps a submission (or any RegistryObjects) to FHIR. Every association lands on the resource of
 * its source object; `unplaced` holds those whose source is not among the objects.
 */
export function toMhd(objects: RegistryObjects, options: MhdMappingOptions = {}): MhdResources & { unplaced: Association[] } {
  const kinds = new Map<string, string>();
  for (const s of objects.submissionSets) kinds.set(s.entryUuid, 'SubmissionSet');
  for (const d of objects.documentEntries) kinds.set(d.entryUuid, 'DocumentEntry');
  for (const f of objects.folders) kinds.set(f.entryUuid, 'Folder');
  for (const a of objects.associations) kinds.set(a.entryUuid, 'Association');
  const bySource = new Map<string, Association[]>();
  const unplaced: Association[] = [];
  for (const a of objects.associations) {
    const kind = kinds.get(a.sourceUuid);
    if (!kind || kind === 'Association') unplaced.push(a);
    else bySource.set(a.sourceUuid, [...(bySource.get(a.sourceUuid) ?? []), a]);
  }
  // DocumentReference.date (required by PDSm) is when the entry was registered: its submission time.
  const submitted = dtmToFhir(objects.submissionSets[0]?.submissionTime);
  return {
    documentReferences: objects.documentEntries.map((d) => documentEntryToDocumentReference(d, bySource.get(d.entryUuid) ?? [], options, submitted)),
    lists: [
      ...objects.submissionSets.map((s) => submissionSetToList(s, bySource.get(s.entryUuid) ?? [], kinds, options)),
      ...objects.folders.map((f) => folderToList(f, bySource.get(f.entryUuid) ?? [], kinds, options)),
    ],
    unplaced,
  };
}

/** Maps FHIR resources (stored ones, or an ITI-65 submission) back to XDS objects. */
export function fromMhd(resources: MhdResources, options: MhdMappingOptions = {}): RegistryObjects {
  const objects = emptyRegistryObjects();
  for (const r of resources.documentReferences) {
    const { entry, associations } = documentReferenceToDocumentEntry(r, options);
    objects.documentEntries.push(entry);
    objects.associations.push(...associations);
  }
  for (const list of resources.lists) {
    const kind = listKind(list);
    if (kind === 'SubmissionSet') {
      const { set, associations } = listToSubmissionSet(list, options);
      objects.submissionSets.push(set);
      objects.associations.push(...associations);
    } else if (kind === 'Folder') {
      const { folder, associations } = listToFolder(list, options);
      objects.folders.push(folder);
      objects.associations.push(...associations);
    }
  }
  return objects;
}
