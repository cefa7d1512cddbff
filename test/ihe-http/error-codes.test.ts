// Each XDS error code Carnet returns, provoked through the HTTP endpoints on the pass's store:
// the answer's status and code, and that a refused submission stores nothing.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { openTestApp, type TestApp } from '../support/app.ts';
import { ACTIONS, cxOf, documentEntry, hasMember, iti41Inline, iti41Mtom, iti42, iti57, iti62, newIns, newOid, pdf, REPOSITORY, submission } from './builders.ts';
import type { Answer } from './support.ts';
import {
  answerOf, countResources, createPatient, errorsOf, extrinsicObjects, post, QUERY, retrievedDocuments, retrieveRequest, SOAP_CONTENT_TYPE, statusOf,
  storedQuery,
} from './support.ts';
import { INS_TEST_AUTHORITY } from './builders.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
});
t.teardown(() => api.close());

async function patient(): Promise<string> {
  const ins = newIns();
  await createPatient(api.app, INS_TEST_AUTHORITY, ins);
  return cxOf(ins);
}

async function registry(body: string, action: string): Promise<Answer> {
  return answerOf(await post(api.app, 'registry', body, SOAP_CONTENT_TYPE(action)));
}

async function repository(body: string | Buffer, contentType: string): Promise<Answer> {
  return answerOf(await post(api.app, 'repository', body, contentType));
}

const codes = (answer: Answer) => errorsOf(answer.body).map((e) => e.code);

async function counts(): Promise<number[]> {
  return Promise.all(['DocumentReference', 'List', 'Binary'].map((type) => countResources(api.app, type)));
}

/** Registers one document (ITI-42) and returns its uniqueId and entryUUID. */
async function registered(cx: string, bytes = pdf()): Promise<{ uniqueId: string; uuid: string }> {
  const objects = submission(cx, [{ bytes }]);
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  if (statusOf(answer.body) !== 'Success') throw new Error(JSON.stringify(errorsOf(answer.body)));
  const uniqueId = objects.documentEntries[0].uniqueId as string;
  const [entry] = extrinsicObjects(await registry(storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] }), ''));
  return { uniqueId, uuid: entry.id };
}

void t.test('XDSRegistryMetadataError: a DocumentEntry without classCode is refused and nothing is stored', async (t) => {
  const objects = submission(await patient(), [{ bytes: pdf() }]);
  delete objects.documentEntries[0].classCode;
  const before = await counts();
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRegistryMetadataError', context: /classCode is required/, location: 'Document01' }]);
  t.same(await counts(), before);
});

void t.test('XDSRepositoryMetadataError: a document whose size differs from its metadata is refused and nothing is stored', async (t) => {
  const bytes = pdf();
  const objects = submission(await patient(), [{ bytes }]);
  objects.documentEntries[0].size = String(bytes.length + 1);
  const before = await counts();
  const { body, contentType } = await iti41Mtom(objects, new Map([['Document01', bytes]]));
  const answer = await repository(body, contentType);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRepositoryMetadataError', context: /size/ }]);
  t.same(await counts(), before);
});

void t.test('XDSPatientIdDoesNotMatch: a DocumentEntry of another patient than its SubmissionSet is refused', async (t) => {
  const objects = submission(await patient(), [{ bytes: pdf() }]);
  objects.documentEntries[0].patientId = await patient();
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSPatientIdDoesNotMatch'));
});

void t.test('XDSPatientIdDoesNotMatch: replacing a document of another patient is refused', async (t) => {
  const other = await registered(await patient());
  const objects = submission(await patient(), [{ bytes: pdf() }]);
  objects.associations.push({ entryUuid: 'Replace01', type: 'RPLC', typeUrn: 'urn:ihe:iti:2007:AssociationType:RPLC', sourceUuid: 'Document01', targetUuid: other.uuid, extraSlots: [] });
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSPatientIdDoesNotMatch', location: 'Replace01' }]);
});

