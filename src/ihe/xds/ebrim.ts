// ebRIM 3.0 ⇄ model: reads the RegistryObjectList of a SubmitObjectsRequest (ITI-41/42/57) or an
// AdhocQueryResponse, and writes it back for query answers (LeafClass) and submissions.
//
// Reading is lenient about form and strict about meaning: it never throws on metadata; what it
// cannot place (a slot given twice, a classification without codingScheme, an unknown object
// kind) becomes an XDSRegistryMetadataError in `issues`, and the metadata checks add the rest.
import { randomUUID } from 'node:crypto';
import type { RegistryError } from './errors.ts';
import { registryError } from './errors.ts';
import type { Association, Author, Code, DocumentEntry, Folder, RegistryObjects, Slot, SubmissionSet } from './model.ts';
import { emptyRegistryObjects } from './model.ts';
import {
  ASSOCIATION_TYPE_URN, associationTypeFromUrn, DOCUMENT_ENTRY_SCHEME, EXTERNAL_IDENTIFIER_NAME, FOLDER_SCHEME,
  LIMITED_METADATA, NS, OBJECT_TYPE, REFERENCE_ID_LIST_SLOT, SUBMISSION_SET_SCHEME,
} from './vocabulary.ts';
import type { XmlBuild, XmlChild, XmlElement } from './xml.ts';
import { attr, child, childrenNamed, el, textOf } from './xml.ts';

export interface ParsedRegistryObjects {
  objects: RegistryObjects;
  issues: RegistryError[];
}

/** Scheme and node ids are compared without whitespace: sample messages carry line-wrapped UUIDs. */
function normaliseId(value: string | undefined): string {
  return (value ?? '').replace(/\s+/g, '');
}

const rim = (el: XmlElement | undefined, name: string) => child(el, NS.rim, name);
const rims = (el: XmlElement | undefined, name: string) => childrenNamed(el, NS.rim, name);

// ---------------------------------------------------------------------------------------------
// Reading

/** Reads lcm:SubmitObjectsRequest (or any element holding a rim:RegistryObjectList). */
export function parseSubmitObjectsRequest(request: XmlElement): ParsedRegistryObjects {
  const list = request.name === 'RegistryObjectList' && request.ns === NS.rim ? request : rim(request, 'RegistryObjectList');
  if (!list) {
    return {
      objects: emptyRegistryObjects(),
      issues: [registryError('XDSRegistryMetadataError', 'the request has no rim:RegistryObjectList')],
    };
  }
  return parseRegistryObjectList(list);
}

export function parseRegistryObjectList(list: XmlElement): ParsedRegistryObjects {
  const issues: RegistryError[] = [];
  const objects = emptyRegistryObjects();
  // Classifications may sit at top level and point at a package (how most Document Sources flag
  // the SubmissionSet); gather them first, by the object they classify.
  const external = new Map<string, XmlElement[]>();
  for (const c of rims(list, 'Classification')) {
    const target = attr(c, 'classifiedObject') ?? '';
    external.set(target, [...(external.get(target) ?? []), c]);
  }
  for (const item of list.children) {
    if (item.ns !== NS.rim) {
      issues.push(registryError('XDSRegistryMetadataError', `unexpected element {${item.ns}}${item.name} in RegistryObjectList`));
      continue;
    }
    switch (item.name) {
      case 'ExtrinsicObject':
        objects.documentEntries.push(readDocumentEntry(item, external.get(attr(item, 'id') ?? '') ?? [], issues));
        break;
      case 'RegistryPackage':
        readPackage(item, external.get(attr(item, 'id') ?? '') ?? [], objects, issues);
        break;
      case 'Association':
        objects.associations.push(readAssociation(item, issues));
        break;
      case 'Classification':
      case 'ObjectRef':
        break; // handled above / references to existing objects carry no metadata
      default:
        issues.push(registryError('XDSRegistryMetadataError', `unsupported registry object rim:${item.name}`, attr(item, 'id')));
    }
  }
  return { objects, issues };
}

