// Reads, from a resource's FHIR JSON, the few facts the access engine decides on: its dossier,
// class, type, authors and visibility flags. Pure: the class tables come from the loaded matrix.
//
// What is accepted, deliberately narrow (anything else gives no fact, which hides rather than
// shows):
// - dossier: a relative reference `Patient/<id>` in subject, else patient, else beneficiary
//   (the first of these present decides; a Group or an absolute URL gives no dossier). The
//   FHIR/XDS layers resolve identifier-only subjects (INS) to `Patient/<id>` before storing.
// - class: DocumentReference.category coded in TRE_A03 (urn:oid or NOS URL), else the class of
//   its type in the type-class table; other types: the matrix's resourceClasses table.
// - authors: in author, recorder, asserter, performer (also performer.actor), requester,
//   informationSource and source:
//   an identifier in the PS_IdNat or RPPS system on the reference, `Practitioner/<rpps>`,
//   `Patient/<id>`, `Device/<id>`, or a contained Practitioner (or PractitionerRole whose
//   practitioner is one of those). A PractitionerRole/<id> without an identifier is not
//   resolved (that would need the store).
// - flags: MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX in TRE_A07 (urn:oid or
//   NOS URL), in securityLabel or meta.security.
import type { Resource } from '@medplum/fhirtypes';
import { defaultHabilitations } from './habilitations.ts';
import { CLASS_SYSTEMS, PROFESSIONAL_ID_SYSTEMS, VISIBILITY_CODES, VISIBILITY_SYSTEMS, normaliseRpps } from './systems.ts';
import type { Habilitations, ResourceFacts } from './types.ts';

/** The parts of the matrix resourceFacts needs. */
export type ClassTables = Pick<Habilitations, 'resourceClasses' | 'typeClass'>;

type Json = Record<string, unknown>;
type Coding = { system?: string; code?: string };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The codings of a CodeableConcept, an array of them, or an array of Codings. */
function codings(value: unknown): Coding[] {
  return list(value).flatMap((item) => (isObject(item) && Array.isArray(item.coding) ? item.coding : [item])).filter(isObject) as Coding[];
}

const REFERENCE = /^(Patient|Practitioner|Device)\/([^/]+)(?:\/_history\/[^/]+)?$/;

function dossierOf(resource: Json): string | undefined {
  if (resource.resourceType === 'Patient') return typeof resource.id === 'string' ? resource.id : undefined;
  const field = ['subject', 'patient', 'beneficiary'].find((name) => resource[name] !== undefined);
  const ref = field ? resource[field] : undefined;
  const match = isObject(ref) && typeof ref.reference === 'string' ? REFERENCE.exec(ref.reference) : null;
  return match?.[1] === 'Patient' ? match[2] : undefined;
}

function identifierRpps(identifiers: unknown): string | undefined {
  for (const id of list(identifiers)) {
    if (isObject(id) && PROFESSIONAL_ID_SYSTEMS.includes(id.system as string) && typeof id.value === 'string' && id.value) return normaliseRpps(id.value);
  }
  return undefined;
}

/** Contained resources may point at each other; two hops (role → practitioner) is all we follow. */
const MAX_HOPS = 2;

function containedAuthor(target: Json | undefined, contained: Json[], hops: number): string | undefined {
  if (!target) return undefined;
  if (target.resourceType === 'Practitioner') return identifierRpps(target.identifier);
  if (target.resourceType === 'PractitionerRole') return identifierRpps(target.identifier) ?? referenceAuthor(target.practitioner, contained, hops + 1);
  return undefined;
}

/**
 * The author id a Reference designates: an RPPS number, 'Patient/<id>' or 'Device/<id>'
 * (contained resources looked up in `contained`), or undefined.
 */
