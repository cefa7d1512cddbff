// The FHIR side of XDS data types for the MHD mapping: code systems, DTM times, identifiers,
// persons and organisations (XCN/XON ⇄ contained Practitioner/Organization), authors, the source
// patient, statuses, and the Carnet extensions that keep what MHD does not map. mhd-mapping.ts
// assembles resources from these.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Address, CodeableConcept, Coding, ContactPoint, DocumentReference, Extension, HumanName, Identifier, Organization, Patient,
  Practitioner, PractitionerRole, Reference, Resource,
} from '@medplum/fhirtypes';
import { DEFAULT_PROFILES_DIR } from './affinity-domain.ts';
import type { Cx, Xcn, Xon } from './hl7v2.ts';
import { formatCx, formatXcn, formatXon, isOid, parseCx, parseXcn, parseXon } from './hl7v2.ts';
import type { Association, Author, Code, DocumentEntry, Slot } from './model.ts';
import { codedAuthorValue } from './validate.ts';
import { ASSOCIATION_TYPE_URN, associationTypeFromUrn, STATUS } from './vocabulary.ts';

// ---------------------------------------------------------------------------------------------
// Identifiers of the FHIR side

const MHD = 'https://profiles.ihe.net/ITI/MHD';
export const MHD_EXTENSION = {
  sourceId: `${MHD}/StructureDefinition/ihe-sourceId`,
  designationType: `${MHD}/StructureDefinition/ihe-designationType`,
} as const;
export const MHD_LIST_TYPES = `${MHD}/CodeSystem/MHDlistTypes`;
export const MHD_MINIMAL_DOCUMENT_REFERENCE = `${MHD}/StructureDefinition/IHE.MHD.Minimal.DocumentReference`;
export const MHD_MINIMAL_SUBMISSION_SET = `${MHD}/StructureDefinition/IHE.MHD.Minimal.SubmissionSet`;
export const MHD_MINIMAL_FOLDER = `${MHD}/StructureDefinition/IHE.MHD.Minimal.Folder`;
/** PDSm (French MHD) extension for DMP-archived documents. */
export const PDSM_IS_ARCHIVED = 'https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived';

const CARNET = 'https://carnet.example/fhir/StructureDefinition';
/** Carnet extensions holding XDS attributes that MHD does not map. */
export const XDS_EXTENSION = {
  repositoryUniqueId: `${CARNET}/xds-repository-unique-id`,
  homeCommunityId: `${CARNET}/xds-home-community-id`,
  documentAvailability: `${CARNET}/xds-document-availability`,
  objectType: `${CARNET}/xds-object-type`,
  version: `${CARNET}/xds-version`,
  uri: `${CARNET}/xds-uri`,
  extraSlot: `${CARNET}/xds-extra-slot`,
  association: `${CARNET}/xds-association`,
  codingScheme: `${CARNET}/xds-coding-scheme`,
  additionalInstitution: `${CARNET}/xds-additional-institution`,
  additionalAuthor: `${CARNET}/xds-additional-author`,
  intendedRecipient: `${CARNET}/xds-intended-recipient`,
  sourcePatientInfo: `${CARNET}/xds-source-patient-info`,
  availabilityStatus: `${CARNET}/xds-availability-status`,
  nameType: `${CARNET}/xds-name-type`,
} as const;
/** Marks the DocumentReference identifier that holds the XDS logicalId of a later version. */
export const LOGICAL_ID_TYPE: CodeableConcept = { coding: [{ system: `${CARNET}/xds-identifier-type`, code: 'logicalId' }] };

export const RFC3986 = 'urn:ietf:rfc:3986';
export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

// ---------------------------------------------------------------------------------------------
// Code systems: codingScheme (usually an OID) ⇄ Coding.system, in the form Carnet indexes.

let systemsTable: { toFhir: Map<string, string>; toXds: Map<string, string> } | undefined;

export function codeSystems(): { toFhir: Map<string, string>; toXds: Map<string, string> } {
  if (!systemsTable) {
    // profiles/code-system-aliases.json: each row names one system, the first name is canonical.
    const rows = (JSON.parse(readFileSync(join(DEFAULT_PROFILES_DIR, 'code-system-aliases.json'), 'utf8')) as { systems: string[][] }).systems;
    const toFhir = new Map<string, string>();
    const toXds = new Map<string, string>();
    for (const row of rows) {
      const oidName = row.find((n) => n.startsWith('urn:oid:'));
      if (!oidName) continue;
      const oid = oidName.slice('urn:oid:'.length);
      toFhir.set(oid, row[0]);
      for (const name of row) toXds.set(name, oid);
    }
    systemsTable = { toFhir, toXds };
  }
  return systemsTable;
}

