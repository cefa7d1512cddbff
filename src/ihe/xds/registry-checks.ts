// Metadata checks that need the registry's current state (known patients, uniqueIds in use,
// association targets, latest versions). Pure all the same: the caller fetches the facts
// lookupsFor() lists from the store and passes them in, so every rule lives here and is unit
// tested, and the store never sees XDS.
import type { RegistryError, XdsErrorCode } from './errors.ts';
import { registryError } from './errors.ts';
import { isUuidUrn, parseCx } from './hl7v2.ts';
import type { DocumentEntry, RegistryObjects } from './model.ts';
import type { SubmissionTransaction } from './validate.ts';
import { DOCUMENT_RELATIONSHIPS, STATUS } from './vocabulary.ts';

/** Collects errors, so every rule reads as one line. */
class Findings {
  readonly errors: RegistryError[] = [];
  add(code: XdsErrorCode, codeContext: string, location?: string): void {
    this.errors.push(registryError(code, codeContext, location));
  }
}

/** What the registry holds about an object the submission refers to. */
export interface ExistingObject {
  readonly kind: 'SubmissionSet' | 'DocumentEntry' | 'Folder' | 'Association';
  readonly entryUuid: string;
  readonly uniqueId?: string;
  /** CX, as stored. */
  readonly patientId?: string;
  readonly availabilityStatus?: string;
  readonly hash?: string;
  readonly size?: string;
  readonly logicalId?: string;
  readonly version?: string;
}

export interface RegistryFacts {
  /** Patient ids (CX) the identity feed knows, keyed by patientKey(). */
  readonly knownPatients: ReadonlySet<string>;
  readonly byUniqueId: ReadonlyMap<string, ExistingObject>;
  readonly byEntryUuid: ReadonlyMap<string, ExistingObject>;
  /** ITI-57: the latest version of each logical object, by logicalId. */
  readonly byLogicalId: ReadonlyMap<string, ExistingObject>;
}

/** The key under which knownPatients holds a patient: assigning authority OID and id. */
export function patientKey(cx: string): string {
  const parsed = parseCx(cx);
  return `${parsed.assigningAuthority?.universalId ?? ''}|${parsed.id}`;
}

/** What the caller must look up in the store before calling checkAgainstRegistry. */
export function lookupsFor(objects: RegistryObjects): { patientIds: string[]; uniqueIds: string[]; entryUuids: string[]; logicalIds: string[] } {
  const local = new Set([...objects.submissionSets, ...objects.documentEntries, ...objects.folders, ...objects.associations].map((o) => o.entryUuid));
  const patientIds = new Set<string>();
  for (const o of [...objects.submissionSets, ...objects.documentEntries, ...objects.folders]) if (o.patientId) patientIds.add(o.patientId);
  const uniqueIds = [...objects.submissionSets, ...objects.documentEntries, ...objects.folders].map((o) => o.uniqueId).filter((u): u is string => !!u);
  const entryUuids = new Set<string>();
  for (const a of objects.associations) {
    for (const end of [a.sourceUuid, a.targetUuid]) if (end && !local.has(end) && isUuidUrn(end)) entryUuids.add(end);
  }
  const logicalIds = [...objects.documentEntries, ...objects.folders]
    .map((o) => o.logicalId)
    .filter((l): l is string => !!l && isUuidUrn(l) && !local.has(l));
  return { patientIds: [...patientIds], uniqueIds: [...new Set(uniqueIds)], entryUuids: [...entryUuids], logicalIds: [...new Set(logicalIds)] };
}

