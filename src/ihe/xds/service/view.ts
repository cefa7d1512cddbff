// The registry as one XDS request sees it: stored DocumentReferences and Lists read through the
// caller's gate and turned back into XDS objects (fromMhd's pieces), with caches so that each
// resource is read once per request.
//
// Finding an object by entryUUID or uniqueId needs no dossier in XDS, while the gate only lets a
// professional search inside one dossier: such lookups first *locate* candidates with the
// registry's own view (ids only), then read each through the caller's gate, which hides what the
// caller may not see exactly as if it did not exist. Searches that name the patient go through
// the gate directly, its constraint added to the query.
//
// Associations are kept only when both their ends are visible to the caller, so an answer never
// names the entryUUID of a hidden object.
import { createHash } from 'node:crypto';
import type { DocumentReference, Identifier, List } from '@medplum/fhirtypes';
import type { RequestContext } from '../../../fhir/index.ts';
import { OperationOutcomeError } from '../../../fhir/index.ts';
import type { ResourceBody, StoredVersion } from '../../../store/index.ts';
import { registryError } from '../errors.ts';
import { isUuidUrn, parseCx } from '../hl7v2.ts';
import { documentReferenceToDocumentEntry, listKind, listToFolder, listToSubmissionSet, uniqueIdToIdentifier } from '../mhd-mapping.ts';
import type { Association, DocumentEntry, Folder, RegistryObjects, SubmissionSet } from '../model.ts';
import { patientKey } from '../registry-checks.ts';
import type { Call, XdsService } from './context.ts';
import { guarded, XdsRefusal } from './errors.ts';

export const RFC3986 = 'urn:ietf:rfc:3986';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE = 500;
/** The Binary id of a document held here: attachment.url `Binary/<id>`, relative or under this server's FHIR base. */
export function localBinaryId(url: string | undefined, baseUrl: string): string | undefined {
  if (!url) return undefined;
  const path = url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length + 1) : url;
  return /^Binary\/([A-Za-z0-9\-.]{1,64})$/.exec(path)?.[1];
}

export type ObjectKind = 'DocumentEntry' | 'SubmissionSet' | 'Folder';

/** A stored XDS object: its resource, entryUUID and kind. */
export interface Item {
  readonly type: 'DocumentReference' | 'List';
  readonly id: string;
  readonly ref: string;
  readonly version: StoredVersion;
  /** The stored resource (what updates start from). */
  readonly resource: ResourceBody;
  /** The same, as the MHD mapping reads it (see forMapping). */
  readonly mapped: ResourceBody;
  readonly uuid: string;
  readonly kind: ObjectKind;
}

export type Converted =
  | { readonly kind: 'DocumentEntry'; readonly item: Item; readonly object: DocumentEntry; readonly associations: Association[] }
  | { readonly kind: 'SubmissionSet'; readonly item: Item; readonly object: SubmissionSet; readonly associations: Association[] }
  | { readonly kind: 'Folder'; readonly item: Item; readonly object: Folder; readonly associations: Association[] };

/** FHIR token search value: `system|code`, with the search syntax's special characters escaped. */
export function token(system: string | undefined, code: string): string {
  const esc = (v: string) => v.replace(/[\\,|$]/g, (m) => `\\${m}`);
  return system === undefined ? esc(code) : `${esc(system)}|${esc(code)}`;
}

export function identifierToken(identifier: Identifier): string {
  return token(identifier.system ?? '', identifier.value ?? '');
}

