// A replacement joins the Folders of the DocumentEntry it replaces (ITI TF-3 4.2.2.2): the
// registry adds the HasMember associations itself, in the commit of the replacement, so
// GetFoldersForDocument finds the replacement where the original was.
import t from 'tap';
import type { Association, Folder, RegistryObjects } from '../../src/ihe/xds/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { ACTIONS, cxOf, hasMember, INS_TEST_AUTHORITY, iti41Mtom, iti42, iti57, newIns, newOid, pdf, submission } from './builders.ts';
import type { Answer } from './support.ts';
import { answerOf, associations, createPatient, errorsOf, extrinsicObjects, post, QUERY, registryPackages, SOAP_CONTENT_TYPE, statusOf, storedQuery } from './support.ts';

let api: TestApp;
const patient = cxOf(newIns());
/** entryUUIDs by name: documents a (in folders f1 and f2) and b (in none), the folders. */
const uuids: Record<string, string> = {};

async function registry(body: string, action = ''): Promise<Answer> {
  return answerOf(await post(api.app, 'registry', body, SOAP_CONTENT_TYPE(action)));
}

async function entryUuidOf(uniqueId: string): Promise<string> {
  return extrinsicObjects(await registry(storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] })))[0].id;
}

async function foldersOf(uuid: string): Promise<string[]> {
  const answer = await registry(storedQuery(QUERY.GetFoldersForDocument, { $XDSDocumentEntryEntryUUID: [`'${uuid}'`] }));
  if (statusOf(answer.body) !== 'Success') throw new Error(JSON.stringify(errorsOf(answer.body)));
  return registryPackages(answer).map((p) => p.attrs.id).sort();
}

const folder = (id: string): Folder => ({ entryUuid: id, uniqueId: newOid(), patientId: patient, codeList: [{ code: 'SUIVI', codingScheme: '1.2.250.1.999.5' }], title: id, limitedMetadata: false, extraSlots: [] });

/** An ITI-42 registering one document that replaces `target` (entryUUID), with `extra` associations. */
function replacement(target: string, extra: Association[] = []): RegistryObjects {
  const objects = submission(patient, [{ bytes: pdf() }]);
  objects.associations.push({ entryUuid: 'Replace01', type: 'RPLC', typeUrn: 'urn:ihe:iti:2007:AssociationType:RPLC', sourceUuid: 'Document01', targetUuid: target, extraSlots: [] }, ...extra);
  return objects;
}

t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: '1.2.250.1.999.1.9' } });
  await createPatient(api.app, INS_TEST_AUTHORITY, patient.split('^')[0]);
  const bytes = { a: pdf(), b: pdf() };
  const one = submission(patient, [{ bytes: bytes.a }, { bytes: bytes.b }]);
  one.folders.push(folder('Folder01'), folder('Folder02'));
  one.associations.push(
    hasMember('AssocF1', 'SubmissionSet01', 'Folder01'), hasMember('AssocF2', 'SubmissionSet01', 'Folder02'),
    hasMember('AssocF1A', 'Folder01', 'Document01'), hasMember('AssocF2A', 'Folder02', 'Document01'),
    hasMember('AssocSF1A', 'SubmissionSet01', 'AssocF1A'), hasMember('AssocSF2A', 'SubmissionSet01', 'AssocF2A'),
  );
  const provided = await iti41Mtom(one, new Map([['Document01', bytes.a], ['Document02', bytes.b]]));
  const answer = await answerOf(await post(api.app, 'repository', provided.body, provided.contentType));
  if (statusOf(answer.body) !== 'Success') throw new Error(`seed: ${JSON.stringify(errorsOf(answer.body))}`);
  uuids.a = await entryUuidOf(one.documentEntries[0].uniqueId as string);
  uuids.b = await entryUuidOf(one.documentEntries[1].uniqueId as string);
  [uuids.f1, uuids.f2] = await foldersOf(uuids.a);
});
t.teardown(() => api.close());

void t.test('the seeded document is in two folders', async (t) => {
  t.equal((await foldersOf(uuids.a)).length, 2);
});

