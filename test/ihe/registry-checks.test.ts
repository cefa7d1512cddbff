import t from 'tap';
import type { Association, ExistingObject, RegistryFacts, RegistryObjects, SubmissionTransaction } from '../../src/ihe/xds/index.ts';
import { checkAgainstRegistry, checkRemoval, lookupsFor, patientKey } from '../../src/ihe/xds/index.ts';
import { frDmpSubmission, INS } from './fixtures.ts';

const OLD = 'urn:uuid:11111111-1111-4111-8111-111111111111';
const LID = 'urn:uuid:22222222-2222-4222-8222-222222222222';
const APPROVED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved';
const DEPRECATED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated';
const OTHER_PATIENT = '297010100100152^^^&1.2.250.1.213.1.4.10&ISO^NH';

function facts(existing: ExistingObject[] = [], knownPatients: string[] = [INS]): RegistryFacts {
  return {
    knownPatients: new Set(knownPatients.map(patientKey)),
    byUniqueId: new Map(existing.filter((e) => e.uniqueId).map((e) => [e.uniqueId!, e])),
    byEntryUuid: new Map(existing.map((e) => [e.entryUuid, e])),
    byLogicalId: new Map(existing.filter((e) => e.logicalId).map((e) => [e.logicalId!, e])),
  };
}

function check(mutate: (o: RegistryObjects) => void, registry: RegistryFacts, transaction: SubmissionTransaction = 'ITI-42'): [string, string | undefined][] {
  const objects = frDmpSubmission();
  mutate(objects);
  return checkAgainstRegistry(objects, registry, { transaction }).map((e) => [e.code, e.location]);
}

const relation = (type: 'RPLC' | 'APND', target: string): Association => ({
  entryUuid: 'Association02', type, typeUrn: `urn:ihe:iti:2007:AssociationType:${type}`, sourceUuid: 'Document01', targetUuid: target, extraSlots: [],
});

const existingDocument = (over: Partial<ExistingObject> = {}): ExistingObject => ({
  kind: 'DocumentEntry', entryUuid: OLD, uniqueId: '1.2.250.1.999.1.1.20230101.2', patientId: INS, availabilityStatus: APPROVED,
  hash: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', size: '0', logicalId: OLD, version: '1', ...over,
});

void t.test('a submission for a known patient with fresh uniqueIds passes', async (t) => {
  t.same(check(() => {}, facts()), []);
});

void t.test('a patient the identity feed does not know is XDSUnknownPatientId, reported once', async (t) => {
  t.same(check(() => {}, facts([], [])), [['XDSUnknownPatientId', 'SubmissionSet01']]);
});

void t.test('a SubmissionSet uniqueId already in the registry is XDSDuplicateUniqueIdInRegistry', async (t) => {
  const taken: ExistingObject = { kind: 'SubmissionSet', entryUuid: OLD, uniqueId: '1.2.250.1.999.1.1.20240115.1' };
  t.same(check(() => {}, facts([taken])), [['XDSDuplicateUniqueIdInRegistry', 'SubmissionSet01']]);
});

void t.test('a document uniqueId already registered with another hash is XDSNonIdenticalHash', async (t) => {
  const same = existingDocument({ uniqueId: '1.2.250.1.999.1.1.20240115.2', hash: 'ffffffffffffffffffffffffffffffffffffffff' });
  t.same(check(() => {}, facts([same])), [['XDSNonIdenticalHash', 'Document01']]);
});

void t.test('a document uniqueId already registered with another size is XDSNonIdenticalSize', async (t) => {
  const same = existingDocument({ uniqueId: '1.2.250.1.999.1.1.20240115.2', size: '12' });
  t.same(check(() => {}, facts([same])), [['XDSNonIdenticalSize', 'Document01']]);
});

void t.test('a document registered again with the same bytes is XDSDuplicateUniqueIdInRegistry', async (t) => {
  t.same(check(() => {}, facts([existingDocument({ uniqueId: '1.2.250.1.999.1.1.20240115.2' })])), [['XDSDuplicateUniqueIdInRegistry', 'Document01']]);
});

void t.test('a replacement of a document the registry does not hold is a metadata error', async (t) => {
  t.same(check((o) => o.associations.push(relation('RPLC', OLD)), facts()), [['XDSRegistryMetadataError', 'Association02']]);
});

void t.test('a replacement of another patient\'s document is XDSPatientIdDoesNotMatch', async (t) => {
  t.same(check((o) => o.associations.push(relation('RPLC', OLD)), facts([existingDocument({ patientId: OTHER_PATIENT })])), [
    ['XDSPatientIdDoesNotMatch', 'Association02'],
  ]);
});

void t.test('replacing or appending to a deprecated document is XDSRegistryDeprecatedDocumentError', async (t) => {
  t.same(check((o) => o.associations.push(relation('APND', OLD)), facts([existingDocument({ availabilityStatus: DEPRECATED })])), [
    ['XDSRegistryDeprecatedDocumentError', 'Association02'],
  ]);
  t.same(check((o) => o.associations.push(relation('RPLC', OLD)), facts([existingDocument()])), []);
});

function asUpdate(o: RegistryObjects): void {
  o.documentEntries[0].logicalId = LID;
  o.associations[0].previousVersion = '2';
}

const latest = (over: Partial<ExistingObject> = {}) =>
  existingDocument({ entryUuid: OLD, logicalId: LID, version: '2', uniqueId: '1.2.250.1.999.1.1.20240115.2', ...over });