export function codingSchemeToSystem(scheme: string): { system?: string; extension?: Extension[] } {
  if (isOid(scheme)) return { system: codeSystems().toFhir.get(scheme) ?? `urn:oid:${scheme}` };
  if (/^[a-z][a-z0-9+.-]*:\S+$/i.test(scheme)) return { system: scheme };
  // Names such as "Connect-a-thon classCodes" are not URIs: keep them beside the coding.
  return scheme ? { extension: [{ url: XDS_EXTENSION.codingScheme, valueString: scheme }] } : {};
}

export function systemToCodingScheme(coding: Coding): string {
  const kept = coding.extension?.find((e) => e.url === XDS_EXTENSION.codingScheme)?.valueString;
  if (kept) return kept;
  const system = coding.system ?? '';
  return codeSystems().toXds.get(system) ?? (system.startsWith('urn:oid:') ? system.slice('urn:oid:'.length) : system);
}

export function toCoding(code: Code): Coding {
  return { ...codingSchemeToSystem(code.codingScheme), code: code.code, ...(code.displayName ? { display: code.displayName } : {}) };
}

export function fromCoding(coding: Coding | undefined): Code | undefined {
  if (!coding?.code) return undefined;
  return { code: coding.code, codingScheme: systemToCodingScheme(coding), ...(coding.display ? { displayName: coding.display } : {}) };
}

export const concept = (code: Code): CodeableConcept => ({ coding: [toCoding(code)] });
export const fromConcept = (c: CodeableConcept | undefined): Code | undefined => fromCoding(c?.coding?.[0]);

// ---------------------------------------------------------------------------------------------
// Times: XDS DTM (UTC, YYYY[MM[DD[hh[mm[ss]]]]]) ⇄ FHIR dateTime

export function dtmToFhir(dtm: string | undefined): string | undefined {
  const m = dtm && /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?$/.exec(dtm);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  if (!mo) return y;
  if (!d) return `${y}-${mo}`;
  if (!h) return `${y}-${mo}-${d}`;
  return `${y}-${mo}-${d}T${h}:${mi ?? '00'}:${s ?? '00'}Z`;
}

export function fhirToDtm(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) return value.replace(/-/g, '');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/** Patient CX → Identifier: system urn:oid:<assigning authority>, CX.5 as the identifier type. */
export function cxToIdentifier(cx: Cx): Identifier {
  const oid = cx.assigningAuthority?.universalId;
  return {
    ...(oid ? { system: `urn:oid:${oid}` } : {}),
    value: cx.id,
    ...(cx.identifierTypeCode ? { type: { coding: [{ system: V2_0203, code: cx.identifierTypeCode }] } } : {}),
  };
}

export function identifierToCx(identifier: Identifier | undefined): Cx | undefined {
  if (!identifier?.value) return undefined;
  const oid = identifier.system?.startsWith('urn:oid:') ? identifier.system.slice(8) : undefined;
  const type = identifier.type?.coding?.find((c) => c.system === V2_0203)?.code;
  return {
    id: identifier.value,
    ...(oid ? { assigningAuthority: { universalId: oid, universalIdType: 'ISO' } } : {}),
    ...(type ? { identifierTypeCode: type } : {}),
  };
}

/** uniqueId → Identifier per ITI TF-2 Appendix Z.9.1: OID → urn:oid:, OID^ext → system urn:oid:OID. */
export function uniqueIdToIdentifier(uniqueId: string): Identifier {
  const [root, extension] = uniqueId.split('^');
  if (extension !== undefined && isOid(root)) return { use: 'usual', system: `urn:oid:${root}`, value: extension };
  if (isOid(uniqueId)) return { use: 'usual', system: RFC3986, value: `urn:oid:${uniqueId}` };
  if (/^urn:uuid:/i.test(uniqueId)) return { use: 'usual', system: RFC3986, value: uniqueId };
  return { use: 'usual', value: uniqueId };
}

