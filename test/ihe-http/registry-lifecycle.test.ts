// The registry's behaviour over one dossier, on the pass's store: every stored query on a known
// set of objects (two submissions, a folder, a replacement), then a metadata update, a status
// change and a deletion, each checked over XDS and over FHIR (one data model).
import t from 'tap';
import type { Folder, RegistryObjects } from '../../src/ihe/xds/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { ACTIONS, cxOf, hasMember, INS_TEST_AUTHORITY, iti41Mtom, iti42, iti57, iti62, newIns, newOid, pdf, REPOSITORY, submission } from './builders.ts';
import type { Answer } from './support.ts';
import {
  answerOf, APPROVED, associations, createPatient, DEPRECATED, errorsOf, extrinsicObjects, objectRefs, post, QUERY, registryPackages,
  retrievedDocuments, retrieveRequest, SOAP_CONTENT_TYPE, statusOf, storedQuery,
} from './support.ts';

let api: TestApp;
const ins = newIns();
const patient = cxOf(ins);
let patientId: string;
const bytes = { a: pdf('A'), b: pdf('B'), c: pdf('C') };
/** uniqueIds and entryUUIDs of what the dossier holds, filled as it is built. */
const ids = { a: '', b: '', c: '', ss1: '', ss2: '', folder: '' };
const uuids: Record<string, string> = {};

async function registry(body: string, action = ''): Promise<Answer> {
  return answerOf(await post(api.app, 'registry', body, SOAP_CONTENT_TYPE(action)));
}

async function query(queryId: string, slots: Record<string, string[]> | [string, string[]][], returnType: 'LeafClass' | 'ObjectRef' = 'LeafClass'): Promise<Answer> {
  const answer = await registry(storedQuery(queryId, slots, returnType));
  if (statusOf(answer.body) !== 'Success') throw new Error(JSON.stringify(errorsOf(answer.body)));
  return answer;
}

const uniques = (answer: Answer) => extrinsicObjects(answer).map((e) => e.uniqueId).sort();
const sorted = (...values: string[]) => [...values].sort();
const STATUS = (s: string) => [`('${s}')`];
const PATIENT = () => [`'${patient}'`];

t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
  patientId = await createPatient(api.app, INS_TEST_AUTHORITY, ins);

  // Submission 1 (ITI-41): letter A (with an event code and a reference id), lab report B, folder F holding A.
  const one = submission(patient, [
    { bytes: bytes.a, options: { typeCode: '11490-0', creationTime: '20240115093000', eventCodes: [{ code: 'DEQP003', codingScheme: '1.2.250.1.213.2.5' }], referenceIds: ['CMD-42^^^&1.2.250.1.999.4&ISO^urn:ihe:iti:xds:2013:order'] } },
    { bytes: bytes.b, options: { typeCode: '11502-2', creationTime: '20240301100000' } },
  ]);
  const folder: Folder = {
    entryUuid: 'Folder01', uniqueId: newOid(), patientId: patient, codeList: [{ code: 'SUIVI', codingScheme: '1.2.250.1.999.5' }], title: 'Suivi', limitedMetadata: false, extraSlots: [],
  };
  one.folders.push(folder);
  one.associations.push(
    hasMember('AssociationF', 'SubmissionSet01', 'Folder01'),
    hasMember('AssociationFA', 'Folder01', 'Document01'),
    hasMember('AssociationSFA', 'SubmissionSet01', 'AssociationFA'),
  );
  [ids.a, ids.b, ids.ss1, ids.folder] = [one.documentEntries[0].uniqueId!, one.documentEntries[1].uniqueId!, one.submissionSets[0].uniqueId!, folder.uniqueId!];
  const provided = await iti41Mtom(one, new Map([['Document01', bytes.a], ['Document02', bytes.b]]));
  const first = await answerOf(await post(api.app, 'repository', provided.body, provided.contentType));
  if (statusOf(first.body) !== 'Success') throw new Error(`submission 1: ${JSON.stringify(errorsOf(first.body))}`);
  const get = async (uniqueId: string) => extrinsicObjects(await query(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] }))[0].id;
  uuids.a = await get(ids.a);
  uuids.b = await get(ids.b);

  // Submission 2 (ITI-42): C replaces B.
  const two: RegistryObjects = submission(patient, [{ bytes: bytes.c, options: { typeCode: '11502-2', creationTime: '20240302100000' } }]);
  two.associations.push({ entryUuid: 'Replace01', type: 'RPLC', typeUrn: 'urn:ihe:iti:2007:AssociationType:RPLC', sourceUuid: 'Document01', targetUuid: uuids.b, extraSlots: [] });
  [ids.c, ids.ss2] = [two.documentEntries[0].uniqueId!, two.submissionSets[0].uniqueId!];
  const second = await registry(iti42(two), ACTIONS.iti42);
  if (statusOf(second.body) !== 'Success') throw new Error(`submission 2: ${JSON.stringify(errorsOf(second.body))}`);
  uuids.c = await get(ids.c);
  const folders = await query(QUERY.GetFolders, { $XDSFolderUniqueId: [`('${ids.folder}')`] });
  uuids.folder = registryPackages(folders)[0].attrs.id;
});
t.teardown(() => api.close());