void t.test('ITI-57: an update of the latest version, same uniqueId and patient, passes', async (t) => {
  t.same(check(asUpdate, facts([latest()]), 'ITI-57'), []);
});

void t.test('ITI-57: an update naming a logicalId the registry does not hold is UnresolvedReferenceException', async (t) => {
  t.same(check(asUpdate, facts([]), 'ITI-57'), [['UnresolvedReferenceException', 'Document01']]);
});

void t.test('ITI-57: a PreviousVersion that is not the latest is XDSMetadataVersionError', async (t) => {
  t.same(check(asUpdate, facts([latest({ version: '3' })]), 'ITI-57'), [['XDSMetadataVersionError', 'Document01']]);
});

void t.test('ITI-57: an update changing uniqueId is XDSMetadataIdentifierError', async (t) => {
  t.same(check(asUpdate, facts([latest({ uniqueId: '1.2.3.4' })]), 'ITI-57'), [['XDSMetadataIdentifierError', 'Document01']]);
});

void t.test('ITI-57: an update changing the patient is XDSPatientIDReconciliationError', async (t) => {
  t.same(check(asUpdate, facts([latest({ patientId: OTHER_PATIENT })]), 'ITI-57'), [['XDSPatientIDReconciliationError', 'Document01']]);
});

void t.test('ITI-57: a status change whose OriginalStatus is not the current one is XDSMetadataUpdateError', async (t) => {
  const change = (o: RegistryObjects) => {
    o.documentEntries = [];
    o.associations = [{
      entryUuid: 'Association02', type: 'UpdateAvailabilityStatus', typeUrn: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
      sourceUuid: 'SubmissionSet01', targetUuid: OLD, originalStatus: APPROVED, newStatus: DEPRECATED, extraSlots: [],
    }];
  };
  t.same(check(change, facts([existingDocument()]), 'ITI-57'), []);
  t.same(check(change, facts([existingDocument({ availabilityStatus: DEPRECATED })]), 'ITI-57'), [['XDSMetadataUpdateError', 'Association02']]);
});

void t.test('lookupsFor lists the patients, uniqueIds, association targets and logical ids to fetch', async (t) => {
  const objects = frDmpSubmission();
  asUpdate(objects);
  objects.associations.push(relation('RPLC', OLD));
  t.same(lookupsFor(objects), {
    patientIds: [INS],
    uniqueIds: ['1.2.250.1.999.1.1.20240115.1', '1.2.250.1.999.1.1.20240115.2'],
    entryUuids: [OLD],
    logicalIds: [LID],
  });
});

void t.test('ITI-62: removing an object the registry does not hold is UnresolvedReferenceException', async (t) => {
  const errors = checkRemoval([OLD], { kindOf: () => undefined, associationsOf: () => [] });
  t.same(errors.map((e) => [e.code, e.location]), [['UnresolvedReferenceException', OLD]]);
});

void t.test('ITI-62: removing a document but not the associations pointing at it is ReferencesExistException', async (t) => {
  const registry = { kindOf: () => 'DocumentEntry' as const, associationsOf: (id: string) => (id === OLD ? [LID] : []) };
  t.same(checkRemoval([OLD], registry).map((e) => [e.code, e.location]), [['ReferencesExistException', OLD]]);
  t.same(checkRemoval([OLD, LID], registry), []);
});

const SET_MEMBER = 'urn:uuid:5e7a0000-0000-4000-8000-000000000001';
const FOLDER_MEMBER = 'urn:uuid:f01d0000-0000-4000-8000-000000000001';
/** A SubmissionSet → OLD HasMember and a Folder → OLD HasMember, nothing pointing at either (ids found whatever their case, as the registry does). */
const memberships = {
  kindOf: (id: string) => {
    const lc = id.toLowerCase();
    return lc === OLD ? ('DocumentEntry' as const) : [SET_MEMBER, FOLDER_MEMBER].includes(lc) ? ('Association' as const) : undefined;
  },
  associationsOf: (id: string) => (id.toLowerCase() === OLD ? [SET_MEMBER, FOLDER_MEMBER] : []),
  associationOf: (id: string) => {
    const lc = id.toLowerCase();
    return lc === SET_MEMBER ? { type: 'HasMember', sourceKind: 'SubmissionSet', targetUuid: OLD } : lc === FOLDER_MEMBER ? { type: 'HasMember', sourceKind: 'Folder', targetUuid: OLD } : undefined;
  },
};

void t.test('ITI-62: a Folder membership may be removed alone (the document leaves the folder)', async (t) => {
  t.same(checkRemoval([FOLDER_MEMBER], memberships), []);
});

void t.test('ITI-62: a SubmissionSet membership removed without its member is ReferencesExistException', async (t) => {
  t.same(checkRemoval([SET_MEMBER], memberships).map((e) => [e.code, e.location]), [['ReferencesExistException', SET_MEMBER]]);
  t.same(checkRemoval([OLD, SET_MEMBER, FOLDER_MEMBER], memberships), [], 'with its member, it goes');
});

void t.test('ITI-62: the associations removed with an object are matched whatever the case of their entryUUIDs', async (t) => {
  t.same(checkRemoval([OLD.toUpperCase(), SET_MEMBER.toUpperCase(), FOLDER_MEMBER], memberships).map((e) => e.code), []);
});