export function identifierToUniqueId(identifier: Identifier | undefined): string | undefined {
  if (!identifier?.value) return undefined;
  if (identifier.system === RFC3986 && identifier.value.startsWith('urn:oid:')) return identifier.value.slice(8);
  if (identifier.system?.startsWith('urn:oid:')) return `${identifier.system.slice(8)}^${identifier.value}`;
  return identifier.value;
}

export function entryUuidIdentifier(entryUuid: string): Identifier {
  return { use: 'official', system: RFC3986, value: entryUuid };
}

export function uniqueIdOf(identifiers: Identifier[] | undefined): string | undefined {
  return identifierToUniqueId(identifiers?.find((i) => i.use === 'usual'));
}

export function entryUuidOf(identifiers: Identifier[] | undefined): string | undefined {
  return identifiers?.find((i) => i.use === 'official' && i.system === RFC3986)?.value;
}

// ---------------------------------------------------------------------------------------------
// Options

export interface MhdMappingOptions {
  /** FHIR id of the resource for an XDS entryUUID (default: the UUID without `urn:uuid:`). */
  resourceId?: (entryUuid: string) => string;
  /** The reverse of resourceId (default: prefix `urn:uuid:` to UUID-shaped ids). */
  entryUuidOf?: (resourceId: string) => string;
  /** Patient/<id> for a patient CX, when the caller knows it; the identifier is always written. */
  patientReference?: (patientCx: string) => string | undefined;
  /** content.attachment.url of a document (MHD requires one), e.g. its Binary. */
  documentUrl?: (entry: DocumentEntry) => string | undefined;
  /** UUIDs for associations that FHIR-native resources do not identify. */
  newUuid?: () => string;
}

const defaultResourceId = (entryUuid: string) => entryUuid.replace(/^urn:uuid:/, '');
const defaultEntryUuidOf = (id: string) => (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? `urn:uuid:${id}` : id);

export function resolved(options: MhdMappingOptions) {
  return {
    resourceId: options.resourceId ?? defaultResourceId,
    entryUuidOf: options.entryUuidOf ?? defaultEntryUuidOf,
    patientReference: options.patientReference ?? (() => undefined),
    documentUrl: options.documentUrl ?? (() => undefined),
    newUuid: options.newUuid ?? (() => crypto.randomUUID()),
  };
}
export type Resolved = ReturnType<typeof resolved>;

export function patientSubject(cx: string | undefined, o: Resolved): Reference<Patient> | undefined {
  if (!cx) return undefined;
  const reference = o.patientReference(cx);
  return { ...(reference ? { reference } : {}), identifier: cxToIdentifier(parseCx(cx)) };
}

export function patientFromSubject(subject: Reference | undefined): string | undefined {
  const cx = identifierToCx(subject?.identifier);
  return cx ? formatCx(cx) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Extensions helpers

export function ext(url: string, value: Partial<Extension> | undefined): Extension[] {
  return value ? [{ url, ...value } as Extension] : [];
}

export function extString(url: string, value: string | undefined): Extension[] {
  return value === undefined ? [] : [{ url, valueString: value }];
}

export function findString(extensions: Extension[] | undefined, url: string): string | undefined {
  return extensions?.find((e) => e.url === url)?.valueString;
}

export function slotExtensions(slots: readonly Slot[]): Extension[] {
  return slots.map((s) => ({
    url: XDS_EXTENSION.extraSlot,
    extension: [{ url: 'name', valueString: s.name }, ...s.values.map((v) => ({ url: 'value', valueString: v }))],
  }));
}

export function slotsFrom(extensions: Extension[] | undefined): Slot[] {
  return (extensions ?? [])
    .filter((e) => e.url === XDS_EXTENSION.extraSlot)
    .map((e) => ({
      name: e.extension?.find((x) => x.url === 'name')?.valueString ?? '',
      values: (e.extension ?? []).filter((x) => x.url === 'value').map((x) => x.valueString ?? ''),
    }));
}

/** An association as a complex extension (the parts a native placement does not imply). */
export function associationExtension(a: Association, parts: { typeAndEnds: boolean }): Extension {
  const sub: Extension[] = [{ url: 'id', valueUri: a.entryUuid }];
  if (parts.typeAndEnds) {
    sub.push({ url: 'type', valueUri: a.type ? ASSOCIATION_TYPE_URN[a.type] : a.typeUrn });
    sub.push({ url: 'source', valueUri: a.sourceUuid }, { url: 'target', valueUri: a.targetUuid });
  }
  const optional: [string, string | undefined][] = [
    ['submissionSetStatus', a.submissionSetStatus], ['previousVersion', a.previousVersion], ['originalStatus', a.originalStatus],
    ['newStatus', a.newStatus], ['associationPropagation', a.associationPropagation], ['availabilityStatus', a.availabilityStatus],
  ];
  for (const [url, value] of optional) if (value !== undefined) sub.push({ url, valueString: value });
  sub.push(...slotExtensions(a.extraSlots));
  return { url: XDS_EXTENSION.association, extension: sub };
}

export function associationFrom(e: Extension, defaults: Partial<Association>, o: Resolved): Association {
  const get = (url: string) => {
    const x = e.extension?.find((s) => s.url === url);
    return x?.valueUri ?? x?.valueString;
  };
  const typeUrn = get('type') ?? (defaults.type ? ASSOCIATION_TYPE_URN[defaults.type] : defaults.typeUrn ?? '');
  const a: Association = {
    entryUuid: get('id') ?? `urn:uuid:${o.newUuid()}`,
    typeUrn,
    type: associationTypeFromUrn(typeUrn),
    sourceUuid: get('source') ?? defaults.sourceUuid ?? '',
    targetUuid: get('target') ?? defaults.targetUuid ?? '',
    submissionSetStatus: get('submissionSetStatus'),
    previousVersion: get('previousVersion'),
    originalStatus: get('originalStatus'),
    newStatus: get('newStatus'),
    associationPropagation: get('associationPropagation'),
    availabilityStatus: get('availabilityStatus'),
    extraSlots: slotsFrom(e.extension),
  };
  return dropUndefined(a);
}

export function dropUndefined<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}