void t.test('a replacement (RPLC) is placed in every Folder of the document it replaces', async (t) => {
  const objects = replacement(uuids.a);
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  const replacing = await entryUuidOf(objects.documentEntries[0].uniqueId as string);
  t.same(await foldersOf(replacing), [uuids.f1, uuids.f2].sort(), 'GetFoldersForDocument on the replacement');
  t.same(await foldersOf(uuids.a), [uuids.f1, uuids.f2].sort(), 'the original stays a member');
  const contents = await registry(storedQuery(QUERY.GetFolderAndContents, { $XDSFolderEntryUUID: [`'${uuids.f1}'`] }));
  t.ok(associations(contents).some((a) => a.type === 'HasMember' && a.source === uuids.f1 && a.target === replacing), 'the Folder → replacement HasMember');
  const list = await api.call('GET', `/fhir/List/${uuids.f1.slice('urn:uuid:'.length)}`);
  t.ok(list.body.entry.some((e: { item: { reference: string } }) => e.item.reference === `DocumentReference/${replacing.slice('urn:uuid:'.length)}`), 'over FHIR, the folder List holds it');
  uuids.a2 = replacing;
});

void t.test('a replacement the submission itself puts in one of those Folders is a member only once', async (t) => {
  const objects = replacement(uuids.a2, [hasMember('AssocF1New', uuids.f1, 'Document01'), hasMember('AssocSF1New', 'SubmissionSet01', 'AssocF1New')]);
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  const replacing = await entryUuidOf(objects.documentEntries[0].uniqueId as string);
  t.same(await foldersOf(replacing), [uuids.f1, uuids.f2].sort());
  const list = (await api.call('GET', `/fhir/List/${uuids.f1.slice('urn:uuid:'.length)}`)).body;
  const memberships = list.entry.filter((e: { item: { reference: string } }) => e.item.reference === `DocumentReference/${replacing.slice('urn:uuid:'.length)}`);
  t.equal(memberships.length, 1);
  uuids.a3 = replacing;
});

void t.test('the replacement of a document in no Folder is in no Folder', async (t) => {
  const objects = replacement(uuids.b);
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.same(await foldersOf(await entryUuidOf(objects.documentEntries[0].uniqueId as string)), []);
});

void t.test('a refused replacement changes no Folder', async (t) => {
  const before = (await api.call('GET', `/fhir/List/${uuids.f2.slice('urn:uuid:'.length)}`)).body.meta.versionId;
  // The original was replaced already: it is Deprecated, and replacing it again is refused.
  const objects = replacement(uuids.a);
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(errorsOf(answer.body).length > 0);
  t.equal((await api.call('GET', `/fhir/List/${uuids.f2.slice('urn:uuid:'.length)}`)).body.meta.versionId, before);
});

void t.test('a new version (ITI-57) the request itself puts in a Folder of the previous version is a member of it only once', async (t) => {
  const [current] = extrinsicObjects(await registry(storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryEntryUUID: [`('${uuids.a3}')`] })));
  const update = submission(patient, [{ bytes: pdf() }]);
  Object.assign(update.documentEntries[0], {
    uniqueId: current.uniqueId, logicalId: current.lid ?? uuids.a3, title: 'Lettre (corrigée)', hash: current.slots.get('hash')?.[0], size: current.slots.get('size')?.[0],
  });
  update.associations[0].previousVersion = '1';
  update.associations.push(hasMember('AssocF2New', uuids.f2, 'Document01'), hasMember('AssocSF2New', 'SubmissionSet01', 'AssocF2New'));
  const answer = await registry(iti57(update), ACTIONS.iti57);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  const versions = extrinsicObjects(await registry(storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${current.uniqueId as string}')`] })));
  const newest = versions.find((v) => v.id !== uuids.a3) as { id: string };
  t.same(await foldersOf(newest.id), [uuids.f1, uuids.f2].sort(), 'in both folders of the previous version');
  const list = (await api.call('GET', `/fhir/List/${uuids.f2.slice('urn:uuid:'.length)}`)).body;
  const memberships = list.entry.filter((e: { item: { reference: string } }) => e.item.reference === `DocumentReference/${newest.id.slice('urn:uuid:'.length)}`);
  t.equal(memberships.length, 1);
});