void t.test('FindDocuments filters by status: the replaced document is Deprecated', async (t) => {
  t.same(uniques(await query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: STATUS(APPROVED) })), sorted(ids.a, ids.c));
  t.same(uniques(await query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: STATUS(DEPRECATED) })), [ids.b]);
});

void t.test('FindDocuments filters by type code, creation time, event code (AND/OR) and author pattern', async (t) => {
  const both = [`('${APPROVED}', '${DEPRECATED}')`];
  t.same(uniques(await query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: both, $XDSDocumentEntryTypeCode: ["('11502-2^^2.16.840.1.113883.6.1')"] })), sorted(ids.b, ids.c));
  t.same(uniques(await query(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: both, $XDSDocumentEntryCreationTimeFrom: ['20240301'], $XDSDocumentEntryCreationTimeTo: ['20240302'],
  })), [ids.b], 'from is inclusive, to exclusive');
  t.same(uniques(await query(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: both, $XDSDocumentEntryEventCodeList: ["('DEQP003^^1.2.250.1.213.2.5')"],
  })), [ids.a]);
  t.same(uniques(await query(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: both,
    $XDSDocumentEntryEventCodeList: ["('DEQP003^^1.2.250.1.213.2.5', 'OTHER^^1.2.3')"],
  })), [ids.a], 'the codes of one slot are ORed');
  t.same(uniques(await query(QUERY.FindDocuments, [
    ['$XDSDocumentEntryPatientId', PATIENT()], ['$XDSDocumentEntryStatus', both],
    ['$XDSDocumentEntryEventCodeList', ["('DEQP003^^1.2.250.1.213.2.5')"]], ['$XDSDocumentEntryEventCodeList', ["('OTHER^^1.2.3')"]],
  ])), [], 'two slots are ANDed');
  t.same(uniques(await query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: both, $XDSDocumentEntryAuthorPerson: ["('%DUPONT^JEAN%')"] })), sorted(ids.a, ids.b, ids.c));
  t.same(uniques(await query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: both, $XDSDocumentEntryAuthorPerson: ["('%MARTIN%')"] })), []);
});

void t.test('FindDocumentsByReferenceId finds the document carrying the reference', async (t) => {
  const answer = await query('urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492', {
    $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: STATUS(APPROVED),
    $XDSDocumentEntryReferenceIdList: ["('CMD-42^^^&1.2.250.1.999.4&ISO^urn:ihe:iti:xds:2013:order')"],
  });
  t.same(uniques(answer), [ids.a]);
});

void t.test('FindSubmissionSets and FindFolders find the dossier submission sets and folder', async (t) => {
  const sets = await query(QUERY.FindSubmissionSets, { $XDSSubmissionSetPatientId: PATIENT(), $XDSSubmissionSetStatus: STATUS(APPROVED) });
  t.equal(registryPackages(sets).length, 2);
  const folders = await query(QUERY.FindFolders, { $XDSFolderPatientId: PATIENT(), $XDSFolderStatus: STATUS(APPROVED) });
  t.same(registryPackages(folders).map((p) => p.attrs.id), [uuids.folder]);
});

