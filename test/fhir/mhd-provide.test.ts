// IHE MHD ITI-65 Provide Document Bundle, as the Document Recipient, with the sample messages
// of conformance/mhd/: accepted bundles (PDSm comprehensive, MHD minimal with a Folder,
// replacement) and refused ones (each answering the OperationOutcome its sample expects and
// storing nothing). Writes are validated as in production.
import t from 'tap';
import { createHash } from 'node:crypto';
import { toFhirXml } from '../../src/fhir/xml/index.ts';
import type { TestApp } from '../support/app.ts';
import { createPatient, expected, idOf, INS_SYSTEM, newIns, openValidatingApp, providedDocument, sample, SAMPLE_INS_A, SAMPLE_INS_B, searchIds } from '../support/mhd.ts';

let api: TestApp;
t.before(async () => {
  api = await openValidatingApp();
});
t.teardown(() => api.close());

const provide = (bundle: unknown) => api.call('POST', '/fhir', bundle);

// ---- ITI-65 Provide Document Bundle --------------------------------------------------------------

t.test('ITI-65: a PDSm Provide Document Bundle is committed and answered as the sample expects', async (t) => {
  const ins = newIns();
  await createPatient(api, ins);
  const r = await provide(sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: ins }));
  const want = expected('iti65-pdsm-one-document');
  t.equal(r.status, want.status);
  t.match(r.body, want.body);
  t.equal(r.body.entry.length, 3, 'one response entry per request entry');
});

t.test('ITI-65: the stored DocumentReference points at its Binary and at the patient', async (t) => {
  const { patient, list, doc, binary } = await providedDocument(api);
  const stored = (await api.call('GET', `/fhir/DocumentReference/${doc}`)).body;
  t.equal(stored.content[0].attachment.url, `Binary/${binary}`);
  t.equal(stored.subject.reference, `Patient/${patient}`);
  const ss = (await api.call('GET', `/fhir/List/${list}`)).body;
  t.same(ss.entry.map((e: any) => e.item.reference), [`DocumentReference/${doc}`]);
});

t.test('ITI-65: size and hash are filled in when the Document Source leaves them out', async (t) => {
  const ins = newIns();
  await createPatient(api, ins);
  const r = await provide(sample('iti65-minimal-two-documents-folder', { [SAMPLE_INS_A]: ins }));
  t.equal(r.status, 200);
  const docId = idOf(r.body.entry[1].response.location);
  const attachment = (await api.call('GET', `/fhir/DocumentReference/${docId}`)).body.content[0].attachment;
  const bytes = (await api.app.inject({ method: 'GET', url: `/fhir/${attachment.url}` })).rawPayload;
  t.equal(attachment.size, bytes.length);
  t.equal(attachment.hash, createHash('sha1').update(bytes).digest('base64'));
});

t.test('ITI-65: a patient given by identifier only is resolved to the patient with that INS', async (t) => {
  const ins = newIns();
  const patient = await createPatient(api, ins);
  const r = await provide(sample('iti65-minimal-two-documents-folder', { [SAMPLE_INS_A]: ins }));
  t.match(r.body, expected('iti65-minimal-two-documents-folder').body);
  const docId = idOf(r.body.entry[1].response.location);
  const stored = (await api.call('GET', `/fhir/DocumentReference/${docId}`)).body;
  t.same(stored.subject, { reference: `Patient/${patient}`, identifier: { system: INS_SYSTEM, value: ins } });
});

t.test('ITI-65: replacing a document sets the replaced one to superseded in the same commit', async (t) => {
  const { ins, doc: old } = await providedDocument(api);
  const r = await provide(sample('iti65-pdsm-replace', { [SAMPLE_INS_A]: ins, 'REPLACED-ID': old }));
  t.equal(r.status, 200);
  t.match(r.body, expected('iti65-pdsm-replace').body);
  t.equal(r.body.entry.length, 3, 'the update Carnet added is not answered');
  const replaced = (await api.call('GET', `/fhir/DocumentReference/${old}`)).body;
  t.equal(replaced.status, 'superseded');
  t.equal(replaced.meta.versionId, '2');
});

