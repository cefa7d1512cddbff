// Registering a submission (ITI-42, and ITI-41 once its documents are staged): the registry
// checks against the store, entryUUIDs assigned, the objects mapped to FHIR (MHD) and committed
// in ONE repository commit with everything the submission implies — documents' Binaries, the
// replaced entries set to Deprecated (superseded), existing Folders that gain members (those the
// submission names, and those of a replaced entry, which its replacement joins) — so the store
// holds all of it or none of it.
import { randomUUID } from 'node:crypto';
import type { PreparedWrite } from '../../../fhir/index.ts';
import type { ResourceBody } from '../../../store/index.ts';
import type { RegistryError } from '../errors.ts';
import { hasErrors, registryError } from '../errors.ts';
import type { MhdMappingOptions } from '../mhd-mapping.ts';
import { dtmToFhir, toMhd, XDS_EXTENSION } from '../mhd-mapping.ts';
import type { Association, RegistryObjects } from '../model.ts';
import { assignEntryUuids } from '../model.ts';
import { checkAgainstRegistry, patientKey } from '../registry-checks.ts';
import { ASSOCIATION_TYPE_URN, STATUS } from '../vocabulary.ts';
import type { Call, XdsService } from './context.ts';
import { nowDtm, withMember, withStatus } from './edits.ts';
import { guarded } from './errors.ts';
import type { GatheredFacts } from './facts.ts';
import { gatherFacts } from './facts.ts';
import type { Item } from './view.ts';
import { systemView, View } from './view.ts';

/** A document provided by ITI-41, its bytes already in a staged blob. */
export interface StagedDocument {
  readonly blobId: string;
  readonly contentType: string;
  /** CDA narrative text, kept with the document for keyword search. */
  readonly narrative?: string;
}

/** Internal (never shown) note on a Binary: the CDA narrative text. */
export const NARRATIVE_EXTENSION = 'urn:carnet:internal:cda-narrative';

const REPLACING = new Set(['RPLC', 'XFRM_RPLC']);

/** Writes collected for one commit; each is prepared through the repository that decides it. */
export class WriteSet {
  readonly writes: PreparedWrite[] = [];
  readonly #keys = new Set<string>();

  has(type: string, id: string): boolean {
    return this.#keys.has(`${type}/${id}`);
  }

  add(write: PreparedWrite): void {
    this.#keys.add(`${write.type}/${write.id}`);
    this.writes.push(write);
  }
}

/** The Binary holding a provided document; it follows its DocumentReference for access. */
export async function binaryWrite(svc: XdsService, call: Call, id: string, document: StagedDocument): Promise<PreparedWrite> {
  const binary: ResourceBody = {
    resourceType: 'Binary',
    id,
    contentType: document.contentType,
    securityContext: { reference: `DocumentReference/${id}` },
    ...(document.narrative ? { meta: { extension: [{ url: NARRATIVE_EXTENSION, valueString: document.narrative }] } } : {}),
  };
  const write = await guarded('store the document', () => svc.system.prepareWrite(call.system, 'create', 'Binary', id, svc.system.binaryWithBlob(binary, document.blobId)));
  return { ...write, blobs: [document.blobId] };
}

/** A Folder membership the registry adds itself (a replacement joining the replaced entry's Folders). */
export interface OwnMembership {
  readonly folder: Item;
  readonly association: Association;
}

/**
 * Associations whose source is an existing object: a Folder gaining members is updated; any
 * other kind is refused. `own` are memberships the registry adds on its own account: a Folder
 * that only gains those is written by the registry, one the submission names too is written as
 * the caller (who asked for that change). Returns the errors.
 */