void t.test('GetAll returns every object of the dossier with the associations between them', async (t) => {
  const answer = await query(QUERY.GetAll, {
    $patientId: PATIENT(), $XDSDocumentEntryStatus: [`('${APPROVED}', '${DEPRECATED}')`], $XDSSubmissionSetStatus: STATUS(APPROVED), $XDSFolderStatus: STATUS(APPROVED),
  });
  t.same(uniques(answer), sorted(ids.a, ids.b, ids.c));
  t.equal(registryPackages(answer).length, 3, 'two submission sets and the folder');
  const types = associations(answer).map((a) => a.type).sort();
  t.same(types, ['HasMember', 'HasMember', 'HasMember', 'HasMember', 'HasMember', 'HasMember', 'RPLC']);
});

void t.test('GetAssociations and GetDocumentsAndAssociations name the associations of a document', async (t) => {
  const answer = await query(QUERY.GetAssociations, { $uuid: [`('${uuids.a}')`] });
  t.same(associations(answer).map((a) => [a.type, a.target]).sort(), [['HasMember', uuids.a], ['HasMember', uuids.a]], 'from its SubmissionSet and from its Folder');
  const both = await query(QUERY.GetDocumentsAndAssociations, { $XDSDocumentEntryEntryUUID: [`('${uuids.c}')`] });
  t.same(uniques(both), [ids.c]);
  t.same(associations(both).map((a) => a.type).sort(), ['HasMember', 'RPLC']);
});

void t.test('GetSubmissionSets returns the SubmissionSet that registered a document', async (t) => {
  const answer = await query(QUERY.GetSubmissionSets, { $uuid: [`('${uuids.c}')`] });
  t.equal(registryPackages(answer).length, 1);
  t.same(associations(answer).map((a) => [a.type, a.target]), [['HasMember', uuids.c]]);
});

void t.test('GetSubmissionSetAndContents returns the set, its documents, its folder and the membership associations', async (t) => {
  const answer = await query(QUERY.GetSubmissionSetAndContents, { $XDSSubmissionSetUniqueId: [`'${ids.ss1}'`] });
  t.same(uniques(answer), sorted(ids.a, ids.b));
  t.equal(registryPackages(answer).length, 2, 'the set and its folder');
  t.equal(associations(answer).length, 5, 'set → A, B, folder; folder → A; set → that membership');
});

void t.test('GetFolderAndContents and GetFoldersForDocument go from folder to documents and back', async (t) => {
  const contents = await query(QUERY.GetFolderAndContents, { $XDSFolderEntryUUID: [`'${uuids.folder}'`] });
  t.same(uniques(contents), [ids.a]);
  t.same(associations(contents).map((a) => [a.source, a.target]), [[uuids.folder, uuids.a]]);
  const folders = await query(QUERY.GetFoldersForDocument, { $XDSDocumentEntryUniqueId: [`'${ids.a}'`] });
  t.same(registryPackages(folders).map((p) => p.attrs.id), [uuids.folder]);
});

void t.test('GetRelatedDocuments follows the replacement both ways', async (t) => {
  const answer = await query(QUERY.GetRelatedDocuments, { $XDSDocumentEntryEntryUUID: [`'${uuids.b}'`], $AssociationTypes: ["('urn:ihe:iti:2007:AssociationType:RPLC')"] });
  t.same(uniques(answer), sorted(ids.b, ids.c));
  t.same(associations(answer).map((a) => [a.type, a.source, a.target]), [['RPLC', uuids.c, uuids.b]]);
});

void t.test('ObjectRef answers carry only the entryUUIDs', async (t) => {
  const answer = await query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: PATIENT(), $XDSDocumentEntryStatus: STATUS(APPROVED) }, 'ObjectRef');
  t.same(objectRefs(answer).sort(), sorted(uuids.a, uuids.c));
  t.same(extrinsicObjects(answer), []);
});

void t.test('over FHIR the replacement is relatesTo replaces, and the replaced document is superseded', async (t) => {
  const c = (await api.call('GET', `/fhir/DocumentReference/${uuids.c.slice(9)}`)).body;
  t.same(c.relatesTo.map((r: { code: string; target: { reference: string } }) => [r.code, r.target.reference]), [['replaces', `DocumentReference/${uuids.b.slice(9)}`]]);
  t.equal((await api.call('GET', `/fhir/DocumentReference/${uuids.b.slice(9)}`)).body.status, 'superseded');
});