interface Common {
  id: string;
  slots: Map<string, string[]>;
  title?: string;
  comments?: string;
  classifications: XmlElement[];
  externalIdentifiers: Map<string, string>;
}

/** The parts every RegistryObject shares, with duplicate slots and identifiers reported. */
function readCommon(object: XmlElement, extraClassifications: XmlElement[], issues: RegistryError[]): Common {
  const id = attr(object, 'id') ?? '';
  if (!id) issues.push(registryError('XDSRegistryMetadataError', `rim:${object.name} without an id attribute`));
  const slots = readSlots(object, id, issues);
  const externalIdentifiers = new Map<string, string>();
  for (const e of rims(object, 'ExternalIdentifier')) {
    const scheme = normaliseId(attr(e, 'identificationScheme'));
    if (externalIdentifiers.has(scheme)) {
      issues.push(registryError('XDSRegistryMetadataError', `external identifier ${EXTERNAL_IDENTIFIER_NAME[scheme] ?? scheme} given twice`, id));
    }
    externalIdentifiers.set(scheme, attr(e, 'value') ?? '');
  }
  return {
    id,
    slots,
    title: localizedString(rim(object, 'Name')),
    comments: localizedString(rim(object, 'Description')),
    classifications: [...rims(object, 'Classification'), ...extraClassifications],
    externalIdentifiers,
  };
}

function readSlots(object: XmlElement, location: string, issues: RegistryError[]): Map<string, string[]> {
  const slots = new Map<string, string[]>();
  for (const s of rims(object, 'Slot')) {
    const name = attr(s, 'name') ?? '';
    if (slots.has(name)) issues.push(registryError('XDSRegistryMetadataError', `slot ${name} given twice`, location));
    slots.set(name, rims(rim(s, 'ValueList'), 'Value').map((v) => textOf(v).trim()));
  }
  return slots;
}

function localizedString(holder: XmlElement | undefined): string | undefined {
  const value = attr(rim(holder, 'LocalizedString'), 'value');
  return value === undefined || value === '' ? undefined : value;
}

/** Takes a single-valued slot out of the map, reporting extra values. */
function takeSingle(slots: Map<string, string[]>, name: string, location: string, issues: RegistryError[]): string | undefined {
  const values = slots.get(name);
  slots.delete(name);
  if (!values) return undefined;
  if (values.length !== 1) {
    issues.push(registryError('XDSRegistryMetadataError', `slot ${name} must have exactly one value, has ${values.length}`, location));
  }
  return values[0] === '' ? undefined : values[0];
}

function takeMulti(slots: Map<string, string[]>, name: string): string[] {
  const values = slots.get(name) ?? [];
  slots.delete(name);
  return values.filter((v) => v !== '');
}

function remainingSlots(slots: Map<string, string[]>): Slot[] {
  return [...slots.entries()].map(([name, values]) => ({ name, values }));
}

function readCode(c: XmlElement, location: string, issues: RegistryError[], what: string): Code {
  const slots = readSlots(c, location, issues);
  const scheme = takeSingle(slots, 'codingScheme', location, issues);
  const code = attr(c, 'nodeRepresentation') ?? '';
  if (!code) issues.push(registryError('XDSRegistryMetadataError', `${what} without a code (nodeRepresentation)`, location));
  if (!scheme) issues.push(registryError('XDSRegistryMetadataError', `${what} ${code} without a codingScheme slot`, location));
  const displayName = localizedString(rim(c, 'Name'));
  return { code, codingScheme: scheme ?? '', ...(displayName ? { displayName } : {}) };
}