// ---------------------------------------------------------------------------------------------
// Persons, organisations, authors (contained resources)

// XCN.10 name type (HL7 table 0200) ⇄ HumanName.use; other codes ride in an extension.
const NAME_USE: Record<string, HumanName['use']> = { D: 'usual', L: 'official', M: 'maiden' };
const NAME_TYPE: Record<string, string> = { usual: 'D', official: 'L', maiden: 'M' };

export function xcnToPractitioner(id: string, value: string): Practitioner {
  const xcn = parseXcn(value);
  const nameType = xcn.nameTypeCode;
  const name: HumanName = dropUndefined({
    use: nameType ? NAME_USE[nameType] : undefined,
    extension: nameType && !NAME_USE[nameType] ? [{ url: XDS_EXTENSION.nameType, valueString: nameType }] : undefined,
    family: xcn.familyName,
    given: [xcn.givenName, xcn.secondAndFurtherGivenNames].filter((g): g is string => !!g),
    prefix: xcn.prefix ? [xcn.prefix] : undefined,
    suffix: [xcn.suffix, xcn.degree].filter((s): s is string => !!s),
  });
  if (name.given?.length === 0) delete name.given;
  if (name.suffix?.length === 0) delete name.suffix;
  const identifier: Identifier | undefined = xcn.id
    ? dropUndefined({
        system: xcn.assigningAuthority?.universalId ? `urn:oid:${xcn.assigningAuthority.universalId}` : undefined,
        value: xcn.id,
        type: xcn.identifierTypeCode ? { coding: [{ system: V2_0203, code: xcn.identifierTypeCode }] } : undefined,
      })
    : undefined;
  return dropUndefined({
    resourceType: 'Practitioner' as const,
    id,
    identifier: identifier ? [identifier] : undefined,
    name: Object.keys(name).length > 0 ? [name] : undefined,
  });
}

export function practitionerToXcn(p: Practitioner | undefined): string | undefined {
  if (!p) return undefined;
  const identifier = p.identifier?.[0];
  const name = p.name?.[0];
  const oid = identifier?.system?.startsWith('urn:oid:') ? identifier.system.slice(8) : undefined;
  const xcn: Xcn = dropUndefined({
    id: identifier?.value,
    familyName: name?.family,
    givenName: name?.given?.[0],
    secondAndFurtherGivenNames: name?.given?.[1],
    prefix: name?.prefix?.[0],
    suffix: name?.suffix?.[0],
    degree: name?.suffix?.[1],
    assigningAuthority: oid ? { universalId: oid, universalIdType: 'ISO' } : undefined,
    nameTypeCode: (name?.use ? NAME_TYPE[name.use] : undefined) ?? findString(name?.extension, XDS_EXTENSION.nameType),
    identifierTypeCode: identifier?.type?.coding?.find((c) => c.system === V2_0203)?.code,
  });
  const value = formatXcn(xcn);
  return value === '' ? undefined : value;
}

