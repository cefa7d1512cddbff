// ITI-18 Registry Stored Query over the FHIR store: each stored query becomes DocumentReference
// and List searches (patient, status, codes with their AND/OR, time ranges) run through the
// caller's gate, then the exact XDS semantics are applied to what came back (a FHIR search is a
// superset where the two differ: date precision, coding schemes that are not URIs, author
// patterns), and the associations are read off relatesTo and List.entry.
//
// Status mapping (MHD): Approved ⇄ current; Deprecated ⇄ superseded (DocumentReference) or
// retired (List); the DMP's Deleted ⇄ entered-in-error; Archived ⇄ current with PDSm's
// isArchived; any other status rides in an extension beside current.
import type { AdhocQueryRequest, CodeQuery, ContentFilter, DocumentEntryFilter, IdSelector, StoredQuery, TimeRange } from '../stored-query.ts';
import type { Association, Author, Code, DocumentEntry, Folder, RegistryObjects, SubmissionSet } from '../model.ts';
import { ASSOCIATION_TYPE_URN, STATUS } from '../vocabulary.ts';
import { codingSchemeToSystem, dtmToFhir } from '../mhd-mapping.ts';
import { formatCx, parseCx } from '../hl7v2.ts';
import type { Call, XdsService } from './context.ts';
import type { Item } from './view.ts';
import { token, tooManyResults, View } from './view.ts';

const DOCUMENT_STATUS: Record<string, string> = {
  [STATUS.approved]: 'current',
  [STATUS.deprecated]: 'superseded',
  [STATUS.deleted]: 'entered-in-error',
  [STATUS.archived]: 'current',
};
const LIST_STATUS: Record<string, string> = { [STATUS.approved]: 'current', [STATUS.deprecated]: 'retired' };

// ---- matching (the exact XDS semantics, applied to what the searches returned) -----------------

const systemOf = (scheme: string) => codingSchemeToSystem(scheme).system ?? scheme;

export function sameCode(a: Code, b: Code): boolean {
  return a.code === b.code && systemOf(a.codingScheme) === systemOf(b.codingScheme);
}

const anyCode = (have: Code | undefined, wanted: Code[] | undefined) => !wanted || (have !== undefined && wanted.some((w) => sameCode(have, w)));
const codeQuery = (have: readonly Code[], query: CodeQuery | undefined) => !query || query.every((any) => any.some((w) => have.some((h) => sameCode(h, w))));

/** DTM values compared at full precision, the missing parts read as zeros. */
const dtm = (value: string) => value.padEnd(14, '0');
export function inRange(value: string | undefined, range: TimeRange | undefined): boolean {
  if (!range) return true;
  if (value === undefined) return false;
  return (range.from === undefined || dtm(value) >= dtm(range.from)) && (range.to === undefined || dtm(value) < dtm(range.to));
}

/** SQL LIKE (% and _), case-insensitive as most registries answer it. */
export function like(pattern: string): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, 'is');
}

const authorMatches = (authors: readonly Author[], patterns: string[] | undefined) =>
  !patterns || patterns.some((p) => authors.some((a) => a.person !== undefined && like(p).test(a.person)));

export function documentMatches(entry: DocumentEntry, f: DocumentEntryFilter): boolean {
  return (
    (!f.status || f.status.includes(entry.availabilityStatus ?? STATUS.approved)) &&
    anyCode(entry.classCode, f.classCode) &&
    anyCode(entry.typeCode, f.typeCode) &&
    anyCode(entry.practiceSettingCode, f.practiceSettingCode) &&
    anyCode(entry.healthcareFacilityTypeCode, f.healthcareFacilityTypeCode) &&
    anyCode(entry.formatCode, f.formatCode) &&
    codeQuery(entry.eventCodes, f.eventCode) &&
    codeQuery(entry.confidentialityCodes, f.confidentialityCode) &&
    inRange(entry.creationTime, f.creationTime) &&
    inRange(entry.serviceStartTime, f.serviceStartTime) &&
    inRange(entry.serviceStopTime, f.serviceStopTime) &&
    authorMatches(entry.authors, f.authorPerson) &&
    (!f.objectType || f.objectType.includes(entry.objectType))
  );
}

