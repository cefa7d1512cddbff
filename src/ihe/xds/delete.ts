// ITI-62 Delete Document Set (Remove Metadata): lcm:RemoveObjectsRequest with the entryUUIDs
// of the objects to remove — DocumentEntries, SubmissionSets, Folders and Associations, an
// Association possibly alone (a document taken out of a Folder). The registry removes them all
// or none; removing an object that other, surviving associations still point at is refused
// (ReferencesExistException), and so is taking a member out of its SubmissionSet while the
// member stays (every registry object belongs to the SubmissionSet that brought it).
import type { RegistryError } from './errors.ts';
import { registryError } from './errors.ts';
import { isUuidUrn } from './hl7v2.ts';
import { NS } from './vocabulary.ts';
import type { XmlElement } from './xml.ts';
import { attr, child, childrenNamed } from './xml.ts';

export interface RemoveMetadataRequest {
  readonly entryUuids: readonly string[];
  readonly issues: readonly RegistryError[];
}

/** Reads lcm:RemoveObjectsRequest (the SOAP Body child). */
export function parseRemoveMetadataRequest(body: XmlElement): RemoveMetadataRequest {
  const issues: RegistryError[] = [];
  if (child(body, NS.rim, 'AdhocQuery')) {
    issues.push(registryError('XDSRegistryError', 'removal by query is not supported: list the objects in rim:ObjectRefList'));
  }
  const scope = attr(body, 'deletionScope');
  if (scope && scope !== 'urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll') {
    issues.push(registryError('XDSRegistryError', `deletionScope ${scope} is not supported`));
  }
  const ids: string[] = [];
  for (const ref of childrenNamed(child(body, NS.rim, 'ObjectRefList'), NS.rim, 'ObjectRef')) {
    const id = attr(ref, 'id') ?? '';
    if (!isUuidUrn(id)) {
      issues.push(registryError('UnresolvedReferenceException', 'ObjectRef ids must be urn:uuid entryUUIDs', id || undefined));
    } else if (!ids.includes(id)) {
      ids.push(id);
    }
  }
  if (ids.length === 0 && issues.length === 0) issues.push(registryError('XDSRegistryError', 'the request lists no object to remove'));
  return { entryUuids: ids, issues };
}

/** What the registry knows about an object named in the request, for checkRemoval. */
export interface RemovalFacts {
  /** undefined when the registry has no such object. */
  kindOf(entryUuid: string): 'DocumentEntry' | 'SubmissionSet' | 'Folder' | 'Association' | undefined;
  /** Associations (entryUUIDs) whose source or target is this object. */
  associationsOf(entryUuid: string): readonly string[];
  /** For an Association: its type, the kind of its source and its target's entryUUID. */
  associationOf?(entryUuid: string): { readonly type?: string; readonly sourceKind?: string; readonly targetUuid: string } | undefined;
}

/**
 * Removal rules (ITI TF-2 3.62.4.1.3): every object must exist (UnresolvedReferenceException);
 * an object may only go if every association referencing it goes too
 * (ReferencesExistException), so no dangling association survives; a SubmissionSet's HasMember
 * may only go with its member, so no object is left outside every SubmissionSet.
 */
export function checkRemoval(entryUuids: readonly string[], facts: RemovalFacts): RegistryError[] {
  const errors: RegistryError[] = [];
  // entryUUIDs compare without case (RFC 4122), whatever case the request and the store use.
  const removed = new Set(entryUuids.map((u) => u.toLowerCase()));
  const isRemoved = (uuid: string) => removed.has(uuid.toLowerCase());
  for (const id of entryUuids) {
    if (!facts.kindOf(id)) {
      errors.push(registryError('UnresolvedReferenceException', 'no object with this entryUUID in the registry', id));
      continue;
    }
    const survivors = facts.associationsOf(id).filter((a) => !isRemoved(a));
    if (survivors.length > 0) {
      errors.push(registryError('ReferencesExistException', `${survivors.length} association(s) still refer to this object and are not removed with it`, id));
    }
    const association = facts.associationOf?.(id);
    if (association?.type === 'HasMember' && association.sourceKind === 'SubmissionSet' && !isRemoved(association.targetUuid)) {
      errors.push(registryError('ReferencesExistException', 'this SubmissionSet membership can only be removed with its member, which would otherwise belong to no SubmissionSet', id));
    }
  }
  return errors;
}