function readAuthor(c: XmlElement, location: string, issues: RegistryError[]): Author {
  const slots = readSlots(c, location, issues);
  const person = takeSingle(slots, 'authorPerson', location, issues);
  // "authorSpeciality" is a misspelling some senders (and the IPF samples) still use.
  const specialties = [...takeMulti(slots, 'authorSpecialty'), ...takeMulti(slots, 'authorSpeciality')];
  return {
    ...(person ? { person } : {}),
    institutions: takeMulti(slots, 'authorInstitution'),
    roles: takeMulti(slots, 'authorRole'),
    specialties,
    telecoms: takeMulti(slots, 'authorTelecommunication'),
  };
}

/** Splits an object's classifications by scheme; reports schemes this object type does not have. */
function byScheme(common: Common, known: readonly string[], issues: RegistryError[]): Map<string, XmlElement[]> {
  const grouped = new Map<string, XmlElement[]>();
  for (const c of common.classifications) {
    const node = normaliseId(attr(c, 'classificationNode'));
    if (node) {
      grouped.set(`node:${node}`, [...(grouped.get(`node:${node}`) ?? []), c]);
      continue;
    }
    const scheme = normaliseId(attr(c, 'classificationScheme'));
    if (!known.includes(scheme)) {
      issues.push(registryError('XDSRegistryMetadataError', `unknown classification scheme ${scheme || '(none)'}`, common.id));
      continue;
    }
    grouped.set(scheme, [...(grouped.get(scheme) ?? []), c]);
  }
  return grouped;
}

function singleCode(groups: Map<string, XmlElement[]>, scheme: string, what: string, id: string, issues: RegistryError[]): Code | undefined {
  const found = groups.get(scheme) ?? [];
  if (found.length > 1) issues.push(registryError('XDSRegistryMetadataError', `${what} must be given once, found ${found.length}`, id));
  return found[0] ? readCode(found[0], id, issues, what) : undefined;
}

function readDocumentEntry(item: XmlElement, extra: XmlElement[], issues: RegistryError[]): DocumentEntry {
  const common = readCommon(item, extra, issues);
  const { id, slots } = common;
  const s = DOCUMENT_ENTRY_SCHEME;
  const groups = byScheme(common, Object.values(s), issues);
  const objectType = normaliseId(attr(item, 'objectType'));
  if (objectType !== OBJECT_TYPE.stableDocumentEntry && objectType !== OBJECT_TYPE.onDemandDocumentEntry) {
    issues.push(registryError('XDSRegistryMetadataError', `DocumentEntry objectType ${objectType || '(none)'} is neither stable nor on-demand`, id));
  }
  const one = (name: string) => takeSingle(slots, name, id, issues);
  const entry: DocumentEntry = {
    entryUuid: id,
    logicalId: attr(item, 'lid') || undefined,
    version: attr(rim(item, 'VersionInfo'), 'versionName') || undefined,
    objectType: objectType === OBJECT_TYPE.onDemandDocumentEntry ? 'on-demand' : 'stable',
    uniqueId: common.externalIdentifiers.get(s.uniqueId) || undefined,
    patientId: common.externalIdentifiers.get(s.patientId) || undefined,
    sourcePatientId: one('sourcePatientId'),
    sourcePatientInfo: takeMulti(slots, 'sourcePatientInfo'),
    classCode: singleCode(groups, s.classCode, 'classCode', id, issues),
    typeCode: singleCode(groups, s.typeCode, 'typeCode', id, issues),
    formatCode: singleCode(groups, s.formatCode, 'formatCode', id, issues),
    healthcareFacilityTypeCode: singleCode(groups, s.healthcareFacilityTypeCode, 'healthcareFacilityTypeCode', id, issues),
    practiceSettingCode: singleCode(groups, s.practiceSettingCode, 'practiceSettingCode', id, issues),
    confidentialityCodes: (groups.get(s.confidentialityCode) ?? []).map((c) => readCode(c, id, issues, 'confidentialityCode')),
    eventCodes: (groups.get(s.eventCode) ?? []).map((c) => readCode(c, id, issues, 'eventCodeList')),
    authors: (groups.get(s.author) ?? []).map((c) => readAuthor(c, id, issues)),
    creationTime: one('creationTime'),
    serviceStartTime: one('serviceStartTime'),
    serviceStopTime: one('serviceStopTime'),
    languageCode: one('languageCode'),
    mimeType: attr(item, 'mimeType') || undefined,
    hash: one('hash'),
    size: one('size'),
    title: common.title,
    comments: common.comments,
    legalAuthenticator: one('legalAuthenticator'),
    referenceIds: takeMulti(slots, REFERENCE_ID_LIST_SLOT),
    repositoryUniqueId: one('repositoryUniqueId'),
    uri: readUri(slots),
    availabilityStatus: attr(item, 'status') || undefined,
    documentAvailability: one('documentAvailability'),
    homeCommunityId: attr(item, 'home') || undefined,
    limitedMetadata: groups.has(`node:${LIMITED_METADATA.documentEntry}`),
    extraSlots: [],
  };
  entry.extraSlots = remainingSlots(slots);
  return dropUndefined(entry);
}