const contentMatches = (entry: DocumentEntry, f: ContentFilter) => documentMatches(entry, f);

// ---- searches --------------------------------------------------------------------------------

function codeParam(name: string, codes: readonly Code[]): [string, string] {
  return [name, codes.map((c) => token(codingSchemeToSystem(c.codingScheme).system, c.code)).join(',')];
}

class Params {
  readonly list: [string, string][] = [];
  readonly #has: (code: string) => boolean;
  constructor(has: (code: string) => boolean) {
    this.#has = has;
  }
  add(name: string, value: string): void {
    if (this.#has(name)) this.list.push([name, value]);
  }
  codes(name: string, codes: readonly Code[] | undefined): void {
    if (codes && codes.length > 0 && this.#has(name)) this.list.push(codeParam(name, codes));
  }
  codeQuery(name: string, query: CodeQuery | undefined): void {
    for (const any of query ?? []) this.codes(name, any);
  }
  range(name: string, range: TimeRange | undefined): void {
    const from = dtmToFhir(range?.from);
    const to = dtmToFhir(range?.to);
    if (from) this.add(name, `ge${from}`);
    if (to) this.add(name, `lt${to}`);
  }
  statuses(statuses: readonly string[] | undefined, table: Record<string, string>, other: string): void {
    if (statuses) this.add('status', [...new Set(statuses.map((s) => table[s] ?? other))].join(','));
  }
}

export class QueryRunner {
  readonly view: View;
  readonly #svc: XdsService;

  constructor(svc: XdsService, call: Call) {
    this.#svc = svc;
    this.view = new View(svc, call);
  }

  #params(type: string): Params {
    return new Params((code) => this.#svc.user.registry.get(type, code) !== undefined);
  }

  /** DocumentEntries of a patient matching the filter. */
  async findDocuments(patientCx: string, f: DocumentEntryFilter): Promise<Item[]> {
    const patient = await this.view.patient(patientCx);
    if (!patient) return [];
    const p = this.#params('DocumentReference');
    p.add('patient', `Patient/${patient}`);
    p.statuses(f.status, DOCUMENT_STATUS, 'current');
    p.codes('category', f.classCode);
    p.codes('type', f.typeCode);
    p.codes('setting', f.practiceSettingCode);
    p.codes('facility', f.healthcareFacilityTypeCode);
    p.codes('format', f.formatCode);
    p.codeQuery('event', f.eventCode);
    p.codeQuery('security-label', f.confidentialityCode);
    p.range('creation', f.creationTime);
    p.range('period-start', f.serviceStartTime);
    p.range('period-end', f.serviceStopTime);
    const items = await this.view.search('DocumentReference', p.list, "search this patient's documents");
    return items.filter((i) => this.#entry(i) && documentMatches(this.#entry(i)!, f));
  }

  /** SubmissionSets or Folders of a patient, in the given statuses. */
  async findLists(patientCx: string, kind: 'SubmissionSet' | 'Folder', statuses: readonly string[]): Promise<Item[]> {
    const patient = await this.view.patient(patientCx);
    if (!patient) return [];
    const p = this.#params('List');
    p.add('patient', `Patient/${patient}`);
    p.add('code', kind === 'SubmissionSet' ? 'submissionset' : 'folder');
    p.statuses(statuses, LIST_STATUS, 'current');
    const items = await this.view.search('List', p.list, `search this patient's ${kind === 'Folder' ? 'folders' : 'submission sets'}`);
    return items.filter((i) => i.kind === kind && statuses.includes(this.view.convert(i).object.availabilityStatus ?? STATUS.approved));
  }

  #entry(item: Item): DocumentEntry | undefined {
    const c = this.view.convert(item);
    return c.kind === 'DocumentEntry' ? c.object : undefined;
  }

  #set(item: Item): SubmissionSet | undefined {
    const c = this.view.convert(item);
    return c.kind === 'SubmissionSet' ? c.object : undefined;
  }

  #folder(item: Item): Folder | undefined {
    const c = this.view.convert(item);
    return c.kind === 'Folder' ? c.object : undefined;
  }