/** A stable UUID for a name (RFC 4122 version 5 layout over SHA-1). */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(`carnet:xds:${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The entryUUID a resource id stands for when the resource carries none. */
export function uuidOfId(type: string, id: string): string {
  return UUID.test(id) ? `urn:uuid:${id}` : nameUuid(`${type}/${id}`);
}

const isLogicalId = (i: Identifier) => i.type?.coding?.some((c) => c.code === 'logicalId') ?? false;

/**
 * The resource as the MHD mapping expects it: the entryUUID identifier is the `official`
 * urn:ietf:rfc:3986 urn:uuid (resources written over FHIR may carry it without `use`, or mark
 * their uniqueId official instead), and there is always one.
 */
function forMapping(version: StoredVersion): { resource: ResourceBody; uuid: string } {
  const resource = version.resource as ResourceBody & { identifier?: Identifier[] };
  const identifiers = resource.identifier ?? [];
  const uuids = identifiers.filter((i) => !isLogicalId(i) && i.system === RFC3986 && isUuidUrn(i.value));
  const chosen = uuids.find((i) => i.use === 'official') ?? uuids[0];
  const uuid = chosen?.value ?? uuidOfId(version.type, version.id);
  const rest = identifiers.filter((i) => i !== chosen).map((i) => (i.use === 'official' ? { ...i, use: 'usual' as const } : i));
  return { resource: { ...resource, identifier: [{ ...(chosen ?? {}), use: 'official', system: RFC3986, value: uuid }, ...rest] }, uuid };
}

/** XDSTooManyResults for a result past `limit` objects. */
export function tooManyResults(limit: number): XdsRefusal {
  return new XdsRefusal([registryError('XDSTooManyResults', `the query matches more than ${limit} objects: narrow it`)]);
}

/** Every matching resource, page after page; more than `limit` is XDSTooManyResults. */
export async function searchAll(
  repository: XdsService['user'],
  ctx: RequestContext,
  type: string,
  params: [string, string][],
  limit: number,
): Promise<StoredVersion[]> {
  const out: StoredVersion[] = [];
  let cursor: string | undefined;
  do {
    const page = await repository.search(ctx, type, [...params, ['_count', String(Math.min(PAGE, limit + 1))], ...(cursor ? [['_cursor', cursor] as [string, string]] : [])]);
    out.push(...page.matches);
    if (out.length > limit) throw tooManyResults(limit);
    cursor = page.next;
  } while (cursor);
  return out;
}

export class View {
  readonly svc: XdsService;
  readonly call: Call;
  readonly #byRef = new Map<string, Promise<Item | undefined>>();
  readonly #uuidById = new Map<string, string>();
  readonly #visible = new Set<string>();
  readonly #patients = new Map<string, Promise<string | undefined>>();
  readonly #converted = new Map<string, Converted>();

  constructor(svc: XdsService, call: Call) {
    this.svc = svc;
    this.call = call;
  }

  // ---- patients (the identity feed is FHIR) ---------------------------------------------------

  /** The Patient id of a CX, or undefined when no Patient carries it (through the gate). */
  patient(cx: string): Promise<string | undefined> {
    const parsed = parseCx(cx);
    const key = patientKey(cx);
    let found = this.#patients.get(key);
    if (!found) {
      const authority = parsed.assigningAuthority?.universalId;
      found = !authority || !parsed.id
        ? Promise.resolve(undefined)
        : guarded('look up this patient', async () => {
          const result = await this.svc.user.search(this.call.ctx, 'Patient', [['identifier', token(`urn:oid:${authority}`, parsed.id)], ['_count', '2']]);
          return result.matches[0]?.id;
        });
      this.#patients.set(key, found);
    }
    return found;
  }

  // ---- items ------------------------------------------------------------------------------------

  /** An item for a version the caller may see; undefined when it is not an XDS object. */
  #item(version: StoredVersion): Item | undefined {
    if (!version.resource || version.deleted) return undefined;
    const type = version.type;
    let kind: ObjectKind | undefined;
    if (type === 'DocumentReference') kind = 'DocumentEntry';
    else if (type === 'List') kind = listKind(version.resource as unknown as List);
    if (!kind) return undefined;
    const { resource: mapped, uuid } = forMapping(version);
    const item: Item = { type: type as Item['type'], id: version.id, ref: `${type}/${version.id}`, version, resource: version.resource, mapped, uuid, kind };
    this.#uuidById.set(version.id, uuid);
    this.#visible.add(uuid);
    this.#byRef.set(item.ref, Promise.resolve(item));
    return item;
  }

  /** Items for versions the user view returned. */
  items(versions: readonly StoredVersion[]): Item[] {
    return versions.map((v) => this.#item(v)).filter((i): i is Item => i !== undefined);
  }

  /** The resource `Type/id`, if the caller may see it. */
  visible(ref: string): Promise<Item | undefined> {
    let found = this.#byRef.get(ref);
    if (!found) {
      const [type, id] = ref.split('/');
      found = (type === 'DocumentReference' || type === 'List') && id
        ? this.svc.user.read(this.call.ctx, type, id).then(
          (v) => this.#item(v),
          (e: unknown) => {
            if (e instanceof OperationOutcomeError && (e.status === 404 || e.status === 410 || e.status === 400)) return undefined;
            throw e;
          },
        )
        : Promise.resolve(undefined);
      this.#byRef.set(ref, found);
    }
    return found;
  }

  /** Searches as the caller (the gate's constraint goes into the query). */
  async search(type: 'DocumentReference' | 'List', params: [string, string][], what: string): Promise<Item[]> {
    const versions = await guarded(what, () => searchAll(this.svc.user, this.call.ctx, type, params, this.svc.limits.maxQueryResults));
    return this.items(versions);
  }

  /** Locates candidates with the registry's view, then reads each as the caller. */
  async #locateThenRead(type: 'DocumentReference' | 'List', params: [string, string][]): Promise<Item[]> {
    const located = await searchAll(this.svc.system, this.call.system, type, params, this.svc.limits.maxQueryResults);
    const items = await Promise.all(located.map((v) => this.visible(`${v.type}/${v.id}`)));
    return items.filter((i): i is Item => i !== undefined);
  }

  /** Objects by entryUUID (DocumentEntries, SubmissionSets and Folders), as the caller sees them. */
  async byUuids(uuids: readonly string[], types: readonly ('DocumentReference' | 'List')[] = ['DocumentReference', 'List']): Promise<Item[]> {
    const wanted = [...new Set(uuids.filter(isUuidUrn))];
    if (wanted.length === 0) return [];
    const found: Item[] = [];
    for (const type of types) {
      const ids = wanted.map((u) => u.slice('urn:uuid:'.length));
      found.push(...(await this.#locateThenRead(type, [['_id', ids.join(',')]])));
      found.push(...(await this.#locateThenRead(type, [['identifier', wanted.map((u) => token(RFC3986, u)).join(',')]])));
    }
    const lower = new Set(wanted.map((u) => u.toLowerCase()));
    const unique = new Map(found.filter((i) => lower.has(i.uuid.toLowerCase())).map((i) => [i.uuid, i]));
    return [...unique.values()];
  }

  /** Every version of the objects with these logicalIds (lid), as the caller sees them. */
  async byLogicalIds(lids: readonly string[], type: 'DocumentReference' | 'List'): Promise<Item[]> {
    const wanted = [...new Set(lids.filter(isUuidUrn))];
    if (wanted.length === 0) return [];
    const items = await this.#locateThenRead(type, [['identifier', wanted.map((l) => token(RFC3986, l)).join(',')]]);
    return items.filter((i) => {
      const c = this.convert(i);
      const lid = c.kind === 'SubmissionSet' ? undefined : c.object.logicalId;
      return lid !== undefined && wanted.includes(lid);
    });
  }

  /** Objects by uniqueId, as the caller sees them (every version of a DocumentEntry). */
  async byUniqueIds(uniqueIds: readonly string[], type: 'DocumentReference' | 'List'): Promise<Item[]> {
    if (uniqueIds.length === 0) return [];
    // The MHD form, and the forms a FHIR client may have written (urn:oid: even for OIDs with
    // leading zeros, or the bare value); the mapped uniqueId decides below.
    const values = [...new Set(uniqueIds.flatMap((u) => [identifierTokenOf(u), token(undefined, u), ...(/^[\d.]+$/.test(u) ? [token(RFC3986, `urn:oid:${u}`)] : [])]))].join(',');
    const items = await this.#locateThenRead(type, [['identifier', values]]);
    const wanted = new Set(uniqueIds);
    return items.filter((i) => {
      const c = this.convert(i);
      return c.object.uniqueId !== undefined && wanted.has(c.object.uniqueId);
    });
  }

  // ---- conversion -------------------------------------------------------------------------------

  /** References an item's native associations point at (relatesTo targets, List entries). */
  static targetsOf(item: Item): string[] {
    if (item.type === 'DocumentReference') {
      return ((item.resource as unknown as DocumentReference).relatesTo ?? []).map((r) => r.target.reference ?? '').filter((r) => r.startsWith('DocumentReference/'));
    }
    return ((item.resource as unknown as List).entry ?? []).map((e) => e.item.reference ?? '').filter((r) => /^(DocumentReference|List)\//.test(r));
  }

  /** Reads the resources the items' associations point at, so their entryUUIDs and visibility are known. */
  async loadTargets(items: readonly Item[]): Promise<void> {
    await Promise.all(items.flatMap((i) => View.targetsOf(i)).map((ref) => this.visible(ref)));
  }

  /** The XDS form of an item (call loadTargets first for the right association ends). */
  convert(item: Item): Converted {
    const cached = this.#converted.get(item.ref);
    if (cached) return cached;
    let n = 0;
    const options = {
      entryUuidOf: (id: string) => this.#uuidById.get(id) ?? uuidOfId('', id),
      newUuid: () => nameUuid(`${item.ref}#${n++}`).slice('urn:uuid:'.length),
    };
    let converted: Converted;
    if (item.kind === 'DocumentEntry') {
      const { entry, associations } = documentReferenceToDocumentEntry(item.mapped as unknown as DocumentReference, options);
      // A document provided over FHIR (ITI-65) whose bytes are a Binary here is in this repository.
      const url = (item.resource as unknown as DocumentReference).content?.[0]?.attachment?.url;
      const local = entry.repositoryUniqueId === undefined && localBinaryId(url, this.call.ctx.baseUrl) !== undefined;
      converted = { kind: 'DocumentEntry', item, object: { ...entry, entryUuid: item.uuid, ...(local ? { repositoryUniqueId: this.svc.repositoryUniqueId } : {}) }, associations };
    } else if (item.kind === 'SubmissionSet') {
      const { set, associations } = listToSubmissionSet(item.mapped as unknown as List, options);
      converted = { kind: 'SubmissionSet', item, object: { ...set, entryUuid: item.uuid }, associations };
    } else {
      const { folder, associations } = listToFolder(item.mapped as unknown as List, options);
      converted = { kind: 'Folder', item, object: { ...folder, entryUuid: item.uuid }, associations };
    }
    this.#converted.set(item.ref, converted);
    return converted;
  }

  /** Whether an object (by entryUUID) was seen and is visible to the caller. */
  isVisible(uuid: string): boolean {
    return this.#visible.has(uuid);
  }

  /**
   * The associations of these items whose both ends the caller may see (an end that is an
   * association counts when that association is kept). `among`, when given, further limits the
   * ends to those objects.
   */
  async associations(items: readonly Item[], among?: ReadonlySet<string>): Promise<Association[]> {
    await this.loadTargets(items);
    const all = items.flatMap((i) => this.convert(i).associations);
    const unknownEnds = all.flatMap((a) => [a.sourceUuid, a.targetUuid]).filter((u) => isUuidUrn(u) && !this.#visible.has(u) && !all.some((b) => b.entryUuid === u));
    if (unknownEnds.length > 0) await this.byUuids(unknownEnds);
    const endOk = (u: string) => this.#visible.has(u) && (!among || among.has(u));
    let kept = all.filter((a) => endOk(a.sourceUuid) && endOk(a.targetUuid));
    // Associations pointing at associations (a SubmissionSet's HasMember to a Folder membership).
    for (let round = 0; round < 2; round++) {
      const ids = new Set(kept.map((a) => a.entryUuid));
      kept = [...kept, ...all.filter((a) => !ids.has(a.entryUuid) && endOk(a.sourceUuid) && ids.has(a.targetUuid))];
    }
    const unique = new Map(kept.map((a) => [a.entryUuid, a]));
    return [...unique.values()];
  }

  /** RegistryObjects for items, with the given associations. */
  objects(items: readonly Item[], associations: readonly Association[] = []): RegistryObjects {
    const objects: RegistryObjects = { submissionSets: [], documentEntries: [], folders: [], associations: [...associations] };
    const seen = new Set<string>();
    for (const item of items) {
      if (seen.has(item.ref)) continue;
      seen.add(item.ref);
      const c = this.convert(item);
      if (c.kind === 'DocumentEntry') objects.documentEntries.push(c.object);
      else if (c.kind === 'SubmissionSet') objects.submissionSets.push(c.object);
      else objects.folders.push(c.object);
    }
    return objects;
  }
}

/** The registry's own view: sees everything, for facts that must not depend on who asks. */
export function systemView(svc: XdsService, call: Call): View {
  return new View({ ...svc, user: svc.system }, { ctx: call.system, system: call.system });
}

/** The identifier search value of a uniqueId (MHD: OID → urn:ietf:rfc:3986|urn:oid:…). */
export function identifierTokenOf(uniqueId: string): string {
  return identifierToken(uniqueIdToIdentifier(uniqueId));
}
