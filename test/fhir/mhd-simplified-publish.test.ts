// IHE MHD ITI-105 Simplified Publish, as the Document Recipient: a DocumentReference POSTed with
// its document in attachment.data is stored as the Provide Document Bundle it stands for — a
// Binary, the DocumentReference pointing at it, and a SubmissionSet derived from it.
import t from 'tap';
import { createHash } from 'node:crypto';
import type { TestApp } from '../support/app.ts';
import { createPatient, newIns, openValidatingApp, SAMPLE_INS_A, sample, searchIds } from '../support/mhd.ts';

let api: TestApp;
t.before(async () => {
  api = await openValidatingApp();
});
t.teardown(() => api.close());

const DOCUMENT = Buffer.from('%PDF-1.4\nCompte rendu de consultation (exemple)\n%%EOF\n');

/** The PDSm sample's DocumentReference, for a new patient, carrying `bytes` inline. */
async function inlineDocument(bytes: Buffer = DOCUMENT, attachment: Record<string, unknown> = {}) {
  const ins = newIns();
  const patient = await createPatient(api, ins);
  const bundle = sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: ins });
  const doc = structuredClone(bundle.entry.find((e: any) => e.resource.resourceType === 'DocumentReference').resource);
  doc.identifier[0].value = `urn:uuid:${crypto.randomUUID()}`;
  doc.masterIdentifier.value = `urn:oid:1.2.250.1.999.1.${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const { url: _url, size: _size, hash: _hash, ...rest } = doc.content[0].attachment;
  doc.content[0].attachment = { ...rest, data: bytes.toString('base64'), ...attachment };
  return { ins, patient, doc };
}

t.test('ITI-105: a DocumentReference with inline data answers 201 with the DocumentReference as created, without the data', async (t) => {
  const { doc } = await inlineDocument();
  const r = await api.call('POST', '/fhir/DocumentReference', doc);
  t.equal(r.status, 201);
  t.equal(r.body.resourceType, 'DocumentReference');
  t.match(r.headers.location, /\/fhir\/DocumentReference\/[^/]+\/_history\/1$/);
  t.equal(r.body.content[0].attachment.data, undefined, 'the document is not kept inline');
  t.match(r.body.content[0].attachment.url, /^Binary\/[A-Za-z0-9\-.]+$/);
});

t.test('ITI-105: the document is a Binary whose bytes, size and hash are those sent', async (t) => {
  const { doc } = await inlineDocument();
  const created = (await api.call('POST', '/fhir/DocumentReference', doc)).body;
  const attachment = created.content[0].attachment;
  const raw = await api.app.inject({ method: 'GET', url: `/fhir/${attachment.url}`, headers: { accept: 'application/pdf' } });
  t.equal(raw.statusCode, 200);
  t.same(raw.rawPayload, DOCUMENT);
  t.equal(attachment.size, DOCUMENT.length);
  t.equal(attachment.hash, createHash('sha1').update(DOCUMENT).digest('base64'));
});

t.test('ITI-105: a SubmissionSet for the same patient lists the new DocumentReference', async (t) => {
  const { ins, patient, doc } = await inlineDocument();
  const created = (await api.call('POST', '/fhir/DocumentReference', doc)).body;
  t.equal(created.subject.reference, `Patient/${patient}`, 'the conditional patient reference is resolved');
  const lists = await searchIds(api, `/fhir/List?patient.identifier=urn:oid:1.2.250.1.213.1.4.8|${ins}&code=https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|submissionset`);
  t.equal(lists.length, 1);
  const list = (await api.call('GET', `/fhir/List/${lists[0]}`)).body;
  t.same(list.entry.map((e: any) => e.item.reference), [`DocumentReference/${created.id}`]);
  t.equal(list.status, 'current');
  t.match(list.identifier.find((i: any) => i.use === 'usual').value, /^urn:oid:2\.25\.\d+$/);
});

t.test('ITI-105: a hash that is not the SHA-1 of the data is refused (422) with XDSRepositoryMetadataError and stores nothing', async (t) => {
  const { ins, doc } = await inlineDocument(DOCUMENT, { hash: createHash('sha1').update('other').digest('base64') });
  const before = (await api.call('GET', '/fhir/Binary?_summary=count')).body.total;
  const r = await api.call('POST', '/fhir/DocumentReference', doc);
  t.equal(r.status, 422, 'unprocessable, as ITI-65 answers');
  t.equal(r.body.resourceType, 'OperationOutcome');
  const issue = r.body.issue.find((i: any) => i.details?.text === 'XDSRepositoryMetadataError');
  t.ok(issue, 'the XDS error code is named');
  t.match(issue.expression[0], /^DocumentReference\.content\[0\]\.attachment\.hash$/, 'the expression points at what was sent');
  t.equal((await api.call('GET', '/fhir/Binary?_summary=count')).body.total, before, 'no Binary stored');
  t.same(await searchIds(api, `/fhir/DocumentReference?patient.identifier=urn:oid:1.2.250.1.213.1.4.8|${ins}`), []);
});

t.test('ITI-105: a DocumentReference for an unknown patient is refused with XDSUnknownPatientId', async (t) => {
  const { doc } = await inlineDocument();
  doc.subject = { reference: 'Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|100000000000000' };
  const r = await api.call('POST', '/fhir/DocumentReference', doc);
  t.ok(r.status >= 400 && r.status < 500);
  t.ok(r.body.issue.some((i: any) => i.details?.text === 'XDSUnknownPatientId' || /patient/i.test(i.diagnostics ?? '')));
});

t.test('a DocumentReference without inline data is created as an ordinary resource, with no SubmissionSet', async (t) => {
  const { ins, doc } = await inlineDocument();
  const { data: _data, ...withoutData } = doc.content[0].attachment;
  doc.content[0].attachment = { ...withoutData, url: 'https://documents.example/cr.pdf' };
  const r = await api.call('POST', '/fhir/DocumentReference', doc);
  t.equal(r.status, 201);
  t.same(await searchIds(api, `/fhir/List?patient.identifier=urn:oid:1.2.250.1.213.1.4.8|${ins}`), []);
});

t.test('the CapabilityStatement declares the MHD Document Recipient with the Simplified Publish option', async (t) => {
  const r = await api.call('GET', '/fhir/metadata');
  t.ok(r.body.instantiates.includes('https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentRecipient.Simplified'));
});