  async #select(ids: IdSelector, type: 'DocumentReference' | 'List'): Promise<Item[]> {
    return ids.by === 'entryUuid' ? this.view.byUuids(ids.values, [type]) : this.view.byUniqueIds(ids.values, type);
  }

  /** Resources of the item's dossier that point at it (List entries, relatesTo), as the caller sees them. */
  async incoming(item: Item, types: readonly ('DocumentReference' | 'List')[] = ['DocumentReference', 'List']): Promise<Item[]> {
    const subject = (item.resource as { subject?: { reference?: string } }).subject?.reference;
    if (!subject?.startsWith('Patient/')) return [];
    const out: Item[] = [];
    if (types.includes('List')) out.push(...(await this.view.search('List', [['patient', subject], ['item', item.ref]], 'search this dossier')));
    if (types.includes('DocumentReference') && item.type === 'DocumentReference') {
      out.push(...(await this.view.search('DocumentReference', [['patient', subject], ['relatesto', item.ref]], 'search this dossier')));
    }
    return out;
  }

  /** Items named by `ids` and their associations (where they are source or target). */
  async #withAssociations(items: Item[]): Promise<{ items: Item[]; associations: Association[] }> {
    const uuids = new Set(items.map((i) => i.uuid));
    const neighbours = (await Promise.all(items.map((i) => this.incoming(i)))).flat();
    const all = await this.view.associations([...items, ...neighbours]);
    return { items, associations: all.filter((a) => uuids.has(a.sourceUuid) || uuids.has(a.targetUuid)) };
  }

  /** A SubmissionSet or Folder with its contents (filtered) and the associations among them. */
  async #andContents(list: Item | undefined, contents: ContentFilter): Promise<RegistryObjects> {
    if (!list) return this.view.objects([]);
    await this.view.loadTargets([list]);
    const members = (await Promise.all(View.targetsOf(list).map((ref) => this.view.visible(ref)))).filter((i): i is Item => i !== undefined);
    const docs = members.filter((m) => m.kind === 'DocumentEntry' && contentMatches(this.#entry(m)!, contents));
    const folders = list.kind === 'SubmissionSet' ? members.filter((m) => m.kind === 'Folder') : [];
    const items = [list, ...docs, ...folders];
    const among = new Set(items.map((i) => i.uuid));
    const associations = await this.view.associations(items, among);
    return this.view.objects(items, associations);
  }

  async run(query: StoredQuery): Promise<RegistryObjects> {
    const view = this.view;
    switch (query.type) {
      case 'FindDocuments':
        return view.objects(await this.findDocuments(query.patientId, query.documents));
      case 'FindDocumentsByReferenceId': {
        const wanted = new Set(query.referenceIds.map(canonicalCx));
        const found = await this.findDocuments(query.patientId, query.documents);
        return view.objects(found.filter((i) => this.#entry(i)!.referenceIds.some((r) => wanted.has(canonicalCx(r)))));
      }
      case 'FindSubmissionSets': {
        const sets = await this.findLists(query.patientId, 'SubmissionSet', query.status);
        return view.objects(sets.filter((i) => {
          const s = this.#set(i)!;
          return (
            (!query.sourceIds || (s.sourceId !== undefined && query.sourceIds.includes(s.sourceId))) &&
            inRange(s.submissionTime, query.submissionTime) &&
            authorMatches(s.authors, query.authorPerson === undefined ? undefined : [query.authorPerson]) &&
            anyCode(s.contentTypeCode, query.contentTypeCodes)
          );
        }));
      }
      case 'FindFolders': {
        const folders = await this.findLists(query.patientId, 'Folder', query.status);
        return view.objects(folders.filter((i) => {
          const f = this.#folder(i)!;
          return inRange(f.lastUpdateTime, query.lastUpdateTime) && codeQuery(f.codeList, query.codes);
        }));
      }
      case 'GetAll': {
        const docs = await this.findDocuments(query.patientId, { ...query.contents, status: query.documentStatus });
        const sets = await this.findLists(query.patientId, 'SubmissionSet', query.submissionSetStatus);
        const folders = await this.findLists(query.patientId, 'Folder', query.folderStatus);
        const items = [...docs, ...sets, ...folders];
        const associations = await view.associations(items, new Set(items.map((i) => i.uuid)));
        return view.objects(items, associations);
      }
      case 'GetDocuments':
        return view.objects(await this.#select(query.ids, 'DocumentReference'));
      case 'GetFolders':
        return view.objects((await this.#select(query.ids, 'List')).filter((i) => i.kind === 'Folder'));
      case 'GetAssociations': {
        const { associations } = await this.#withAssociations(await view.byUuids(query.uuids));
        return view.objects([], associations);
      }
      case 'GetDocumentsAndAssociations': {
        const { items, associations } = await this.#withAssociations(await this.#select(query.ids, 'DocumentReference'));
        return view.objects(items, associations);
      }
      case 'GetSubmissionSets': {
        const targets = await view.byUuids(query.uuids);
        const wanted = new Set(targets.map((t) => t.uuid));
        const sets = (await Promise.all(targets.map((t) => this.incoming(t, ['List'])))).flat().filter((i) => i.kind === 'SubmissionSet');
        const associations = (await view.associations(sets)).filter((a) => a.type === 'HasMember' && wanted.has(a.targetUuid));
        return view.objects(sets, associations);
      }
      case 'GetSubmissionSetAndContents': {
        const [set] = (await this.#select(query.id, 'List')).filter((i) => i.kind === 'SubmissionSet');
        return this.#andContents(set, query.contents);
      }
      case 'GetFolderAndContents': {
        const [folder] = (await this.#select(query.id, 'List')).filter((i) => i.kind === 'Folder');
        return this.#andContents(folder, query.contents);
      }
      case 'GetFoldersForDocument': {
        const docs = await this.#select(query.id, 'DocumentReference');
        const folders = (await Promise.all(docs.map((d) => this.incoming(d, ['List'])))).flat().filter((i) => i.kind === 'Folder');
        return view.objects(folders);
      }
      case 'GetRelatedDocuments': {
        const [doc] = await this.#select(query.id, 'DocumentReference');
        if (!doc) return view.objects([]);
        const types = new Set(query.associationTypes);
        const { associations } = await this.#withAssociations([doc]);
        const related = associations.filter((a) => types.has(a.typeUrn) && a.typeUrn !== ASSOCIATION_TYPE_URN.HasMember);
        if (related.length === 0) return view.objects([]);
        const others = await view.byUuids(related.map((a) => (a.sourceUuid === doc.uuid ? a.targetUuid : a.sourceUuid)), ['DocumentReference']);
        const docs = [doc, ...others].filter((i) => !query.objectType || query.objectType.includes(this.#entry(i)!.objectType));
        const kept = new Set(docs.map((d) => d.uuid));
        return view.objects(docs, related.filter((a) => kept.has(a.sourceUuid) && kept.has(a.targetUuid)));
      }
    }
  }
}

function canonicalCx(value: string): string {
  return formatCx(parseCx(value));
}

/** How many objects an answer holds (what XDSTooManyResults counts). */
export function objectCount(objects: RegistryObjects): number {
  return objects.documentEntries.length + objects.submissionSets.length + objects.folders.length + objects.associations.length;
}

/**
 * Runs an ITI-18 request as the caller. Throws XdsRefusal for refusals, XDSTooManyResults
 * among them: each search stops past the limit, and so does an answer that gathers more.
 */
export async function registryStoredQuery(svc: XdsService, call: Call, request: AdhocQueryRequest): Promise<RegistryObjects> {
  const objects = await new QueryRunner(svc, call).run(request.query);
  if (objectCount(objects) > svc.limits.maxQueryResults) throw tooManyResults(svc.limits.maxQueryResults);
  return objects;
}