/** URI slot: one value, or (XDS.a legacy) several `n|part` values to concatenate in order. */
function readUri(slots: Map<string, string[]>): string | undefined {
  const values = takeMulti(slots, 'URI');
  if (values.length <= 1) return values[0];
  const parts = values.map((v) => /^(\d+)\|(.*)$/.exec(v));
  if (parts.every((p) => p)) {
    return parts.sort((a, b) => Number(a![1]) - Number(b![1])).map((p) => p![2]).join('');
  }
  return values.join('');
}

function readPackage(item: XmlElement, extra: XmlElement[], objects: RegistryObjects, issues: RegistryError[]): void {
  const all = [...rims(item, 'Classification'), ...extra].map((c) => normaliseId(attr(c, 'classificationNode')));
  const isSubmissionSet = all.includes(OBJECT_TYPE.submissionSet);
  const isFolder = all.includes(OBJECT_TYPE.folder);
  if (isSubmissionSet === isFolder) {
    issues.push(registryError(
      'XDSRegistryMetadataError',
      isSubmissionSet ? 'RegistryPackage classified both as SubmissionSet and as Folder' : 'RegistryPackage not classified as SubmissionSet or Folder',
      attr(item, 'id'),
    ));
    if (!isSubmissionSet) return;
  }
  if (isSubmissionSet) objects.submissionSets.push(readSubmissionSet(item, extra, issues));
  else objects.folders.push(readFolder(item, extra, issues));
}

function readSubmissionSet(item: XmlElement, extra: XmlElement[], issues: RegistryError[]): SubmissionSet {
  const common = readCommon(item, extra, issues);
  const { id, slots } = common;
  const s = SUBMISSION_SET_SCHEME;
  const groups = byScheme(common, [s.author, s.contentTypeCode], issues);
  const set: SubmissionSet = {
    entryUuid: id,
    uniqueId: common.externalIdentifiers.get(s.uniqueId) || undefined,
    sourceId: common.externalIdentifiers.get(s.sourceId) || undefined,
    patientId: common.externalIdentifiers.get(s.patientId) || undefined,
    submissionTime: takeSingle(slots, 'submissionTime', id, issues),
    contentTypeCode: singleCode(groups, s.contentTypeCode, 'contentTypeCode', id, issues),
    authors: (groups.get(s.author) ?? []).map((c) => readAuthor(c, id, issues)),
    intendedRecipients: takeMulti(slots, 'intendedRecipient'),
    title: common.title,
    comments: common.comments,
    availabilityStatus: attr(item, 'status') || undefined,
    homeCommunityId: attr(item, 'home') || undefined,
    limitedMetadata: groups.has(`node:${LIMITED_METADATA.submissionSet}`),
    extraSlots: [],
  };
  set.extraSlots = remainingSlots(slots);
  return dropUndefined(set);
}