void t.test('XDSUnknownPatientId: a valid INS no Patient carries is unknown to the registry', async (t) => {
  const objects = submission(cxOf(newIns()), [{ bytes: pdf() }]);
  const before = await counts();
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSUnknownPatientId'));
  t.same(await counts(), before);
});

void t.test('XDSDuplicateUniqueIdInRegistry: a document uniqueId already registered is refused the second time', async (t) => {
  const cx = await patient();
  const bytes = pdf();
  const first = submission(cx, [{ bytes }]);
  t.equal(statusOf((await registry(iti42(first), ACTIONS.iti42)).body), 'Success');
  const second = submission(cx, [{ bytes }]);
  second.documentEntries[0].uniqueId = first.documentEntries[0].uniqueId;
  const answer = await registry(iti42(second), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSDuplicateUniqueIdInRegistry'));
});

void t.test('XDSNonIdenticalHash: a uniqueId already registered with another hash is refused', async (t) => {
  const cx = await patient();
  const first = submission(cx, [{ bytes: pdf() }]);
  await registry(iti42(first), ACTIONS.iti42);
  const second = submission(cx, [{ bytes: pdf() }]);
  second.documentEntries[0].uniqueId = first.documentEntries[0].uniqueId;
  const answer = await registry(iti42(second), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSNonIdenticalHash'));
});

void t.test('XDSMissingDocument: a DocumentEntry without its document is refused and nothing is stored', async (t) => {
  const objects = submission(await patient(), [{ bytes: pdf() }, { bytes: pdf() }]);
  const before = await counts();
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', pdf()]]));
  const answer = await repository(body, contentType);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSMissingDocument', location: 'Document02' }]);
  t.same(await counts(), before);
});

void t.test('XDSMissingDocumentMetadata: a document no DocumentEntry describes is refused', async (t) => {
  const bytes = pdf();
  const objects = submission(await patient(), [{ bytes }]);
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', bytes], ['Stray01', pdf()]]));
  const answer = await repository(body, contentType);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSMissingDocumentMetadata', location: 'Stray01' }]);
});

void t.test('XDSRepositoryDuplicateUniqueIdInMessage: two documents of one ITI-41 with one uniqueId are refused', async (t) => {
  const objects = submission(await patient(), [{ bytes: pdf() }, { bytes: pdf() }]);
  objects.documentEntries[1].uniqueId = objects.documentEntries[0].uniqueId;
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', pdf()], ['Document02', pdf()]]));
  const answer = await repository(body, contentType);
  t.ok(codes(answer).includes('XDSRepositoryDuplicateUniqueIdInMessage'));
});

void t.test('XDSRegistryDuplicateUniqueIdInMessage: two documents of one ITI-42 with one uniqueId are refused', async (t) => {
  const objects = submission(await patient(), [{ bytes: pdf() }, { bytes: pdf() }]);
  objects.documentEntries[1].uniqueId = objects.documentEntries[0].uniqueId;
  const answer = await registry(iti42(objects), ACTIONS.iti42);
  t.ok(codes(answer).includes('XDSRegistryDuplicateUniqueIdInMessage'));
});

void t.test('XDSRegistryDeprecatedDocumentError: replacing a document that was already replaced is refused', async (t) => {
  const cx = await patient();
  const original = await registered(cx);
  const replace = (id: string) => {
    const objects = submission(cx, [{ bytes: pdf() }]);
    objects.associations.push({ entryUuid: id, type: 'RPLC', typeUrn: 'urn:ihe:iti:2007:AssociationType:RPLC', sourceUuid: 'Document01', targetUuid: original.uuid, extraSlots: [] });
    return objects;
  };
  t.equal(statusOf((await registry(iti42(replace('Replace01')), ACTIONS.iti42)).body), 'Success');
  const answer = await registry(iti42(replace('Replace02')), ACTIONS.iti42);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRegistryDeprecatedDocumentError', location: 'Replace02' }]);
});

void t.test('XDSUnknownRepositoryId: a retrieve naming another repository gets Failure', async (t) => {
  const answer = await repository(retrieveRequest('1.2.3.4.5', [newOid()]), SOAP_CONTENT_TYPE(ACTIONS.iti43));
  t.equal(statusOf(answer.body), 'Failure');
  t.same(codes(answer), ['XDSUnknownRepositoryId']);
});

void t.test('XDSDocumentUniqueIdError: an unknown document beside a known one gives PartialSuccess with the known one', async (t) => {
  const bytes = pdf();
  const objects = submission(await patient(), [{ bytes }]);
  const { body, contentType } = await iti41Mtom(objects, new Map([['Document01', bytes]]));
  t.equal(statusOf((await repository(body, contentType)).body), 'Success');
  const unknown = newOid();
  const answer = await repository(retrieveRequest(REPOSITORY, [objects.documentEntries[0].uniqueId as string, unknown]), SOAP_CONTENT_TYPE(ACTIONS.iti43));
  t.equal(statusOf(answer.body), 'PartialSuccess');
  t.match(errorsOf(answer.body), [{ code: 'XDSDocumentUniqueIdError', location: unknown }]);
  const documents = retrievedDocuments(answer);
  t.equal(documents.length, 1);
  t.ok(documents[0].bytes?.equals(bytes), 'the known document comes whole');
});

void t.test('XDSRegistryError: a query value that is not in the stored-query syntax is refused', async (t) => {
  const answer = await registry(storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: ["'1^^^&1.2.3&ISO' OR 1=1"],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  }), '');
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSRegistryError'));
});