export function xonToOrganization(id: string, value: string): Organization {
  const xon = parseXon(value);
  const oid = xon.assigningAuthority?.universalId;
  const idValue = xon.organizationIdentifier ?? xon.idNumber;
  const identifier: Identifier | undefined = idValue
    ? dropUndefined({
        system: oid ? `urn:oid:${oid}` : undefined,
        value: idValue,
        type: xon.identifierTypeCode ? { coding: [{ system: V2_0203, code: xon.identifierTypeCode }] } : undefined,
      })
    : undefined;
  return dropUndefined({ resourceType: 'Organization' as const, id, name: xon.organizationName, identifier: identifier ? [identifier] : undefined });
}

export function organizationToXon(org: Organization | undefined): string | undefined {
  if (!org) return undefined;
  const identifier = org.identifier?.[0];
  const oid = identifier?.system?.startsWith('urn:oid:') ? identifier.system.slice(8) : undefined;
  const xon: Xon = dropUndefined({
    organizationName: org.name,
    assigningAuthority: oid ? { universalId: oid, universalIdType: 'ISO' } : undefined,
    identifierTypeCode: identifier?.type?.coding?.find((c) => c.system === V2_0203)?.code,
    organizationIdentifier: identifier?.value,
  });
  const value = formatXon(xon);
  return value === '' ? undefined : value;
}

/** authorRole / authorSpecialty string → CodeableConcept (plain, `code^display^OID` or `code^^^&OID&ISO`). */
export function authorValueToConcept(value: string): CodeableConcept {
  const coded = codedAuthorValue(value);
  const system = coded.codingScheme ? codingSchemeToSystem(coded.codingScheme) : {};
  return { coding: [{ ...system, code: coded.code, ...(coded.display ? { display: coded.display } : {}) }] };
}

export function conceptToAuthorValue(c: CodeableConcept): string {
  const coding = c.coding?.[0];
  if (!coding?.code) return c.text ?? '';
  const scheme = coding.system || coding.extension ? systemToCodingScheme(coding) : undefined;
  if (!scheme) return coding.code;
  if (coding.display) return `${coding.code}^${coding.display}^${scheme}`;
  return `${coding.code}^^^&${scheme}&ISO`;
}

/** XTN → ContactPoint: e-mail (XTN.3 Internet, address in XTN.4) or phone (XTN.12, else XTN.1). */
export function xtnToContactPoint(value: string): ContactPoint {
  const c = value.split('^');
  if (c[2] === 'Internet' || c[2] === 'X.400') return { system: 'email', value: c[3] ?? '' };
  return { system: c[2] === 'FX' ? 'fax' : 'phone', value: c[11] || c[0] || '' };
}

export function contactPointToXtn(cp: ContactPoint): string {
  if (cp.system === 'email') return `^^Internet^${cp.value ?? ''}`;
  return `^^${cp.system === 'fax' ? 'FX' : 'PH'}^^^^^^^^^${cp.value ?? ''}`;
}

/** One XDS author → a contained PractitionerRole (with its Practitioner and Organizations). */
export function authorToContained(author: Author, key: string): { role: PractitionerRole; contained: Resource[] } {
  const contained: Resource[] = [];
  const role: PractitionerRole = { resourceType: 'PractitionerRole', id: key };
  if (author.person) {
    const practitioner = xcnToPractitioner(`${key}-person`, author.person);
    contained.push(practitioner);
    role.practitioner = { reference: `#${practitioner.id}` };
  }
  author.institutions.forEach((value, i) => {
    const org = xonToOrganization(`${key}-org${i}`, value);
    contained.push(org);
    if (i === 0) role.organization = { reference: `#${org.id}` };
    else role.extension = [...(role.extension ?? []), { url: XDS_EXTENSION.additionalInstitution, valueReference: { reference: `#${org.id}` } }];
  });
  if (author.roles.length > 0) role.code = author.roles.map(authorValueToConcept);
  if (author.specialties.length > 0) role.specialty = author.specialties.map(authorValueToConcept);
  if (author.telecoms.length > 0) role.telecom = author.telecoms.map(xtnToContactPoint);
  return { role, contained: [role, ...contained] };
}