export function checkAgainstRegistry(objects: RegistryObjects, facts: RegistryFacts, options: { transaction: SubmissionTransaction }): RegistryError[] {
  const f = new Findings();
  const update = options.transaction === 'ITI-57';
  const patient = objects.submissionSets[0]?.patientId;
  const reported = new Set<string>();
  for (const o of [...objects.submissionSets, ...objects.documentEntries, ...objects.folders]) {
    if (o.patientId && !facts.knownPatients.has(patientKey(o.patientId)) && !reported.has(o.patientId)) {
      reported.add(o.patientId);
      f.add('XDSUnknownPatientId', 'the patient id is not known to the registry (no Patient with this identifier)', o.entryUuid);
    }
  }
  const updatedLogicalIds = new Set(update ? [...objects.documentEntries, ...objects.folders].map((o) => o.logicalId) : []);
  for (const o of [...objects.submissionSets, ...objects.folders, ...objects.documentEntries]) {
    if (!o.uniqueId) continue;
    const existing = facts.byUniqueId.get(o.uniqueId);
    if (!existing || (existing.logicalId && updatedLogicalIds.has(existing.logicalId))) continue;
    if ('hash' in o && existing.kind === 'DocumentEntry') {
      const d = o as DocumentEntry;
      if (d.hash && existing.hash && d.hash.toLowerCase() !== existing.hash.toLowerCase()) {
        f.add('XDSNonIdenticalHash', `document ${o.uniqueId} is already registered with a different hash`, o.entryUuid);
        continue;
      }
      if (d.size && existing.size && d.size !== existing.size) {
        f.add('XDSNonIdenticalSize', `document ${o.uniqueId} is already registered with a different size`, o.entryUuid);
        continue;
      }
    }
    f.add('XDSDuplicateUniqueIdInRegistry', `uniqueId ${o.uniqueId} is already used in the registry`, o.entryUuid);
  }
  const patientMatches = (existing: ExistingObject) => !patient || !existing.patientId || patientKey(existing.patientId) === patientKey(patient);
  for (const a of objects.associations) {
    for (const end of [a.sourceUuid, a.targetUuid]) {
      if (!isUuidUrn(end) || isLocal(objects, end)) continue;
      const existing = facts.byEntryUuid.get(end);
      if (!existing) {
        f.add('XDSRegistryMetadataError', `the association refers to ${end}, which is not in the registry`, a.entryUuid);
        continue;
      }
      if (!patientMatches(existing)) {
        f.add('XDSPatientIdDoesNotMatch', `the association refers to ${end}, which belongs to another patient`, a.entryUuid);
      }
      if (a.type && DOCUMENT_RELATIONSHIPS.includes(a.type) && end === a.targetUuid) {
        if (existing.kind !== 'DocumentEntry') f.add('XDSRegistryMetadataError', `${a.type} must point at a DocumentEntry`, a.entryUuid);
        else if (existing.availabilityStatus && existing.availabilityStatus !== STATUS.approved) {
          f.add('XDSRegistryDeprecatedDocumentError', `${a.type} points at a DocumentEntry that is not Approved`, a.entryUuid);
        }
      }
      if (a.type === 'UpdateAvailabilityStatus' && end === a.targetUuid && a.originalStatus && existing.availabilityStatus !== a.originalStatus) {
        f.add('XDSMetadataUpdateError', 'OriginalStatus is not the current status of the object', a.entryUuid);
      }
    }
  }
  if (update) checkVersions(objects, facts, f);
  return f.errors;
}

function isLocal(objects: RegistryObjects, id: string): boolean {
  return [...objects.submissionSets, ...objects.documentEntries, ...objects.folders, ...objects.associations].some((o) => o.entryUuid === id);
}

/** ITI-57 metadata updates: the logical object exists, the version is the latest, identity is unchanged. */
function checkVersions(objects: RegistryObjects, facts: RegistryFacts, f: Findings): void {
  for (const o of [...objects.documentEntries, ...objects.folders]) {
    if (!o.logicalId || o.logicalId === o.entryUuid) continue;
    const existing = facts.byLogicalId.get(o.logicalId);
    if (!existing) {
      f.add('UnresolvedReferenceException', 'no object in the registry has this logicalId', o.entryUuid);
      continue;
    }
    const membership = objects.associations.find((a) => a.type === 'HasMember' && a.targetUuid === o.entryUuid);
    if (membership?.previousVersion !== undefined && existing.version !== undefined && membership.previousVersion !== existing.version) {
      f.add('XDSMetadataVersionError', `PreviousVersion ${membership.previousVersion} is not the latest version (${existing.version})`, o.entryUuid);
    }
    if (o.uniqueId && existing.uniqueId && o.uniqueId !== existing.uniqueId) {
      f.add('XDSMetadataIdentifierError', 'an update cannot change uniqueId', o.entryUuid);
    }
    if (o.patientId && existing.patientId && patientKey(o.patientId) !== patientKey(existing.patientId)) {
      f.add('XDSPatientIDReconciliationError', 'an update cannot change the patient id', o.entryUuid);
    }
    if (existing.availabilityStatus === STATUS.deprecated) {
      f.add('XDSMetadataUpdateError', 'a deprecated object cannot be updated', o.entryUuid);
    }
  }
}