function readFolder(item: XmlElement, extra: XmlElement[], issues: RegistryError[]): Folder {
  const common = readCommon(item, extra, issues);
  const { id, slots } = common;
  const s = FOLDER_SCHEME;
  const groups = byScheme(common, [s.codeList], issues);
  const folder: Folder = {
    entryUuid: id,
    logicalId: attr(item, 'lid') || undefined,
    version: attr(rim(item, 'VersionInfo'), 'versionName') || undefined,
    uniqueId: common.externalIdentifiers.get(s.uniqueId) || undefined,
    patientId: common.externalIdentifiers.get(s.patientId) || undefined,
    codeList: (groups.get(s.codeList) ?? []).map((c) => readCode(c, id, issues, 'codeList')),
    lastUpdateTime: takeSingle(slots, 'lastUpdateTime', id, issues),
    title: common.title,
    comments: common.comments,
    availabilityStatus: attr(item, 'status') || undefined,
    homeCommunityId: attr(item, 'home') || undefined,
    limitedMetadata: groups.has(`node:${LIMITED_METADATA.folder}`),
    extraSlots: [],
  };
  folder.extraSlots = remainingSlots(slots);
  return dropUndefined(folder);
}

function readAssociation(item: XmlElement, issues: RegistryError[]): Association {
  const id = attr(item, 'id') ?? '';
  if (!id) issues.push(registryError('XDSRegistryMetadataError', 'rim:Association without an id attribute'));
  const slots = readSlots(item, id, issues);
  const typeUrn = attr(item, 'associationType') ?? '';
  const type = associationTypeFromUrn(typeUrn);
  if (!type) issues.push(registryError('XDSRegistryMetadataError', `unknown association type ${typeUrn || '(none)'}`, id));
  const sourceUuid = attr(item, 'sourceObject') ?? '';
  const targetUuid = attr(item, 'targetObject') ?? '';
  if (!sourceUuid || !targetUuid) issues.push(registryError('XDSRegistryMetadataError', 'association without sourceObject or targetObject', id));
  const one = (name: string) => takeSingle(slots, name, id, issues);
  const association: Association = {
    entryUuid: id,
    type,
    typeUrn,
    sourceUuid,
    targetUuid,
    submissionSetStatus: one('SubmissionSetStatus'),
    previousVersion: one('PreviousVersion'),
    originalStatus: one('OriginalStatus'),
    newStatus: one('NewStatus'),
    associationPropagation: one('AssociationPropagation'),
    availabilityStatus: attr(item, 'status') || undefined,
    extraSlots: [],
  };
  association.extraSlots = remainingSlots(slots);
  return dropUndefined(association);
}

function dropUndefined<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface BuildOptions {
  /** Ids for the Classification and ExternalIdentifier objects we write (fresh UUIDs by default). */
  newId?: () => string;
}

const rimNamespaces = { 'xmlns:rim': NS.rim };

/** rim:RegistryObjectList with every object in LeafClass form. */
export function buildRegistryObjectList(objects: RegistryObjects, options: BuildOptions = {}): XmlBuild {
  return el('rim:RegistryObjectList', rimNamespaces, buildLeafClassObjects(objects, options));
}

/** The LeafClass objects, for embedding in an answer that declares the rim prefix. */
export function buildLeafClassObjects(objects: RegistryObjects, options: BuildOptions = {}): XmlBuild[] {
  const newId = options.newId ?? (() => `urn:uuid:${randomUUID()}`);
  return [
    ...objects.submissionSets.map((o) => buildSubmissionSet(o, newId)),
    ...objects.folders.map((o) => buildFolder(o, newId)),
    ...objects.documentEntries.map((o) => buildDocumentEntry(o, newId)),
    ...objects.associations.map((o) => buildAssociation(o)),
  ];
}

/** lcm:SubmitObjectsRequest, as ITI-42/57 send it (and ITI-41 inside its request). */
export function buildSubmitObjectsRequest(objects: RegistryObjects, options: BuildOptions = {}): XmlBuild {
  return el('lcm:SubmitObjectsRequest', { 'xmlns:lcm': NS.lcm }, buildRegistryObjectList(objects, options));
}

