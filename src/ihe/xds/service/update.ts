// ITI-57 Update Document Set (XDS Metadata Update), in one commit:
// - a new version of a DocumentEntry is a new DocumentReference (new entryUUID, the logicalId as
//   a secondary identifier, version + 1); the previous version becomes Deprecated (superseded);
//   the document's Binary now follows the new version for access; Folders holding the previous
//   version also hold the new one (association propagation);
// - a new version of a Folder is a new List with the members of the previous one, retired;
// - UpdateAvailabilityStatus changes an object's status (MHD mapping, see query.ts);
// - other associations (a document added to an existing Folder) are placed on their source.
//
// Who may do it is the gate's write rule (the author changes a document), except for a change of
// visibility labels only — masking and unmasking, the patient's control — which the access
// engine's label rule decides (decideLabelChange); such an update is then written by the
// registry itself. Visibility labels are per document: older versions take the new ones.
import { randomUUID } from 'node:crypto';
import type { DocumentReference, List } from '@medplum/fhirtypes';
import type { VisibilityLabel } from '../../../access/index.ts';
import type { ResourceBody } from '../../../store/index.ts';
import type { RegistryError } from '../errors.ts';
import { hasErrors, registryError } from '../errors.ts';
import { XDS_EXTENSION } from '../mhd-datatypes.ts';
import { documentReferenceToDocumentEntry, toMhd } from '../mhd-mapping.ts';
import type { Code, DocumentEntry } from '../model.ts';
import { assignEntryUuids } from '../model.ts';
import { checkAgainstRegistry } from '../registry-checks.ts';
import type { UpdateDocumentSetRequest } from '../update.ts';
import { validateSubmission } from '../validate.ts';
import { ASSOCIATION_TYPE_URN, STATUS } from '../vocabulary.ts';
import type { Call, XdsService } from './context.ts';
import { isVisibilityCode, nowDtm, VISIBILITY_LABELS, withLabelsOf, withStatus } from './edits.ts';
import { accessDenied, guarded, XdsRefusal } from './errors.ts';
import { gatherFacts } from './facts.ts';
import type { OwnMembership } from './submit.ts';
import { fixListTargets, mappingOptions, placeOnExisting, WriteSet } from './submit.ts';
import type { Item } from './view.ts';
import { localBinaryId, systemView, View } from './view.ts';

/** An entry as compared for "only the visibility labels changed": no ids, versions or displays. */
function comparable(entry: DocumentEntry): string {
  const rest = {
    ...entry,
    entryUuid: '', logicalId: '', version: '', availabilityStatus: '', hash: '', size: '', repositoryUniqueId: '', homeCommunityId: '',
    confidentialityCodes: entry.confidentialityCodes.filter((c) => !isVisibilityCode(c)).map((c) => `${c.codingScheme}|${c.code}`).sort(),
  };
  return JSON.stringify(rest, (key, value: unknown) => (key === 'displayName' ? undefined : value));
}

function labelsOf(entry: DocumentEntry): Set<string> {
  return new Set(entry.confidentialityCodes.filter(isVisibilityCode).map((c: Code) => c.code));
}

function changedLabels(before: DocumentEntry, after: DocumentEntry): VisibilityLabel[] {
  const a = labelsOf(before);
  const b = labelsOf(after);
  const changed = [...a].filter((c) => !b.has(c)).concat([...b].filter((c) => !a.has(c)));
  return [...new Set(changed.map((c) => VISIBILITY_LABELS[c as keyof typeof VISIBILITY_LABELS]))];
}

/** The document-level checks of an update: it may change metadata, never the document. */
function unchangedDocument(update: DocumentEntry, previous: DocumentEntry): RegistryError[] {
  const errors: RegistryError[] = [];
  const differs = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() !== b.toLowerCase();
  if (differs(update.hash, previous.hash) || differs(update.size, previous.size)) {
    errors.push(registryError('XDSMetadataUpdateError', 'a metadata update cannot change the document (hash or size)', update.entryUuid));
  }
  if (differs(update.repositoryUniqueId, previous.repositoryUniqueId)) {
    errors.push(registryError('XDSMetadataUpdateError', 'a metadata update cannot move the document to another repository', update.entryUuid));
  }
  if (previous.availabilityStatus !== undefined && previous.availabilityStatus !== STATUS.approved) {
    errors.push(registryError('XDSMetadataUpdateError', 'only an Approved DocumentEntry can get a new version', update.entryUuid));
  }
  return errors;
}

const nextVersion = (version: string | undefined) => String((Number(version) || 1) + 1);