export function containedById(resource: { contained?: Resource[] }): Map<string, Resource> {
  return new Map((resource.contained ?? []).map((r) => [`#${r.id}`, r]));
}

export function authorFromContained(ref: Reference | undefined, contained: Map<string, Resource>): Author | undefined {
  const target = ref?.reference ? contained.get(ref.reference) : undefined;
  if (!target) return undefined;
  const author: Author = { institutions: [], roles: [], specialties: [], telecoms: [] };
  if (target.resourceType === 'Practitioner') {
    const person = practitionerToXcn(target);
    if (person) author.person = person;
    return author;
  }
  if (target.resourceType === 'Organization') {
    const xon = organizationToXon(target);
    if (xon) author.institutions.push(xon);
    return author;
  }
  if (target.resourceType !== 'PractitionerRole') return undefined;
  const person = target.practitioner?.reference ? practitionerToXcn(contained.get(target.practitioner.reference) as Practitioner | undefined) : undefined;
  if (person) author.person = person;
  const orgRefs = [target.organization, ...(target.extension ?? []).filter((e) => e.url === XDS_EXTENSION.additionalInstitution).map((e) => e.valueReference)];
  for (const r of orgRefs) {
    const xon = r?.reference ? organizationToXon(contained.get(r.reference) as Organization | undefined) : undefined;
    if (xon) author.institutions.push(xon);
  }
  author.roles = (target.code ?? []).map(conceptToAuthorValue).filter((v) => v !== '');
  author.specialties = (target.specialty ?? []).map(conceptToAuthorValue).filter((v) => v !== '');
  author.telecoms = (target.telecom ?? []).map(contactPointToXtn);
  return author;
}

// ---------------------------------------------------------------------------------------------
// sourcePatientId / sourcePatientInfo ⇄ contained Patient

const GENDER: Record<string, Patient['gender']> = { M: 'male', F: 'female', O: 'other', U: 'unknown', A: 'other' };
const GENDER_BACK: Record<string, string> = { male: 'M', female: 'F', other: 'O', unknown: 'U' };