/** ObjectRef answers: only the ids. */
export function buildObjectRefs(ids: readonly string[]): XmlBuild[] {
  return ids.map((id) => el('rim:ObjectRef', { id }));
}

function slot(name: string, values: readonly (string | undefined)[] | string | undefined): XmlChild {
  const list = (Array.isArray(values) ? values : [values]).filter((v): v is string => v !== undefined && v !== '');
  if (list.length === 0) return undefined;
  return el('rim:Slot', { name }, el('rim:ValueList', {}, list.map((v) => el('rim:Value', {}, v))));
}

function localized(elementName: 'rim:Name' | 'rim:Description', value: string | undefined): XmlChild {
  return value === undefined ? undefined : el(elementName, {}, el('rim:LocalizedString', { value }));
}

function codeClassification(scheme: string, objectId: string, code: Code | undefined, newId: () => string): XmlChild {
  if (!code) return undefined;
  return el(
    'rim:Classification',
    { id: newId(), classificationScheme: scheme, classifiedObject: objectId, nodeRepresentation: code.code, objectType: OBJECT_TYPE.classification },
    slot('codingScheme', code.codingScheme),
    localized('rim:Name', code.displayName),
  );
}

function authorClassification(scheme: string, objectId: string, author: Author, newId: () => string): XmlBuild {
  return el(
    'rim:Classification',
    { id: newId(), classificationScheme: scheme, classifiedObject: objectId, nodeRepresentation: '', objectType: OBJECT_TYPE.classification },
    slot('authorPerson', author.person),
    slot('authorInstitution', author.institutions),
    slot('authorRole', author.roles),
    slot('authorSpecialty', author.specialties),
    slot('authorTelecommunication', author.telecoms),
  );
}

function nodeClassification(node: string, objectId: string, newId: () => string): XmlBuild {
  return el('rim:Classification', { id: newId(), classifiedObject: objectId, classificationNode: node, objectType: OBJECT_TYPE.classification });
}

function externalIdentifier(scheme: string, objectId: string, value: string | undefined, newId: () => string): XmlChild {
  if (value === undefined) return undefined;
  return el(
    'rim:ExternalIdentifier',
    { id: newId(), registryObject: objectId, identificationScheme: scheme, value, objectType: OBJECT_TYPE.externalIdentifier },
    localized('rim:Name', EXTERNAL_IDENTIFIER_NAME[scheme]),
  );
}

function extra(slots: readonly Slot[]): XmlChild[] {
  return slots.map((s) => slot(s.name, s.values));
}

function versionInfo(version: string | undefined): XmlChild {
  return version === undefined ? undefined : el('rim:VersionInfo', { versionName: version });
}

function buildDocumentEntry(d: DocumentEntry, newId: () => string): XmlBuild {
  const s = DOCUMENT_ENTRY_SCHEME;
  const id = d.entryUuid;
  return el(
    'rim:ExtrinsicObject',
    {
      id,
      lid: d.logicalId,
      objectType: d.objectType === 'on-demand' ? OBJECT_TYPE.onDemandDocumentEntry : OBJECT_TYPE.stableDocumentEntry,
      mimeType: d.mimeType,
      status: d.availabilityStatus,
      home: d.homeCommunityId,
    },
    slot('creationTime', d.creationTime),
    slot('hash', d.hash),
    slot('languageCode', d.languageCode),
    slot('legalAuthenticator', d.legalAuthenticator),
    slot('repositoryUniqueId', d.repositoryUniqueId),
    slot('serviceStartTime', d.serviceStartTime),
    slot('serviceStopTime', d.serviceStopTime),
    slot('size', d.size),
    slot('sourcePatientId', d.sourcePatientId),
    slot('sourcePatientInfo', d.sourcePatientInfo),
    slot('URI', d.uri),
    slot(REFERENCE_ID_LIST_SLOT, d.referenceIds),
    slot('documentAvailability', d.documentAvailability),
    extra(d.extraSlots),
    localized('rim:Name', d.title),
    localized('rim:Description', d.comments),
    versionInfo(d.version),
    d.authors.map((a) => authorClassification(s.author, id, a, newId)),
    codeClassification(s.classCode, id, d.classCode, newId),
    d.confidentialityCodes.map((c) => codeClassification(s.confidentialityCode, id, c, newId)),
    d.eventCodes.map((c) => codeClassification(s.eventCode, id, c, newId)),
    codeClassification(s.formatCode, id, d.formatCode, newId),
    codeClassification(s.healthcareFacilityTypeCode, id, d.healthcareFacilityTypeCode, newId),
    codeClassification(s.practiceSettingCode, id, d.practiceSettingCode, newId),
    codeClassification(s.typeCode, id, d.typeCode, newId),
    d.limitedMetadata && nodeClassification(LIMITED_METADATA.documentEntry, id, newId),
    externalIdentifier(s.patientId, id, d.patientId, newId),
    externalIdentifier(s.uniqueId, id, d.uniqueId, newId),
  );
}

