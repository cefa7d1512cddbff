// A CDA R2 document provided over ITI-41 is found by the words of its narrative through the dossier's keyword search (Patient/{id}/$search-text), like one written over FHIR:
// one store, one data model.
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openTestApp, type TestApp } from '../support/app.ts';
import { CDA_FIXTURE, frDmpSubmission, INS } from '../ihe/fixtures.ts';
import { INS_TEST_AUTHORITY, iti41Mtom, REPOSITORY } from './builders.ts';
import { answerOf, createPatient, errorsOf, extrinsicObjects, post, QUERY, SOAP_CONTENT_TYPE, statusOf, storedQuery } from './support.ts';

let api: TestApp;
let patientId: string;
let documentId: string;

t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
  patientId = await createPatient(api.app, INS_TEST_AUTHORITY, INS.split('^')[0]);
  const cda = readFileSync(CDA_FIXTURE);
  const objects = frDmpSubmission();
  Object.assign(objects.documentEntries[0], { hash: createHash('sha1').update(cda).digest('hex'), size: String(cda.length) });
  const provided = await iti41Mtom(objects, new Map([['Document01', cda]]), 'text/xml');
  const answer = await answerOf(await post(api.app, 'repository', provided.body, provided.contentType));
  if (statusOf(answer.body) !== 'Success') throw new Error(`provide: ${JSON.stringify(errorsOf(answer.body))}`);
  const found = await answerOf(await post(api.app, 'registry', storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${objects.documentEntries[0].uniqueId as string}')`] }), SOAP_CONTENT_TYPE('')));
  documentId = extrinsicObjects(found)[0].id.slice('urn:uuid:'.length);
});
t.teardown(() => api.close());

const search = async (q: string) => {
  const r = await api.call('GET', `/fhir/Patient/${patientId}/$search-text?q=${encodeURIComponent(q)}`);
  if (r.status !== 200) throw new Error(`$search-text: ${r.status} ${JSON.stringify(r.body)}`);
  return ((r.body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id);
};

void t.test('a word of the narrative of a CDA provided over ITI-41 finds its DocumentReference', async (t) => {
  t.same(await search('coronarographie'), [documentId]);
});

void t.test('words of different sections, nested ones included, find it together whatever their case', async (t) => {
  t.same(await search('DOULEUR aspirine'), [documentId]);
});

void t.test('a word the document does not hold finds nothing', async (t) => {
  t.same(await search('échographie'), []);
});
