// ITI-62 with an Association named alone (ITI TF-2b 3.62): a document taken out of a Folder by
// removing the Folder's HasMember (with the SubmissionSet's HasMember that recorded it), while
// the registry keeps its integrity: no surviving association may point at a removed one, no
// member may lose the SubmissionSet that brought it, and an unknown id changes nothing.
import t from 'tap';
import type { Folder } from '../../src/ihe/xds/index.ts';
import { searchRegistry } from '../../src/fhir/search/registry.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { ACTIONS, cxOf, hasMember, INS_TEST_AUTHORITY, iti41Mtom, iti62, newIns, newOid, pdf, REPOSITORY, submission } from './builders.ts';
import type { Answer } from './support.ts';
import { answerOf, associations, createPatient, errorsOf, extrinsicObjects, post, QUERY, registryPackages, SOAP_CONTENT_TYPE, statusOf, storedQuery } from './support.ts';

// Associations are found alone through the xds-association search parameter (profiles/).
const indexed = searchRegistry().get('List', 'xds-association') !== undefined;
const needsIndex = indexed ? {} : { skip: 'profiles/search-parameters.json has no xds-association search parameter yet' };

let api: TestApp;
const patient = cxOf(newIns());
/** entryUUIDs: documents a (in the folder) and b, the folder, the set, and the associations. */
const ids: Record<string, string> = {};

async function registry(body: string, action = ''): Promise<Answer> {
  return answerOf(await post(api.app, 'registry', body, SOAP_CONTENT_TYPE(action)));
}

async function query(queryId: string, slots: Record<string, string[]>): Promise<Answer> {
  const answer = await registry(storedQuery(queryId, slots));
  if (statusOf(answer.body) !== 'Success') throw new Error(JSON.stringify(errorsOf(answer.body)));
  return answer;
}

const foldersOf = async (uuid: string) => registryPackages(await query(QUERY.GetFoldersForDocument, { $XDSDocumentEntryEntryUUID: [`'${uuid}'`] })).map((p) => p.attrs.id);
const folderVersion = async () => (await api.call('GET', `/fhir/List/${ids.folder.slice('urn:uuid:'.length)}`)).body.meta.versionId as string;
const setVersion = async () => (await api.call('GET', `/fhir/List/${ids.set.slice('urn:uuid:'.length)}`)).body.meta.versionId as string;

t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
  await createPatient(api.app, INS_TEST_AUTHORITY, patient.split('^')[0]);
  const bytes = { a: pdf(), b: pdf() };
  const objects = submission(patient, [{ bytes: bytes.a }, { bytes: bytes.b }]);
  const folder: Folder = { entryUuid: 'Folder01', uniqueId: newOid(), patientId: patient, codeList: [{ code: 'SUIVI', codingScheme: '1.2.250.1.999.5' }], title: 'Suivi', limitedMetadata: false, extraSlots: [] };
  objects.folders.push(folder);
  objects.associations.push(hasMember('AssocSF', 'SubmissionSet01', 'Folder01'), hasMember('AssocFA', 'Folder01', 'Document01'), hasMember('AssocSFA', 'SubmissionSet01', 'AssocFA'));
  const provided = await iti41Mtom(objects, new Map([['Document01', bytes.a], ['Document02', bytes.b]]));
  const answer = await answerOf(await post(api.app, 'repository', provided.body, provided.contentType));
  if (statusOf(answer.body) !== 'Success') throw new Error(`seed: ${JSON.stringify(errorsOf(answer.body))}`);

  const contents = await query(QUERY.GetSubmissionSetAndContents, { $XDSSubmissionSetUniqueId: [`'${objects.submissionSets[0].uniqueId as string}'`] });
  const byUnique = new Map(extrinsicObjects(contents).map((e) => [e.uniqueId, e.id]));
  ids.a = byUnique.get(objects.documentEntries[0].uniqueId) as string;
  ids.b = byUnique.get(objects.documentEntries[1].uniqueId) as string;
  const all = associations(contents);
  ids.set = all.find((a) => a.target === ids.b)?.source as string;
  ids.folder = all.find((a) => a.target === ids.a && a.source !== ids.set)?.source as string;
  ids.folderA = all.find((a) => a.source === ids.folder && a.target === ids.a)?.id as string;
  ids.setFolderA = all.find((a) => a.source === ids.set && a.target === ids.folderA)?.id as string;
  ids.setB = all.find((a) => a.source === ids.set && a.target === ids.b)?.id as string;
  if (Object.values(ids).some((v) => !v)) throw new Error(`seed ids: ${JSON.stringify(ids)}`);
});
t.teardown(() => api.close());

void t.test('an unknown association id is UnresolvedReferenceException and nothing changes', async (t) => {
  const unknown = 'urn:uuid:0b0c0d0e-0000-4000-8000-000000000062';
  const before = [await folderVersion(), await setVersion()];
  const answer = await registry(iti62([unknown, ids.setFolderA]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'UnresolvedReferenceException', location: unknown, severity: 'Error' }]);
  t.same([await folderVersion(), await setVersion()], before, 'neither List was written');
  t.same(await foldersOf(ids.a), [ids.folder]);
});

void t.test('a Folder membership removed alone, while the SubmissionSet still points at it, is ReferencesExistException', needsIndex, async (t) => {
  const before = await folderVersion();
  const answer = await registry(iti62([ids.folderA]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'ReferencesExistException', location: ids.folderA }]);
  t.equal(await folderVersion(), before);
  t.same(await foldersOf(ids.a), [ids.folder], 'the document is still in the folder');
});

void t.test("a SubmissionSet's HasMember removed without its member is ReferencesExistException", needsIndex, async (t) => {
  const before = await setVersion();
  const answer = await registry(iti62([ids.setB]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'ReferencesExistException', location: ids.setB, context: /SubmissionSet/ }]);
  t.equal(await setVersion(), before);
});

void t.test('removing the Folder membership with its SubmissionSet record takes the document out of the folder, and only that', needsIndex, async (t) => {
  const answer = await registry(iti62([ids.folderA, ids.setFolderA]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.same(await foldersOf(ids.a), [], 'GetFoldersForDocument finds no folder');
  const contents = await query(QUERY.GetFolderAndContents, { $XDSFolderEntryUUID: [`'${ids.folder}'`] });
  t.same(extrinsicObjects(contents), [], 'the folder is empty');
  const documents = await query(QUERY.GetDocuments, { $XDSDocumentEntryEntryUUID: [`('${ids.a}')`] });
  t.equal(extrinsicObjects(documents).length, 1, 'the document itself stays');
  const list = (await api.call('GET', `/fhir/List/${ids.folder.slice('urn:uuid:'.length)}`)).body;
  t.notOk((list.entry ?? []).some((e: { item: { reference: string } }) => e.item.reference === `DocumentReference/${ids.a.slice('urn:uuid:'.length)}`), 'over FHIR, the folder List no longer holds it');
  const around = await query(QUERY.GetAssociations, { $uuid: [`('${ids.a}')`] });
  t.same(associations(around).map((a) => a.source), [ids.set], 'only the SubmissionSet membership is left');
});

void t.test('the removed association is unknown afterwards', needsIndex, async (t) => {
  const answer = await registry(iti62([ids.folderA]), ACTIONS.iti62);
  t.match(errorsOf(answer.body), [{ code: 'UnresolvedReferenceException', location: ids.folderA }]);
});