function buildSubmissionSet(o: SubmissionSet, newId: () => string): XmlBuild {
  const s = SUBMISSION_SET_SCHEME;
  const id = o.entryUuid;
  return el(
    'rim:RegistryPackage',
    { id, objectType: OBJECT_TYPE.registryPackage, status: o.availabilityStatus, home: o.homeCommunityId },
    slot('submissionTime', o.submissionTime),
    slot('intendedRecipient', o.intendedRecipients),
    extra(o.extraSlots),
    localized('rim:Name', o.title),
    localized('rim:Description', o.comments),
    nodeClassification(OBJECT_TYPE.submissionSet, id, newId),
    o.authors.map((a) => authorClassification(s.author, id, a, newId)),
    codeClassification(s.contentTypeCode, id, o.contentTypeCode, newId),
    o.limitedMetadata && nodeClassification(LIMITED_METADATA.submissionSet, id, newId),
    externalIdentifier(s.uniqueId, id, o.uniqueId, newId),
    externalIdentifier(s.sourceId, id, o.sourceId, newId),
    externalIdentifier(s.patientId, id, o.patientId, newId),
  );
}

function buildFolder(o: Folder, newId: () => string): XmlBuild {
  const s = FOLDER_SCHEME;
  const id = o.entryUuid;
  return el(
    'rim:RegistryPackage',
    { id, lid: o.logicalId, objectType: OBJECT_TYPE.registryPackage, status: o.availabilityStatus, home: o.homeCommunityId },
    slot('lastUpdateTime', o.lastUpdateTime),
    extra(o.extraSlots),
    localized('rim:Name', o.title),
    localized('rim:Description', o.comments),
    versionInfo(o.version),
    nodeClassification(OBJECT_TYPE.folder, id, newId),
    o.codeList.map((c) => codeClassification(s.codeList, id, c, newId)),
    o.limitedMetadata && nodeClassification(LIMITED_METADATA.folder, id, newId),
    externalIdentifier(s.patientId, id, o.patientId, newId),
    externalIdentifier(s.uniqueId, id, o.uniqueId, newId),
  );
}

function buildAssociation(a: Association): XmlBuild {
  return el(
    'rim:Association',
    {
      id: a.entryUuid,
      associationType: a.type ? ASSOCIATION_TYPE_URN[a.type] : a.typeUrn,
      sourceObject: a.sourceUuid,
      targetObject: a.targetUuid,
      objectType: OBJECT_TYPE.association,
      status: a.availabilityStatus,
    },
    slot('SubmissionSetStatus', a.submissionSetStatus),
    slot('PreviousVersion', a.previousVersion),
    slot('OriginalStatus', a.originalStatus),
    slot('NewStatus', a.newStatus),
    slot('AssociationPropagation', a.associationPropagation),
    extra(a.extraSlots),
  );
}