void t.test('XDSStoredQueryMissingParam: FindDocuments without a status is refused', async (t) => {
  const answer = await registry(storedQuery(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: [`'${await patient()}'`] }), '');
  t.equal(statusOf(answer.body), 'Failure');
  t.same(codes(answer), ['XDSStoredQueryMissingParam']);
});

void t.test('XDSStoredQueryParamNumber: a patient id given twice is refused', async (t) => {
  const cx = await patient();
  const answer = await registry(storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: [`('${cx}', '${cx}')`],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  }), '');
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSStoredQueryParamNumber'));
});

void t.test('XDSUnknownStoredQuery: a query id the registry does not know is refused', async (t) => {
  const answer = await registry(storedQuery(`urn:uuid:${randomUUID()}`, {}), '');
  t.equal(statusOf(answer.body), 'Failure');
  t.same(codes(answer), ['XDSUnknownStoredQuery']);
});

void t.test('XDSMetadataVersionError: an update naming an old PreviousVersion is refused', async (t) => {
  const cx = await patient();
  const bytes = pdf();
  const original = await registered(cx, bytes);
  const update = submission(cx, [{ bytes }]);
  Object.assign(update.documentEntries[0], { uniqueId: original.uniqueId, logicalId: original.uuid });
  update.associations = [hasMember('Association01', 'SubmissionSet01', 'Document01', 'Original', { previousVersion: '7' })];
  const answer = await registry(iti57(update), ACTIONS.iti57);
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(codes(answer).includes('XDSMetadataVersionError'));
});

void t.test('UnresolvedReferenceException: removing an object the registry does not have is refused', async (t) => {
  const answer = await registry(iti62([`urn:uuid:${randomUUID()}`]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Failure');
  t.same(codes(answer), ['UnresolvedReferenceException']);
});

void t.test('ReferencesExistException: removing a document its SubmissionSet still holds is refused and nothing changes', async (t) => {
  const { uuid } = await registered(await patient());
  const before = await counts();
  const answer = await registry(iti62([uuid]), ACTIONS.iti62);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'ReferencesExistException', location: uuid }]);
  t.same(await counts(), before);
});

void t.test('a submission with a document of 0 bytes and a correct hash is accepted', async (t) => {
  const bytes = Buffer.alloc(0);
  const objects = submission(await patient(), [{ bytes }]);
  objects.documentEntries[0] = documentEntry('Document01', objects.submissionSets[0].patientId as string, bytes);
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', bytes]]));
  t.equal(statusOf((await repository(body, contentType)).body), 'Success');
});