void t.test('a metadata update makes version 2: version 1 is Deprecated, the folder holds both, the document still comes', async (t) => {
  const update = submission(patient, [{ bytes: bytes.a, options: { typeCode: '11490-0', creationTime: '20240115093000' } }]);
  Object.assign(update.documentEntries[0], { uniqueId: ids.a, logicalId: uuids.a, title: 'Lettre de liaison (corrigée)' });
  update.associations[0].previousVersion = '1';
  const answer = await registry(iti57(update), ACTIONS.iti57);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));

  const versions = extrinsicObjects(await query(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${ids.a}')`] }));
  t.same(versions.map((v) => [v.lid, v.status]).sort(), [[uuids.a, APPROVED], [uuids.a, DEPRECATED]]);
  const current = versions.find((v) => v.status === APPROVED)!;
  t.same(current.element.children.find((c) => c.name === 'VersionInfo')?.attrs.versionName, '2');

  const contents = await query(QUERY.GetFolderAndContents, { $XDSFolderEntryUUID: [`'${uuids.folder}'`] });
  t.same(extrinsicObjects(contents).map((e) => e.id).sort(), sorted(uuids.a, current.id), 'the folder membership was propagated');

  const fhirNew = (await api.call('GET', `/fhir/DocumentReference/${current.id.slice(9)}`)).body;
  t.equal(fhirNew.status, 'current');
  t.ok(fhirNew.identifier.some((i: { value: string; type?: unknown }) => i.value === uuids.a && i.type), 'the logicalId is an identifier of the new version');
  const binaryId = (fhirNew.content[0].attachment.url as string).split('/')[1];
  t.equal((await api.call('GET', `/fhir/Binary/${binaryId}`, undefined, { accept: 'application/fhir+json' })).body.securityContext.reference, `DocumentReference/${current.id.slice(9)}`, 'the Binary follows the new version');

  const retrieved = await answerOf(await post(api.app, 'repository', retrieveRequest(REPOSITORY, [ids.a]), SOAP_CONTENT_TYPE(ACTIONS.iti43)));
  t.ok(retrievedDocuments(retrieved)[0]?.bytes?.equals(bytes.a));
});

void t.test('a status update deprecates a document, which FHIR shows as superseded', async (t) => {
  const update = submission(patient, []);
  update.associations = [{
    entryUuid: 'Status01', type: 'UpdateAvailabilityStatus', typeUrn: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
    sourceUuid: 'SubmissionSet01', targetUuid: uuids.c, originalStatus: APPROVED, newStatus: DEPRECATED, extraSlots: [],
  }];
  const answer = await registry(iti57(update), ACTIONS.iti57);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.equal((await api.call('GET', `/fhir/DocumentReference/${uuids.c.slice(9)}`)).body.status, 'superseded');
});

void t.test('deleting a document with its associations removes it, its bytes and its SubmissionSet membership', async (t) => {
  const around = await query(QUERY.GetDocumentsAndAssociations, { $XDSDocumentEntryEntryUUID: [`('${uuids.c}')`] });
  const answer = await registry(iti62([uuids.c, ...associations(around).map((a) => a.id)]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.equal((await api.call('GET', `/fhir/DocumentReference/${uuids.c.slice(9)}`)).status, 410);
  t.same(uniques(await query(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${ids.c}')`] })), []);
  const sets = await query(QUERY.FindSubmissionSets, { $XDSSubmissionSetPatientId: PATIENT(), $XDSSubmissionSetStatus: STATUS(APPROVED) });
  t.equal(registryPackages(sets).length, 4, 'the SubmissionSets stay (two submissions, two updates)');
  const lists = await api.call('GET', `/fhir/List?patient=${patientId}&code=submissionset&_count=10`);
  const references = lists.body.entry.flatMap((e: { resource: { entry?: { item: { reference: string } }[] } }) => (e.resource.entry ?? []).map((x) => x.item.reference));
  t.notOk(references.includes(`DocumentReference/${uuids.c.slice(9)}`), 'no List points at the deleted document');
});