export function referenceAuthor(ref: unknown, contained: Json[] = [], hops = 0): string | undefined {
  if (!isObject(ref) || hops > MAX_HOPS) return undefined;
  const fromIdentifier = identifierRpps(ref.identifier);
  if (fromIdentifier) return fromIdentifier;
  if (typeof ref.reference !== 'string') return undefined;
  if (ref.reference.startsWith('#')) {
    const id = ref.reference.slice(1);
    return containedAuthor(
      contained.find((c) => c.id === id),
      contained,
      hops,
    );
  }
  const match = REFERENCE.exec(ref.reference);
  if (!match) return undefined;
  return match[1] === 'Practitioner' ? normaliseRpps(match[2]) : `${match[1]}/${match[2]}`;
}

// informationSource: who a MedicationStatement comes from (the patient, for their declarations);
// source: a List's author (an MHD SubmissionSet's author).
const AUTHOR_FIELDS = ['author', 'recorder', 'asserter', 'performer', 'requester', 'informationSource', 'source'];

function authorsOf(resource: Json): string[] {
  const contained = list(resource.contained).filter(isObject);
  const refs = AUTHOR_FIELDS.flatMap((field) => list(resource[field])).map((item) => (isObject(item) && isObject(item.actor) ? item.actor : item));
  const authors = refs.map((ref) => referenceAuthor(ref, contained)).filter((a): a is string => a !== undefined);
  return [...new Set(authors)];
}

function flagsOf(resource: Json): Pick<ResourceFacts, 'masked' | 'invisibleToPatient' | 'invisibleToRepresentatives'> {
  const flags = { masked: false, invisibleToPatient: false, invisibleToRepresentatives: false };
  const meta = isObject(resource.meta) ? resource.meta : {};
  for (const coding of [...codings(resource.securityLabel), ...codings(meta.security)]) {
    const flag = VISIBILITY_SYSTEMS.includes(coding.system as string) ? VISIBILITY_CODES[coding.code as string] : undefined;
    if (flag) flags[flag] = true;
  }
  return flags;
}

function documentClass(resource: Json, tables: ClassTables): Pick<ResourceFacts, 'classCode' | 'typeCode'> {
  const types = codings(resource.type).filter((c) => typeof c.code === 'string');
  // Prefer a type the table knows (a LOINC or TRE_A05 code) over, say, a local translation.
  const typeCode = (types.find((c) => Object.hasOwn(tables.typeClass, c.code as string)) ?? types[0])?.code;
  const category = codings(resource.category).find((c) => CLASS_SYSTEMS.includes(c.system as string) && typeof c.code === 'string');
  const classCode = category?.code ?? (typeCode !== undefined && Object.hasOwn(tables.typeClass, typeCode) ? tables.typeClass[typeCode] : undefined);
  return { classCode, typeCode };
}

function structuredClass(resource: Json, tables: ClassTables): Pick<ResourceFacts, 'classCode' | 'typeCode'> {
  const type = resource.resourceType as string;
  const rule = Object.hasOwn(tables.resourceClasses, type) ? tables.resourceClasses[type] : undefined;
  if (!rule) return {};
  const refine = rule.refine;
  const codes = refine ? codings(resource[refine.element]).map((c) => c.code) : [];
  const refined = refine ? codes.map((c) => (typeof c === 'string' && Object.hasOwn(refine.codes, c) ? refine.codes[c] : undefined)).find(Boolean) : undefined;
  return { classCode: refined?.class ?? rule.class, typeCode: refined?.type ?? rule.type };
}

/** The access facts of one resource (for the current version of the class tables). */
export function resourceFacts(resource: Resource, tables: ClassTables = defaultHabilitations()): ResourceFacts {
  const json = resource as unknown as Json;
  const type = json.resourceType as string;
  const { classCode, typeCode } = type === 'DocumentReference' ? documentClass(json, tables) : structuredClass(json, tables);
  const facts: ResourceFacts = { type, authors: authorsOf(json), ...flagsOf(json) };
  const dossier = dossierOf(json);
  if (dossier !== undefined) facts.dossier = dossier;
  if (classCode !== undefined) facts.classCode = classCode;
  if (typeCode !== undefined) facts.typeCode = typeCode;
  return facts;
}
