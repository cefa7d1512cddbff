// A real FHIR client from npm (fhir-kit-client) against the server listening on a loopback
// port, over HTTP: create a patient, provide a document (ITI-65), find it (ITI-67), retrieve
// its bytes (ITI-68, with fetch: the client has no raw download), update with If-Match, page
// through a search, read history. The steps run in order and build on each other.
import t from 'tap';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, type FhirResource } from 'fhir-kit-client';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { INS_SYSTEM, newIns, sample, SAMPLE_INS_A } from '../support/mhd.ts';
import { openTestStore } from '../support/store.ts';

let baseUrl: string;
let client: Client;
let stop: () => Promise<void>;

t.before(async () => {
  const { store, settings, cleanup } = await openTestStore();
  const app = buildApp({ config: loadConfig({ DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' }), store });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/fhir`;
  client = new Client({ baseUrl });
  stop = async () => {
    await app.close();
    await cleanup();
  };
});
t.teardown(() => stop());

type Any = Record<string, any>;
const ins = newIns();
let patientId: string;
let documentId: string;
let attachment: Any;

t.test('the client creates the patient', async (t) => {
  const patient = (await client.create({
    resourceType: 'Patient',
    body: { resourceType: 'Patient', identifier: [{ system: INS_SYSTEM, value: ins }], name: [{ family: 'MOREAU', given: ['Lucie'] }], gender: 'female', birthDate: '1985-06-21' },
  })) as Any;
  t.equal(patient.resourceType, 'Patient');
  t.equal(patient.meta.versionId, '1');
  patientId = patient.id;
});

t.test('the client provides a document with ITI-65, a PDSm transaction Bundle', async (t) => {
  const response = (await client.transaction({ body: sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: ins }) as FhirResource })) as Any;
  t.equal(response.type, 'transaction-response');
  t.same(response.entry.map((e: Any) => e.response.status), ['201', '201', '201']);
  documentId = response.entry[1].response.location.split('/')[1];
});

t.test('the client finds the document with ITI-67, by the patient INS and status', async (t) => {
  const bundle = (await client.search({ resourceType: 'DocumentReference', searchParams: { 'patient.identifier': `${INS_SYSTEM}|${ins}`, status: 'current' } })) as Any;
  t.same(bundle.entry.map((e: Any) => e.resource.id), [documentId]);
  const document = bundle.entry[0].resource;
  t.equal(document.subject.reference, `Patient/${patientId}`);
  attachment = document.content[0].attachment;
});

t.test('the client retrieves the document bytes with ITI-68 from attachment.url', async (t) => {
  const response = await fetch(new URL(attachment.url, `${baseUrl}/`), { headers: { accept: attachment.contentType } });
  t.equal(response.status, 200);
  t.equal(response.headers.get('content-type'), 'application/pdf');
  const bytes = Buffer.from(await response.arrayBuffer());
  t.equal(bytes.length, attachment.size);
  t.equal(createHash('sha1').update(bytes).digest('base64'), attachment.hash);
});

t.test('the client updates the document with If-Match, and a stale If-Match is refused with 412', async (t) => {
  const current = await client.read({ resourceType: 'DocumentReference', id: documentId });
  const body: FhirResource = { ...current, description: 'Relu et complété' };
  const updated = (await client.update({ resourceType: 'DocumentReference', id: documentId, body, options: { headers: { 'If-Match': 'W/"1"' } } })) as Any;
  t.equal(updated.meta.versionId, '2');
  t.equal(updated.description, 'Relu et complété');
  const stale = await client.update({ resourceType: 'DocumentReference', id: documentId, body, options: { headers: { 'If-Match': 'W/"1"' } } }).then(
    () => undefined,
    (e: { response?: { status: number } }) => e.response?.status,
  );
  t.equal(stale, 412);
});

t.test('the client pages through a search with nextPage, seeing every match once', async (t) => {
  const created: string[] = [];
  for (let i = 0; i < 7; i++) {
    const obs = (await client.create({
      resourceType: 'Observation',
      body: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Poids' }] }, subject: { reference: `Patient/${patientId}` }, valueQuantity: { value: 60 + i, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } },
    })) as Any;
    created.push(obs.id);
  }
  const seen: string[] = [];
  let pages = 0;
  let page: Any | undefined = await client.search({ resourceType: 'Observation', searchParams: { patient: `Patient/${patientId}`, _count: 3 } });
  while (page) {
    pages++;
    seen.push(...(page.entry ?? []).map((e: Any) => e.resource.id));
    page = await client.nextPage({ bundle: page as Parameters<Client['nextPage']>[0]['bundle'] });
  }
  t.equal(pages, 3);
  t.same([...seen].sort(), [...created].sort());
});

t.test('the client reads the document history, newest version first', async (t) => {
  const history = (await client.history({ resourceType: 'DocumentReference', id: documentId })) as Any;
  t.equal(history.type, 'history');
  t.same(history.entry.map((e: Any) => e.resource.meta.versionId), ['2', '1']);
});