export async function placeOnExisting(
  svc: XdsService,
  call: Call,
  unplaced: readonly Association[],
  existing: ReadonlyMap<string, Item>,
  refOf: (uuid: string) => string,
  writes: WriteSet,
  own: readonly OwnMembership[] = [],
): Promise<RegistryError[]> {
  const errors: RegistryError[] = [];
  const updated = new Map<string, { item: Item; resource: ResourceBody; asCaller: boolean }>();
  const add = (folder: Item, a: Association, asCaller: boolean) => {
    const current = updated.get(folder.ref) ?? { item: folder, resource: folder.resource, asCaller: false };
    current.resource = withMember(current.resource, refOf(a.targetUuid), a, dtmToFhir(nowDtm()));
    current.asCaller ||= asCaller;
    updated.set(folder.ref, current);
  };
  for (const a of unplaced) {
    const source = existing.get(a.sourceUuid);
    if (a.type !== 'HasMember' || source?.kind !== 'Folder') {
      errors.push(registryError('XDSRegistryMetadataError', 'only Folder memberships may start at an object already in the registry', a.entryUuid));
      continue;
    }
    add(source, a, true);
  }
  if (errors.length > 0) return errors;
  // A Folder this request already rewrites (a new version deprecating it) gains nothing more.
  for (const { folder, association } of own) if (!writes.has('List', folder.id)) add(folder, association, false);
  for (const { item, resource, asCaller } of updated.values()) {
    const [repo, ctx] = asCaller ? [svc.user, call.ctx] : [svc.system, call.system];
    writes.add(await guarded('add members to this folder', () => repo.prepareWrite(ctx, 'update', 'List', item.id, resource, item.version.versionId), item.uuid));
  }
  return [];
}

/**
 * The Folders holding each DocumentEntry an RPLC / XFRM_RPLC replaces, as memberships of its
 * replacement (ITI TF-3 4.2.2.2: the replacement is placed in the same Folders). Folders are
 * found by the registry's own view: a Folder the caller cannot see still gains the replacement.
 * A membership the submission already states is not added twice; only Approved Folders count.
 */
export async function replacementMemberships(svc: XdsService, call: Call, associations: readonly Association[], existing: ReadonlyMap<string, Item>): Promise<OwnMembership[]> {
  const registry = systemView(svc, call);
  const out: OwnMembership[] = [];
  const stated = (folderUuid: string, target: string) =>
    associations.some((a) => a.type === 'HasMember' && a.targetUuid === target && (a.sourceUuid === folderUuid || existing.get(a.sourceUuid)?.uuid === folderUuid)) ||
    out.some((m) => m.folder.uuid === folderUuid && m.association.targetUuid === target);
  for (const a of associations) {
    if (!a.type || !REPLACING.has(a.type)) continue;
    const replaced = existing.get(a.targetUuid);
    const subject = (replaced?.resource as { subject?: { reference?: string } } | undefined)?.subject?.reference;
    if (!replaced || replaced.type !== 'DocumentReference' || !subject) continue;
    const folders = await registry.search('List', [['patient', subject], ['item', replaced.ref], ['code', 'folder']], 'place the replacement in its folders');
    for (const folder of folders) {
      const c = registry.convert(folder);
      if (c.kind !== 'Folder' || (c.object.availabilityStatus ?? STATUS.approved) !== STATUS.approved || stated(folder.uuid, a.sourceUuid)) continue;
      out.push({
        folder,
        association: {
          entryUuid: `urn:uuid:${randomUUID()}`, type: 'HasMember', typeUrn: ASSOCIATION_TYPE_URN.HasMember, sourceUuid: folder.uuid, targetUuid: a.sourceUuid, extraSlots: [],
        },
      });
    }
  }
  return out;
}

/** Deprecates the DocumentEntries that RPLC / XFRM_RPLC associations replace. */
export async function deprecateReplaced(svc: XdsService, call: Call, associations: readonly Association[], existing: ReadonlyMap<string, Item>, writes: WriteSet): Promise<void> {
  for (const a of associations) {
    if (!a.type || !REPLACING.has(a.type)) continue;
    const target = existing.get(a.targetUuid);
    if (!target || target.type !== 'DocumentReference' || writes.has(target.type, target.id)) continue;
    const resource = withStatus(target.resource, STATUS.deprecated);
    writes.add(await guarded('deprecate the replaced document', () => svc.user.prepareWrite(call.ctx, 'update', 'DocumentReference', target.id, resource, target.version.versionId), a.entryUuid));
  }
}