export function sourcePatient(entry: DocumentEntry): Patient | undefined {
  if (!entry.sourcePatientId && entry.sourcePatientInfo.length === 0) return undefined;
  const patient: Patient = { resourceType: 'Patient', id: 'source-patient' };
  const identifiers: Identifier[] = [];
  if (entry.sourcePatientId) identifiers.push({ use: 'usual', ...cxToIdentifier(parseCx(entry.sourcePatientId)) });
  const unmapped: string[] = [];
  for (const line of entry.sourcePatientInfo) {
    const bar = line.indexOf('|');
    const field = bar > 0 ? line.slice(0, bar) : '';
    const value = bar > 0 ? line.slice(bar + 1) : line;
    const c = value.split('^');
    switch (field) {
      case 'PID-3':
        identifiers.push({ use: 'secondary', ...cxToIdentifier(parseCx(value)) });
        break;
      case 'PID-5': {
        const name: HumanName = dropUndefined({
          family: c[0] || undefined,
          given: [c[1], c[2]].filter((g): g is string => !!g),
          suffix: c[3] ? [c[3]] : undefined,
          prefix: c[4] ? [c[4]] : undefined,
        });
        if (name.given?.length === 0) delete name.given;
        patient.name = [...(patient.name ?? []), name];
        break;
      }
      case 'PID-7':
        if (/^\d{8}$/.test(value)) patient.birthDate = `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
        else unmapped.push(line);
        break;
      case 'PID-8':
        if (GENDER[value]) patient.gender = GENDER[value];
        else unmapped.push(line);
        break;
      case 'PID-11': {
        const address: Address = dropUndefined({
          line: [c[0], c[1]].filter((l): l is string => !!l),
          city: c[2] || undefined,
          state: c[3] || undefined,
          postalCode: c[4] || undefined,
          country: c[5] || undefined,
        });
        if (address.line?.length === 0) delete address.line;
        patient.address = [...(patient.address ?? []), address];
        break;
      }
      default:
        unmapped.push(line);
    }
  }
  if (identifiers.length > 0) patient.identifier = identifiers;
  if (unmapped.length > 0) patient.extension = unmapped.map((line) => ({ url: XDS_EXTENSION.sourcePatientInfo, valueString: line }));
  return patient;
}

export function fromSourcePatient(patient: Patient | undefined): { sourcePatientId?: string; sourcePatientInfo: string[] } {
  if (!patient) return { sourcePatientInfo: [] };
  const info: string[] = [];
  let sourcePatientId: string | undefined;
  for (const identifier of patient.identifier ?? []) {
    const cx = identifierToCx(identifier);
    if (!cx) continue;
    if (identifier.use === 'usual' && !sourcePatientId) sourcePatientId = formatCx(cx);
    else info.push(`PID-3|${formatCx(cx)}`);
  }
  const join = (parts: (string | undefined)[]) => {
    const values = parts.map((p) => p ?? '');
    while (values.length > 0 && values[values.length - 1] === '') values.pop();
    return values.join('^');
  };
  for (const n of patient.name ?? []) info.push(`PID-5|${join([n.family, n.given?.[0], n.given?.[1], n.suffix?.[0], n.prefix?.[0]])}`);
  if (patient.birthDate) info.push(`PID-7|${patient.birthDate.replace(/-/g, '')}`);
  if (patient.gender) info.push(`PID-8|${GENDER_BACK[patient.gender]}`);
  for (const a of patient.address ?? []) info.push(`PID-11|${join([a.line?.[0], a.line?.[1], a.city, a.state, a.postalCode, a.country])}`);
  for (const e of patient.extension ?? []) if (e.url === XDS_EXTENSION.sourcePatientInfo && e.valueString) info.push(e.valueString);
  return { ...(sourcePatientId ? { sourcePatientId } : {}), sourcePatientInfo: info };
}

// ---------------------------------------------------------------------------------------------
// Statuses

export function documentStatus(status: string | undefined): { status: DocumentReference['status']; extension: Extension[] } {
  switch (status) {
    case STATUS.deprecated:
      return { status: 'superseded', extension: [] };
    case STATUS.deleted:
      // The DMP's logical deletion; MHD has no such status (see dmp-fr.md §8).
      return { status: 'entered-in-error', extension: [] };
    case STATUS.archived:
      return { status: 'current', extension: [{ url: PDSM_IS_ARCHIVED, valueBoolean: true }] };
    case undefined:
    case STATUS.approved:
      return { status: 'current', extension: [] };
    default:
      return { status: 'current', extension: extString(XDS_EXTENSION.availabilityStatus, status) };
  }
}

export function statusFromDocument(resource: { status?: string; extension?: Extension[] }): string {
  const kept = findString(resource.extension, XDS_EXTENSION.availabilityStatus);
  if (kept) return kept;
  if (resource.status === 'superseded' || resource.status === 'retired') return STATUS.deprecated;
  if (resource.status === 'entered-in-error') return STATUS.deleted;
  if (resource.extension?.some((e) => e.url === PDSM_IS_ARCHIVED && e.valueBoolean === true)) return STATUS.archived;
  return STATUS.approved;
}


/** referenceIdList CXi → Identifier: CX.5 (a URN) as the type, CX.6 assigning facility as assigner. */
export function referenceIdToIdentifier(value: string): Identifier {
  const cx = parseCx(value);
  const facility = cx.assigningFacility?.universalId;
  return dropUndefined({
    ...cxToIdentifier({ ...cx, identifierTypeCode: undefined }),
    type: cx.identifierTypeCode ? { coding: [{ system: RFC3986, code: cx.identifierTypeCode }] } : undefined,
    assigner: facility ? { identifier: { system: RFC3986, value: `urn:oid:${facility}` } } : undefined,
  });
}

export function identifierToReferenceId(identifier: Identifier | undefined): string | undefined {
  if (!identifier?.value) return undefined;
  const oid = identifier.system?.startsWith('urn:oid:') ? identifier.system.slice(8) : undefined;
  const facility = identifier.assigner?.identifier?.value?.replace(/^urn:oid:/, '');
  const cx: Cx = dropUndefined({
    id: identifier.value,
    assigningAuthority: oid ? { universalId: oid, universalIdType: 'ISO' } : undefined,
    identifierTypeCode: identifier.type?.coding?.[0]?.code,
    assigningFacility: facility ? { universalId: facility, universalIdType: 'ISO' } : undefined,
  });
  return formatCx(cx);
}