t.test('ITI-65: a Document Source may include the superseded update itself (UpdateDocumentRefs)', async (t) => {
  const { ins, doc: old } = await providedDocument(api);
  const current = (await api.call('GET', `/fhir/DocumentReference/${old}`)).body;
  const bundle = sample('iti65-pdsm-replace', { [SAMPLE_INS_A]: ins, 'REPLACED-ID': old });
  bundle.entry.push({ resource: { ...current, status: 'superseded' }, request: { method: 'PUT', url: `DocumentReference/${old}`, ifMatch: 'W/"1"' } });
  const r = await provide(bundle);
  t.equal(r.status, 200);
  t.same(r.body.entry.map((e: any) => e.response.status), ['201', '201', '201', '200']);
  t.equal((await api.call('GET', `/fhir/DocumentReference/${old}`)).body.status, 'superseded');
});

t.test('ITI-65: a superseded document cannot be replaced again', async (t) => {
  const { ins, doc: old } = await providedDocument(api);
  t.equal((await provide(sample('iti65-pdsm-replace', { [SAMPLE_INS_A]: ins, 'REPLACED-ID': old }))).status, 200);
  const again = await provide(sample('iti65-pdsm-replace', { [SAMPLE_INS_A]: ins, 'REPLACED-ID': old }));
  t.equal(again.status, 422);
  t.equal(again.body.issue[0].details.text, 'XDSRegistryDeprecatedDocumentError');
});

const REFUSED = [
  ['iti65-error-patient-mismatch', 'a DocumentReference about another patient than the SubmissionSet'],
  ['iti65-error-hash-size-mismatch', 'a size and hash that are not those of the Binary'],
  ['iti65-error-no-submissionset', 'a bundle without SubmissionSet'],
  ['iti65-error-missing-binary', 'an attachment.url that points at no Binary'],
  ['iti65-error-document-not-listed', 'a DocumentReference the SubmissionSet does not list'],
] as const;

for (const [name, what] of REFUSED) {
  t.test(`ITI-65: ${what} is refused as the sample expects, and nothing is stored`, async (t) => {
    const [insA, insB] = [newIns(), newIns()];
    await createPatient(api, insA);
    await createPatient(api, insB);
    const r = await provide(sample(name, { [SAMPLE_INS_A]: insA, [SAMPLE_INS_B]: insB }));
    const want = expected(name);
    t.equal(r.status, want.status);
    t.match(r.body, want.body);
    for (const ins of [insA, insB]) {
      t.same(await searchIds(api, `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}`), []);
      t.same(await searchIds(api, `/fhir/List?patient.identifier=${INS_SYSTEM}|${ins}`), []);
    }
  });
}

t.test('ITI-65: a patient unknown here is refused with XDSUnknownPatientId', async (t) => {
  const r = await provide(sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: newIns() }));
  t.equal(r.status, 422);
  t.ok(r.body.issue.every((i: any) => i.details.text === 'XDSUnknownPatientId'));
  t.same(r.body.issue.map((i: any) => i.expression[0]), ['Bundle.entry[0].resource.subject', 'Bundle.entry[1].resource.subject']);
});

t.test('ITI-65: a Provide Document Bundle must be a transaction', async (t) => {
  const ins = newIns();
  await createPatient(api, ins);
  const r = await provide({ ...sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: ins }), type: 'batch' });
  t.equal(r.status, 400);
  t.equal(r.body.issue[0].details.text, 'XDSRegistryMetadataError');
});

t.test('ITI-65: a Provide Document Bundle in FHIR XML is accepted', async (t) => {
  const ins = newIns();
  await createPatient(api, ins);
  const xml = toFhirXml(sample('iti65-pdsm-one-document', { [SAMPLE_INS_A]: ins }) as never);
  const r = await api.call('POST', '/fhir', xml, { 'content-type': 'application/fhir+xml', accept: 'application/fhir+json' });
  t.equal(r.status, 200);
  t.match(r.body, expected('iti65-pdsm-one-document').body);
});

t.test('ITI-65: a bundle without an MHD profile is an ordinary transaction', async (t) => {
  const ins = newIns();
  await createPatient(api, ins);
  const { meta: _meta, ...plain } = sample('iti65-error-no-submissionset', { [SAMPLE_INS_A]: ins });
  const r = await provide(plain);
  t.equal(r.status, 200, 'no MHD rule applies');
});
