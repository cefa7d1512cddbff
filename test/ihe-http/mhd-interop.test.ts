// One data model, two protocols: a document provided over XDS (ITI-41) is found over FHIR
// (ITI-67, ITI-66, ITI-68) with the same metadata, and a document provided over FHIR (ITI-65) is
// found by ITI-18 and retrieved by ITI-43.
import { createHash } from 'node:crypto';
import t from 'tap';
import { documentReferenceToDocumentEntry } from '../../src/ihe/xds/index.ts';
import { matchIds, openTestApp, type TestApp } from '../support/app.ts';
import { providedDocument } from '../support/mhd.ts';
import { ACTIONS, cxOf, INS_TEST_AUTHORITY, iti41Mtom, newIns, pdf, REPOSITORY, submission } from './builders.ts';
import {
  answerOf, createPatient, errorsOf, extrinsicObjects, post, QUERY, retrievedDocuments, retrieveRequest, SOAP_CONTENT_TYPE, statusOf, storedQuery,
} from './support.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
});
t.teardown(() => api.close());

void t.test('a document provided by ITI-41 is found by ITI-67 with the same metadata', async (t) => {
  const ins = newIns();
  const patientId = await createPatient(api.app, INS_TEST_AUTHORITY, ins);
  const bytes = pdf();
  const objects = submission(cxOf(ins), [{ bytes, options: { eventCodes: [{ code: 'DEQP003', codingScheme: '1.2.250.1.213.2.5' }] } }]);
  const sent = structuredClone(objects.documentEntries[0]);
  const { body, contentType } = await iti41Mtom(objects, new Map([['Document01', bytes]]));
  const answer = await answerOf(await post(api.app, 'repository', body, contentType));
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));

  const search = await api.call('GET', `/fhir/DocumentReference?patient.identifier=urn:oid:${INS_TEST_AUTHORITY}|${ins}`);
  t.equal(search.status, 200);
  t.equal(matchIds(search.body).length, 1);
  const doc = search.body.entry[0].resource;
  t.equal(doc.status, 'current');
  t.equal(doc.subject.reference, `Patient/${patientId}`, 'the subject is the Patient the identity feed knows');
  t.same(doc.masterIdentifier, { use: 'usual', system: 'urn:ietf:rfc:3986', value: `urn:oid:${sent.uniqueId}` });
  t.equal(doc.content[0].attachment.hash, createHash('sha1').update(bytes).digest('base64'));
  t.equal(doc.content[0].attachment.size, bytes.length);

  const back = documentReferenceToDocumentEntry(doc).entry;
  for (const key of ['uniqueId', 'patientId', 'classCode', 'typeCode', 'formatCode', 'healthcareFacilityTypeCode', 'practiceSettingCode', 'confidentialityCodes', 'eventCodes', 'creationTime', 'serviceStartTime', 'serviceStopTime', 'languageCode', 'mimeType', 'hash', 'size', 'title', 'sourcePatientId', 'authors'] as const) {
    t.same(back[key], sent[key], `${key} is the same over FHIR`);
  }
  t.equal(back.repositoryUniqueId, REPOSITORY);

  const raw = await api.app.inject({ method: 'GET', url: `/fhir/${doc.content[0].attachment.url}` });
  t.equal(raw.statusCode, 200, 'ITI-68 retrieves the bytes');
  t.ok(raw.rawPayload.equals(bytes));

  const lists = await api.call('GET', `/fhir/List?patient.identifier=urn:oid:${INS_TEST_AUTHORITY}|${ins}&code=submissionset`);
  t.equal(matchIds(lists.body).length, 1, 'ITI-66 finds the SubmissionSet');
  t.same(lists.body.entry[0].resource.entry.map((e: { item: { reference: string } }) => e.item.reference), [`DocumentReference/${doc.id}`]);
});

void t.test('a document provided by ITI-65 is found by ITI-18 and retrieved by ITI-43', async (t) => {
  const provided = await providedDocument(api);
  const fhirDoc = (await api.call('GET', `/fhir/DocumentReference/${provided.doc}`)).body;
  const uniqueId = (fhirDoc.masterIdentifier.value as string).replace(/^urn:oid:/, '');
  const found = await answerOf(await post(api.app, 'registry', storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: [`'${provided.ins}^^^&1.2.250.1.213.1.4.8&ISO'`],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  }), SOAP_CONTENT_TYPE('urn:ihe:iti:2007:RegistryStoredQuery')));
  t.equal(statusOf(found.body), 'Success');
  const [entry] = extrinsicObjects(found);
  t.equal(entry?.uniqueId, uniqueId);
  t.same(entry?.slots.get('repositoryUniqueId'), [REPOSITORY], 'the registry says the document is in this repository');
  t.same(entry?.slots.get('size'), [String(fhirDoc.content[0].attachment.size)]);

  const retrieved = await answerOf(await post(api.app, 'repository', retrieveRequest(REPOSITORY, [uniqueId]), SOAP_CONTENT_TYPE(ACTIONS.iti43)));
  t.equal(statusOf(retrieved.body), 'Success', JSON.stringify(errorsOf(retrieved.body)));
  const binary = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${provided.binary}` });
  const [document] = retrievedDocuments(retrieved);
  t.equal(document.mimeType, 'application/pdf');
  t.ok(document.bytes?.equals(binary.rawPayload), 'ITI-43 gives the bytes ITI-68 gives');
});
