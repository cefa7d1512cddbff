// ITI-62 Delete Document Set (Remove Metadata), in one commit: the named DocumentEntries,
// SubmissionSets and Folders are deleted (a DocumentEntry's Binary with it: the grouped
// repository holds no document the registry no longer lists), and the named associations are
// taken off the resource that holds them (List.entry, relatesTo, or an extension).
//
// Associations have no resource of their own: they are found on the objects the request names,
// on the resources that point at those objects, and — for an association named alone, such as a
// document's membership of a Folder — on the resource holding it, located through the
// `xds-association` search parameter (association ids, and association ends that are
// associations). An association the caller cannot see is not found (UnresolvedReferenceException),
// like one that does not exist.
import type { PreparedWrite } from '../../../fhir/index.ts';
import type { RegistryError } from '../errors.ts';
import { hasErrors } from '../errors.ts';
import type { Association } from '../model.ts';
import type { RemoveMetadataRequest } from '../delete.ts';
import { checkRemoval } from '../delete.ts';
import type { Call, XdsService } from './context.ts';
import { withoutAssociation } from './edits.ts';
import { guarded } from './errors.ts';
import type { Item } from './view.ts';
import { localBinaryId, systemView, View } from './view.ts';

/** The search parameter that indexes association ids (and association-typed ends) on their holders. */
export const ASSOCIATION_SEARCH_PARAM = 'xds-association';

/**
 * Resources holding an association with one of these ids, or pointing at one of them, as the
 * registry sees them; none when the store has no association index (the search parameter is
 * then not defined, and such associations stay unresolved).
 */
async function associationHolders(svc: XdsService, registry: View, uuids: readonly string[]): Promise<Item[]> {
  if (uuids.length === 0) return [];
  const values = [...new Set(uuids.flatMap((u) => [u, u.toLowerCase()]))].join(',');
  const out: Item[] = [];
  for (const type of ['List', 'DocumentReference'] as const) {
    if (!svc.system.registry.get(type, ASSOCIATION_SEARCH_PARAM)) continue;
    out.push(...(await registry.search(type, [[ASSOCIATION_SEARCH_PARAM, values]], 'remove these associations')));
  }
  return out;
}

export async function deleteDocumentSet(svc: XdsService, call: Call, request: RemoveMetadataRequest): Promise<RegistryError[]> {
  const errors: RegistryError[] = [...request.issues];
  if (hasErrors(errors)) return errors;
  const view = new View(svc, call);
  const registry = systemView(svc, call);
  const named = await view.byUuids(request.entryUuids);
  // Every resource that may hold an association of the named objects: themselves, and what
  // points at them (seen by the registry, so a hidden holder still blocks a dangling removal).
  const holders = new Map<string, Item>(named.map((i) => [i.ref, i]));
  for (const item of named) {
    const subject = (item.resource as { subject?: { reference?: string } }).subject?.reference;
    if (!subject?.startsWith('Patient/')) continue;
    for (const h of await registry.search('List', [['patient', subject], ['item', item.ref]], 'remove these objects')) holders.set(h.ref, h);
    if (item.type === 'DocumentReference') {
      for (const h of await registry.search('DocumentReference', [['patient', subject], ['relatesto', item.ref]], 'remove these objects')) holders.set(h.ref, h);
    }
  }
  // Associations named alone: their holders, and the holders of associations pointing at them.
  const alone = request.entryUuids.filter((u) => !named.some((n) => n.uuid.toLowerCase() === u.toLowerCase()));
  for (const h of await associationHolders(svc, registry, alone)) holders.set(h.ref, h);
  const located = new Map<string, { holder: Item; index: number; association: Association }>();
  for (const holder of holders.values()) {
    const v = holder === named.find((n) => n.ref === holder.ref) ? view : registry;
    await v.loadTargets([holder]);
    v.convert(holder).associations.forEach((association, index) => located.set(association.entryUuid.toLowerCase(), { holder, index, association }));
  }
  const byUuid = new Map(named.map((i) => [i.uuid.toLowerCase(), i]));
  // Associations named alone, on holders the caller cannot see, are as good as absent.
  for (const uuid of alone) {
    const found = located.get(uuid.toLowerCase());
    if (found && !(await view.visible(found.holder.ref))) located.delete(uuid.toLowerCase());
  }
  const kindOfUuid = (uuid: string) => byUuid.get(uuid.toLowerCase())?.kind ?? [...holders.values()].find((h) => h.uuid.toLowerCase() === uuid.toLowerCase())?.kind;
  errors.push(...checkRemoval(request.entryUuids, {
    kindOf: (uuid) => byUuid.get(uuid.toLowerCase())?.kind ?? (located.has(uuid.toLowerCase()) ? 'Association' : undefined),
    associationsOf: (uuid) => [...located.values()]
      .filter(({ association: a }) => a.sourceUuid.toLowerCase() === uuid.toLowerCase() || a.targetUuid.toLowerCase() === uuid.toLowerCase())
      .map(({ association }) => association.entryUuid),
    associationOf: (uuid) => {
      const found = located.get(uuid.toLowerCase());
      if (!found) return undefined;
      const { association: a, holder } = found;
      const sourceKind = holder.uuid.toLowerCase() === a.sourceUuid.toLowerCase() ? holder.kind : kindOfUuid(a.sourceUuid);
      return { ...(a.type ? { type: a.type } : {}), ...(sourceKind ? { sourceKind } : {}), targetUuid: a.targetUuid };
    },
  }));
  if (hasErrors(errors)) return errors;

  const writes: PreparedWrite[] = [];
  const deleted = new Set<string>();
  for (const item of named) {
    const write = await guarded('remove this object', () => svc.user.prepareDelete(call.ctx, item.type, item.id, item.version.versionId), item.uuid);
    if (write) writes.push(write);
    deleted.add(item.ref);
    const url = item.type === 'DocumentReference' ? (item.resource as { content?: { attachment?: { url?: string } }[] }).content?.[0]?.attachment?.url : undefined;
    const binaryId = localBinaryId(url, call.ctx.baseUrl);
    const binary = binaryId ? await svc.system.store.read('Binary', binaryId) : undefined;
    const owner = (binary?.resource as { securityContext?: { reference?: string } } | undefined)?.securityContext?.reference;
    if (binary && !binary.deleted && owner === item.ref) {
      const removal = await guarded('remove this document', () => svc.system.prepareDelete(call.system, 'Binary', binary.id, binary.versionId));
      if (removal) writes.push(removal);
    }
  }
  // Associations leave their holder (unless the holder goes too), highest index first.
  const byHolder = new Map<string, { holder: Item; indexes: number[] }>();
  for (const uuid of request.entryUuids) {
    const found = located.get(uuid.toLowerCase());
    if (!found || deleted.has(found.holder.ref)) continue;
    const entry = byHolder.get(found.holder.ref) ?? { holder: found.holder, indexes: [] };
    entry.indexes.push(found.index);
    byHolder.set(found.holder.ref, entry);
  }
  for (const { holder, indexes } of byHolder.values()) {
    let resource = holder.resource;
    for (const index of [...indexes].sort((a, b) => b - a)) resource = withoutAssociation(resource, index);
    writes.push(await guarded('remove these associations', () => svc.user.prepareWrite(call.ctx, 'update', holder.type, holder.id, resource, holder.version.versionId), holder.uuid));
  }
  await guarded('remove these objects', () => svc.user.commit(writes, call.ctx));
  return errors;
}