/** MHD mapping options for objects being registered. */
export function mappingOptions(gathered: GatheredFacts, documentUrl: (uuid: string) => string | undefined): MhdMappingOptions & { resourceId: (uuid: string) => string } {
  const resourceId = (uuid: string) => gathered.byUuid.get(uuid)?.id ?? uuid.replace(/^urn:uuid:/, '');
  return {
    resourceId,
    patientReference: (cx) => {
      const id = gathered.patients.get(patientKey(cx));
      return id ? `Patient/${id}` : undefined;
    },
    documentUrl: (entry) => documentUrl(entry.entryUuid),
  };
}

/** List.entry references to existing Folders: the mapping cannot tell them from documents. */
export function fixListTargets(lists: ResourceBody[], associations: readonly Association[], existing: ReadonlyMap<string, Item>): void {
  const byId = new Map(associations.map((a) => [a.entryUuid, a]));
  for (const list of lists) {
    for (const entry of (list.entry as { item: { reference?: string }; extension?: { url: string; extension?: { url: string; valueUri?: string }[] }[] }[] | undefined) ?? []) {
      const id = entry.extension?.find((e) => e.url === XDS_EXTENSION.association)?.extension?.find((x) => x.url === 'id')?.valueUri;
      const target = id ? existing.get(byId.get(id)?.targetUuid ?? '') : undefined;
      if (target) entry.item.reference = target.ref;
    }
  }
}

/**
 * Registers checked objects. `staged` holds ITI-41 documents by DocumentEntry id (as submitted);
 * `earlier` the findings so far. Returns every finding (warnings included); throws XdsRefusal
 * when the repository refuses (access, concurrency).
 */
export async function registerSubmission(
  svc: XdsService,
  call: Call,
  objects: RegistryObjects,
  transaction: 'ITI-41' | 'ITI-42',
  staged: ReadonlyMap<string, StagedDocument>,
  earlier: readonly RegistryError[],
): Promise<RegistryError[]> {
  const errors = [...earlier];
  if (hasErrors(errors)) return errors;
  const view = new View(svc, call);
  const gathered = await gatherFacts(svc, call, view, objects);
  errors.push(...checkAgainstRegistry(objects, gathered.facts, { transaction }));
  if (hasErrors(errors)) return errors;

  const symbolic = assignEntryUuids(objects, randomUUID);
  const documents = new Map([...staged].map(([id, d]) => [symbolic.get(id) ?? id, d]));
  const now = nowDtm();
  for (const s of objects.submissionSets) s.availabilityStatus = STATUS.approved;
  for (const d of objects.documentEntries) Object.assign(d, { availabilityStatus: STATUS.approved, version: '1', logicalId: d.entryUuid });
  for (const f of objects.folders) Object.assign(f, { availabilityStatus: STATUS.approved, version: '1', logicalId: f.entryUuid, lastUpdateTime: now });

  const options = mappingOptions(gathered, (uuid) => (documents.has(uuid) ? `Binary/${uuid.replace(/^urn:uuid:/, '')}` : undefined));
  const mhd = toMhd(objects, options);
  fixListTargets(mhd.lists as unknown as ResourceBody[], objects.associations, gathered.byUuid);
  const refOf = (uuid: string) => gathered.byUuid.get(uuid)?.ref ?? `DocumentReference/${options.resourceId(uuid)}`;

  const writes = new WriteSet();
  for (const r of mhd.documentReferences) {
    writes.add(await guarded('add documents to this dossier', () => svc.user.prepareWrite(call.ctx, 'create', 'DocumentReference', r.id as string, r)));
  }
  for (const r of mhd.lists) {
    writes.add(await guarded('add submission sets and folders to this dossier', () => svc.user.prepareWrite(call.ctx, 'create', 'List', r.id as string, r)));
  }
  const own = await replacementMemberships(svc, call, objects.associations, gathered.byUuid);
  const placement = await placeOnExisting(svc, call, mhd.unplaced, gathered.byUuid, refOf, writes, own);
  if (placement.length > 0) return [...errors, ...placement];
  await deprecateReplaced(svc, call, objects.associations, gathered.byUuid, writes);
  for (const [uuid, document] of documents) writes.add(await binaryWrite(svc, call, options.resourceId(uuid), document));
  await guarded('register the submission', () => svc.user.commit(writes.writes, call.ctx));
  return errors;
}