export async function updateDocumentSet(svc: XdsService, call: Call, update: UpdateDocumentSetRequest): Promise<RegistryError[]> {
  const submission = update.submission;
  const errors: RegistryError[] = [...update.issues, ...validateSubmission(submission, { transaction: 'ITI-57', domain: svc.domain })];
  if (hasErrors(errors)) return errors;
  const view = new View(svc, call);
  const gathered = await gatherFacts(svc, call, view, submission);
  errors.push(...checkAgainstRegistry(submission, gathered.facts, { transaction: 'ITI-57' }));
  for (const u of update.metadataUpdates) {
    const previous = gathered.byLogicalId.get(u.logicalId);
    if (u.kind === 'DocumentEntry' && previous) errors.push(...unchangedDocument(u.object, view.convert(previous).object as DocumentEntry));
  }
  for (const s of update.statusUpdates) {
    if (!gathered.byUuid.has(s.targetUuid)) continue; // reported by checkAgainstRegistry
    if (update.metadataUpdates.some((u) => gathered.byLogicalId.get(u.logicalId)?.uuid === s.targetUuid)) {
      errors.push(registryError('XDSMetadataUpdateOperationError', 'one request cannot both version an object and change its status', s.associationId));
    }
  }
  if (hasErrors(errors)) return errors;

  assignEntryUuids(submission, randomUUID);
  const now = nowDtm();
  const urls = new Map<string, string | undefined>();
  const previousOf = new Map<string, Item>();
  for (const u of update.metadataUpdates) {
    const previous = gathered.byLogicalId.get(u.logicalId) as Item;
    previousOf.set(u.object.entryUuid, previous);
    const before = view.convert(previous).object as DocumentEntry;
    if (u.kind === 'DocumentEntry') {
      Object.assign(u.object, {
        logicalId: u.logicalId, version: nextVersion(before.version), availabilityStatus: STATUS.approved,
        hash: before.hash ?? u.object.hash, size: before.size ?? u.object.size, repositoryUniqueId: before.repositoryUniqueId ?? u.object.repositoryUniqueId,
        mimeType: u.object.mimeType ?? before.mimeType,
      });
      urls.set(u.object.entryUuid, (previous.resource as unknown as DocumentReference).content?.[0]?.attachment?.url);
    } else {
      Object.assign(u.object, { logicalId: u.logicalId, version: nextVersion(before.version), availabilityStatus: STATUS.approved, lastUpdateTime: now });
    }
  }
  for (const s of submission.submissionSets) s.availabilityStatus = STATUS.approved;
  for (const f of submission.folders) {
    if (!previousOf.has(f.entryUuid)) Object.assign(f, { availabilityStatus: STATUS.approved, version: '1', logicalId: f.entryUuid, lastUpdateTime: now });
  }
  const options = mappingOptions(gathered, (uuid) => urls.get(uuid));
  const mhd = toMhd(submission, options);
  fixListTargets(mhd.lists as unknown as ResourceBody[], submission.associations, gathered.byUuid);
  const newDocs = new Map(mhd.documentReferences.map((r) => [`urn:uuid:${r.id}`, r as unknown as ResourceBody]));

  // Who decides: the gate, unless the request only changes visibility labels and the engine's
  // label rule allows every change.
  const labelChanges = new Map<string, VisibilityLabel[]>();
  let labelsOnly = update.metadataUpdates.length > 0 && update.statusUpdates.length === 0 && update.newAssociations.length === 0 &&
    submission.folders.every((f) => previousOf.has(f.entryUuid));
  for (const u of update.metadataUpdates) {
    if (u.kind !== 'DocumentEntry') {
      labelsOnly = false;
      continue;
    }
    const previous = previousOf.get(u.object.entryUuid) as Item;
    const before = view.convert(previous).object as DocumentEntry;
    const after = documentReferenceToDocumentEntry(newDocs.get(u.object.entryUuid) as unknown as DocumentReference).entry;
    const changed = changedLabels(before, after);
    if (changed.length > 0) labelChanges.set(u.object.entryUuid, changed);
    if (changed.length === 0 || comparable(before) !== comparable(after)) labelsOnly = false;
  }
  if (svc.mayChangeLabel) {
    for (const [uuid, labels] of labelChanges) {
      const previous = previousOf.get(uuid) as Item;
      for (const label of labels) {
        if (!(await svc.mayChangeLabel(call, previous.resource, label))) throw new XdsRefusal([accessDenied('change the visibility of this document', uuid)]);
      }
    }
  }
  const decided = labelsOnly && svc.mayChangeLabel !== undefined;
  const repo = decided ? svc.system : svc.user;
  const ctx = decided ? call.system : call.ctx;
  const registry = systemView(svc, call);

  const writes = new WriteSet();
  const prepare = (what: string, op: 'create' | 'update', type: string, id: string, body: ResourceBody, version?: number) =>
    guarded(what, () => repo.prepareWrite(ctx, op, type, id, body, version));
  for (const r of mhd.documentReferences) writes.add(await prepare('update this document', 'create', 'DocumentReference', r.id as string, r as unknown as ResourceBody));
  for (const r of mhd.lists) {
    const previous = previousOf.get(`urn:uuid:${r.id}`);
    const body = previous ? { ...r, entry: [...(r.entry ?? []), ...copiedMembers(previous)] } : r;
    writes.add(await prepare('update this folder', 'create', 'List', r.id as string, body as unknown as ResourceBody));
  }
  // Memberships the registry adds itself; placed with the submission's own (one write per Folder).
  const own: OwnMembership[] = [];
  for (const u of update.metadataUpdates) {
    const previous = previousOf.get(u.object.entryUuid) as Item;
    const newUuid = u.object.entryUuid;
    if (u.kind === 'Folder') {
      writes.add(await prepare('update this folder', 'update', 'List', previous.id, withStatus(previous.resource, STATUS.deprecated), previous.version.versionId));
      continue;
    }
    const newest = newDocs.get(newUuid) as ResourceBody;
    writes.add(await prepare('update this document', 'update', 'DocumentReference', previous.id, withLabelsOf(withStatus(previous.resource, STATUS.deprecated), newest), previous.version.versionId));
    // Older versions take the new visibility labels too.
    if (labelChanges.has(newUuid)) {
      for (const older of await view.byLogicalIds([u.logicalId], 'DocumentReference')) {
        if (older.id === previous.id || writes.has('DocumentReference', older.id)) continue;
        writes.add(await prepare('update this document', 'update', 'DocumentReference', older.id, withLabelsOf(older.resource, newest), older.version.versionId));
      }
    }
    // The document's Binary follows the newest version for access.
    const binaryId = localBinaryId(urls.get(newUuid), call.ctx.baseUrl);
    const binary = binaryId ? await svc.system.store.read('Binary', binaryId) : undefined;
    if (binary?.resource && !binary.deleted) {
      const body = { ...binary.resource, securityContext: { reference: `DocumentReference/${newest.id as string}` } };
      writes.add(await guarded('update this document', () => svc.system.prepareWrite(call.system, 'update', 'Binary', binary.id, body, binary.versionId)));
    }
    // Folders holding the previous version hold the new one too (the registry's own bookkeeping).
    if (u.propagate) {
      const subject = (previous.resource as { subject?: { reference?: string } }).subject?.reference ?? '';
      const folders = subject ? await registry.search('List', [['patient', subject], ['item', previous.ref], ['code', 'folder']], 'update this document') : [];
      const stated = (folder: Item) => submission.associations.some((a) =>
        a.type === 'HasMember' && a.targetUuid === newUuid && (gathered.byUuid.get(a.sourceUuid)?.uuid ?? a.sourceUuid).toLowerCase() === folder.uuid.toLowerCase());
      for (const folder of folders.filter((f) => f.kind === 'Folder' && !stated(f))) {
        own.push({ folder, association: { entryUuid: `urn:uuid:${randomUUID()}`, type: 'HasMember', typeUrn: ASSOCIATION_TYPE_URN.HasMember, sourceUuid: folder.uuid, targetUuid: newUuid, extraSlots: [] } });
      }
    }
  }
  for (const s of update.statusUpdates) {
    const target = gathered.byUuid.get(s.targetUuid) as Item;
    if (writes.has(target.type, target.id)) {
      return [...errors, registryError('XDSMetadataUpdateOperationError', 'two status changes for one object', s.associationId)];
    }
    writes.add(await guarded('change the status of this object', () => svc.user.prepareWrite(call.ctx, 'update', target.type, target.id, withStatus(target.resource, s.newStatus), target.version.versionId), s.associationId));
  }
  const refOf = (uuid: string) => gathered.byUuid.get(uuid)?.ref ?? `DocumentReference/${options.resourceId(uuid)}`;
  const placement = await placeOnExisting(svc, call, mhd.unplaced, gathered.byUuid, refOf, writes, own);
  if (placement.length > 0) return [...errors, ...placement];
  await guarded('update these objects', () => svc.user.commit(writes.writes, call.ctx));
  return errors;
}

/** The members of a Folder's previous version, for its new version (new association ids). */
function copiedMembers(previous: Item): NonNullable<List['entry']> {
  const entries = (previous.resource as unknown as List).entry ?? [];
  return entries.map((e) => ({
    ...e,
    extension: (e.extension ?? []).map((x) =>
      x.url === XDS_EXTENSION.association ? { ...x, extension: (x.extension ?? []).map((s) => (s.url === 'id' ? { url: 'id', valueUri: `urn:uuid:${randomUUID()}` } : s)) } : x),
  }));
}
