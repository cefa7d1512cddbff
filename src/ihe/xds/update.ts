// ITI-57 Update Document Set (XDS Metadata Update): a SubmitObjectsRequest whose objects say
// what to change. This is how the DMP masks or unmasks a document (a new DocumentEntry version
// with different confidentialityCodes) and how statuses change (UpdateAvailabilityStatus).
//
// The reader sorts the submission into operations the registry applies all together:
// - metadataUpdates: a new version of an existing DocumentEntry/Folder (same lid, new id,
//   HasMember from the SubmissionSet with PreviousVersion);
// - statusUpdates: UpdateAvailabilityStatus associations (OriginalStatus → NewStatus);
// - newAssociations: anything else (e.g. adding an existing document to a folder).
import { parseSubmitObjectsRequest } from './ebrim.ts';
import type { RegistryError } from './errors.ts';
import { registryError } from './errors.ts';
import type { Association, DocumentEntry, Folder, RegistryObjects } from './model.ts';
import type { XmlElement } from './xml.ts';

export type MetadataUpdate =
  | { readonly kind: 'DocumentEntry'; readonly object: DocumentEntry; readonly logicalId: string; readonly previousVersion: string; readonly propagate: boolean }
  | { readonly kind: 'Folder'; readonly object: Folder; readonly logicalId: string; readonly previousVersion: string; readonly propagate: boolean };

export interface StatusUpdate {
  readonly associationId: string;
  readonly targetUuid: string;
  readonly originalStatus: string;
  readonly newStatus: string;
}

export interface UpdateDocumentSetRequest {
  readonly submission: RegistryObjects;
  readonly metadataUpdates: readonly MetadataUpdate[];
  readonly statusUpdates: readonly StatusUpdate[];
  readonly newAssociations: readonly Association[];
  readonly issues: readonly RegistryError[];
}

/** Reads lcm:SubmitObjectsRequest sent with the UpdateDocumentSet action. */
export function parseUpdateDocumentSetRequest(body: XmlElement): UpdateDocumentSetRequest {
  const parsed = parseSubmitObjectsRequest(body);
  const issues = [...parsed.issues];
  const objects = parsed.objects;
  const submissionSetId = objects.submissionSets[0]?.entryUuid;
  const consumed = new Set<string>();
  const metadataUpdates: MetadataUpdate[] = [];

  const membershipOf = (id: string) =>
    objects.associations.find((a) => a.type === 'HasMember' && a.sourceUuid === submissionSetId && a.targetUuid === id);

  const versioned: [DocumentEntry | Folder, 'DocumentEntry' | 'Folder'][] = [
    ...objects.documentEntries.map((d) => [d, 'DocumentEntry'] as [DocumentEntry, 'DocumentEntry']),
    ...objects.folders.map((f) => [f, 'Folder'] as [Folder, 'Folder']),
  ];
  for (const [object, kind] of versioned) {
    const membership = membershipOf(object.entryUuid);
    if (membership) consumed.add(membership.entryUuid);
    if (!object.logicalId || object.logicalId === object.entryUuid) {
      if (kind === 'DocumentEntry') {
        issues.push(registryError('XDSMetadataUpdateOperationError', 'Update Document Set cannot submit new documents: the DocumentEntry has no lid of an existing entry', object.entryUuid));
      }
      continue; // a new Folder is allowed (added to the SubmissionSet like in ITI-42)
    }
    if (!membership?.previousVersion) continue; // reported by validateSubmission (XDSMetadataVersionError)
    const propagate = membership.associationPropagation?.toLowerCase() !== 'no';
    metadataUpdates.push(
      kind === 'DocumentEntry'
        ? { kind, object: object as DocumentEntry, logicalId: object.logicalId, previousVersion: membership.previousVersion, propagate }
        : { kind, object: object as Folder, logicalId: object.logicalId, previousVersion: membership.previousVersion, propagate },
    );
  }

  const statusUpdates: StatusUpdate[] = [];
  for (const a of objects.associations) {
    if (a.type !== 'UpdateAvailabilityStatus') continue;
    consumed.add(a.entryUuid);
    if (a.originalStatus && a.newStatus) {
      statusUpdates.push({ associationId: a.entryUuid, targetUuid: a.targetUuid, originalStatus: a.originalStatus, newStatus: a.newStatus });
    }
  }
  const newAssociations = objects.associations.filter((a) => !consumed.has(a.entryUuid));
  return { submission: objects, metadataUpdates, statusUpdates, newAssociations, issues };
}
