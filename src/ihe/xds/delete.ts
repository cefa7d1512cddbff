// ITI-62 Delete Document Set (Remove Metadata): lcm:RemoveObjectsRequest with the entryUUIDs
// of the objects to remove. The registry removes them all or none; removing an object that
// other, surviving associations still point at is refused (ReferencesExistException).
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
}

/**
 * Removal rules (ITI TF-2 3.62.4.1.3): every object must exist (UnresolvedReferenceException);
 * an object may only go if every association referencing it goes too
 * (ReferencesExistException), so no dangling association survives.
 */
export function checkRemoval(entryUuids: readonly string[], facts: RemovalFacts): RegistryError[] {
  const errors: RegistryError[] = [];
  const removed = new Set(entryUuids);
  for (const id of entryUuids) {
    if (!facts.kindOf(id)) {
      errors.push(registryError('UnresolvedReferenceException', 'no object with this entryUUID in the registry', id));
      continue;
    }
    const survivors = facts.associationsOf(id).filter((a) => !removed.has(a));
    if (survivors.length > 0) {
      errors.push(registryError('ReferencesExistException', `${survivors.length} association(s) still refer to this object and are not removed with it`, id));
    }
  }
  return errors;
}
