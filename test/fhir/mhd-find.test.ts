// IHE MHD as the Document Responder, each transaction played as the profile describes it on
// documents provided with ITI-65: ITI-66 Find Document Lists, ITI-67 Find Document References
// (with the PDSm parameters), ITI-68 Retrieve Document.
import t from 'tap';
import { createHash } from 'node:crypto';
import { matchIds, type TestApp } from '../support/app.ts';
import { createPatient, idOf, INS_SYSTEM, LIST_TYPES, newIns, openValidatingApp, PDSM, providedDocument, sample, SAMPLE_INS_A, searchIds } from '../support/mhd.ts';

let api: TestApp;
t.before(async () => {
  api = await openValidatingApp();
});
t.teardown(() => api.close());

const provide = (bundle: unknown) => api.call('POST', '/fhir', bundle);

// ---- ITI-66 Find Document Lists ------------------------------------------------------------------

t.test('ITI-66: the SubmissionSet is found by patient.identifier and code submissionset', async (t) => {
  const { ins, list } = await providedDocument(api);
  t.same(await searchIds(api, `/fhir/List?patient.identifier=${INS_SYSTEM}|${ins}&code=${LIST_TYPES}|submissionset`), [list]);
  t.same(await searchIds(api, `/fhir/List?patient.identifier=${INS_SYSTEM}|${ins}&code=${LIST_TYPES}|folder`), []);
});

t.test('ITI-66: a Folder is found by patient, code folder and status', async (t) => {
  const ins = newIns();
  const patient = await createPatient(api, ins);
  const r = await provide(sample('iti65-minimal-two-documents-folder', { [SAMPLE_INS_A]: ins }));
  const folder = idOf(r.body.entry[4].response.location);
  t.same(await searchIds(api, `/fhir/List?patient=Patient/${patient}&code=${LIST_TYPES}|folder&status=current`), [folder]);
  t.same(await searchIds(api, `/fhir/List?patient=${patient}&code=folder&status=retired`), []);
});

t.test('ITI-66: designationType, sourceId, date and identifier narrow the search', async (t) => {
  const { ins, list } = await providedDocument(api);
  const base = `/fhir/List?patient.identifier=${INS_SYSTEM}|${ins}`;
  t.same(await searchIds(api, `${base}&designationType=http://snomed.info/sct|71388002`), [list]);
  t.same(await searchIds(api, `${base}&sourceId=urn:oid:1.2.250.1.999.2`), [list]);
  t.same(await searchIds(api, `${base}&date=ge2024-03-12&date=lt2024-03-13`), [list]);
  t.same(await searchIds(api, `${base}&identifier=urn:ietf:rfc:3986|urn:oid:1.2.250.1.999.3.0001`), [list]);
  t.same(await searchIds(api, `${base}&sourceId=urn:oid:1.2.250.1.999.9`), []);
});

// ---- ITI-67 Find Document References -------------------------------------------------------------

t.test('ITI-67: documents are found by patient.identifier (the INS) and status', async (t) => {
  const { ins, doc } = await providedDocument(api);
  t.same(await searchIds(api, `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=current`), [doc]);
  t.same(await searchIds(api, `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=superseded`), []);
});

t.test('ITI-67: documents are found by patient reference', async (t) => {
  const { patient, doc } = await providedDocument(api);
  t.same(await searchIds(api, `/fhir/DocumentReference?patient=Patient/${patient}&status=current`), [doc]);
  t.same(await searchIds(api, `/fhir/DocumentReference?patient=${patient}&status=current`), [doc]);
});

t.test('ITI-67: category, type, setting, facility, format, security-label and event select by code', async (t) => {
  const { ins, doc } = await providedDocument(api);
  const base = `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=current`;
  // French codes match under their urn:oid: and NOS URL systems alike.
  t.same(await searchIds(api, `${base}&category=urn:oid:1.2.250.1.213.1.1.4.1|10`), [doc]);
  t.same(await searchIds(api, `${base}&type=http://loinc.org|11488-4`), [doc]);
  t.same(await searchIds(api, `${base}&setting=urn:oid:1.2.250.1.213.1.1.4.9|AMBULATOIRE`), [doc]);
  t.same(await searchIds(api, `${base}&facility=urn:oid:1.2.250.1.71.4.2.4|SA07`), [doc]);
  t.same(await searchIds(api, `${base}&format=urn:oid:1.3.6.1.4.1.19376.1.2.3|urn:ihe:iti:xds-sd:pdf:2008`), [doc]);
  t.same(await searchIds(api, `${base}&security-label=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|N`), [doc]);
  t.same(await searchIds(api, `${base}&event=urn:oid:1.2.250.1.213.2.5|DEQP003`), [doc]);
  t.same(await searchIds(api, `${base}&type=http://loinc.org|11490-0`), [], 'another type finds nothing');
});

t.test('ITI-67: date, creation and period (time of service) compare dates', async (t) => {
  const { ins, doc } = await providedDocument(api);
  const base = `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=current`;
  t.same(await searchIds(api, `${base}&date=ge2024-03-12`), [doc]);
  t.same(await searchIds(api, `${base}&creation=ge2024-03-12T00:00:00Z&creation=lt2024-03-13`), [doc]);
  t.same(await searchIds(api, `${base}&period=ge2024-03-12T08:00:00Z&period=lt2024-03-13`), [doc], 'the time of service overlaps the interval');
  t.same(await searchIds(api, `${base}&period-start=ge2024-03-12T09:00:00%2B01:00`), [doc]);
  t.same(await searchIds(api, `${base}&period-end=lt2024-03-12T08:00:00Z`), []);
  t.same(await searchIds(api, `${base}&creation=lt2024-01-01`), []);
});

t.test('ITI-67: related finds documents by their reference id (referenceIdList)', async (t) => {
  const { ins, doc } = await providedDocument(api);
  const base = `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=current`;
  t.same(await searchIds(api, `${base}&related:identifier=urn:oid:1.2.250.1.999.4|CMD-2024-0042`), [doc]);
  t.same(await searchIds(api, `${base}&identifier=urn:ietf:rfc:3986|urn:oid:1.2.250.1.999.1.0002`), [doc], 'identifier matches the masterIdentifier');
});

t.test('ITI-67: isArchived (PDSm) tells archived documents from active ones', async (t) => {
  const { ins, doc } = await providedDocument(api);
  const base = `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}`;
  t.same(await searchIds(api, `${base}&isArchived=false`), [doc]);
  const current = (await api.call('GET', `/fhir/DocumentReference/${doc}`)).body;
  const archived = { ...current, extension: [{ url: `${PDSM}/pdsm-ext-is-archived`, valueBoolean: true }] };
  t.equal((await api.call('PUT', `/fhir/DocumentReference/${doc}`, archived, { 'if-match': 'W/"1"' })).status, 200);
  t.same(await searchIds(api, `${base}&isArchived=true`), [doc]);
  t.same(await searchIds(api, `${base}&isArchived=false`), []);
});

t.test('ITI-67: a replaced document is found as superseded, its replacement as current', async (t) => {
  const { ins, doc: old } = await providedDocument(api);
  const r = await provide(sample('iti65-pdsm-replace', { [SAMPLE_INS_A]: ins, 'REPLACED-ID': old }));
  const replacement = idOf(r.body.entry[1].response.location);
  const base = `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}`;
  t.same(await searchIds(api, `${base}&status=current`), [replacement]);
  t.same(await searchIds(api, `${base}&status=superseded`), [old]);
  t.same(await searchIds(api, `${base}&relatesto=DocumentReference/${old}&relation=replaces`), [replacement]);
});

t.test('ITI-67: the search also runs as POST _search with a form body', async (t) => {
  const { ins, doc } = await providedDocument(api);
  const r = await api.app.inject({
    method: 'POST',
    url: '/fhir/DocumentReference/_search',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/fhir+json' },
    payload: new URLSearchParams({ 'patient.identifier': `${INS_SYSTEM}|${ins}`, status: 'current', type: 'http://loinc.org|11488-4' }).toString(),
  });
  t.equal(r.statusCode, 200);
  t.same(matchIds(JSON.parse(r.body)), [doc]);
});

t.test('ITI-67: the searchset can include the SubmissionSet that lists each document', async (t) => {
  const { ins, doc, list } = await providedDocument(api);
  const r = await api.call('GET', `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=current&_revinclude=List:item`);
  t.same(r.body.entry.map((e: any) => [e.search.mode, `${e.resource.resourceType}/${e.resource.id}`]), [['match', `DocumentReference/${doc}`], ['include', `List/${list}`]]);
});

// ---- ITI-68 Retrieve Document --------------------------------------------------------------------

t.test('ITI-68: the document is retrieved from attachment.url with its bytes and content type', async (t) => {
  const { ins } = await providedDocument(api);
  const found = await api.call('GET', `/fhir/DocumentReference?patient.identifier=${INS_SYSTEM}|${ins}&status=current`);
  const attachment = found.body.entry[0].resource.content[0].attachment;
  const r = await api.app.inject({ method: 'GET', url: `/fhir/${attachment.url}`, headers: { accept: attachment.contentType } });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], 'application/pdf');
  const sent = Buffer.from(sample('iti65-pdsm-one-document', {}).entry[2].resource.data, 'base64');
  t.ok(r.rawPayload.equals(sent), 'the bytes are those provided');
  t.equal(createHash('sha1').update(r.rawPayload).digest('base64'), attachment.hash);
});

t.test('ITI-68: a byte range of the document answers 206', async (t) => {
  const { doc } = await providedDocument(api);
  const attachment = (await api.call('GET', `/fhir/DocumentReference/${doc}`)).body.content[0].attachment;
  const r = await api.app.inject({ method: 'GET', url: `/fhir/${attachment.url}`, headers: { range: 'bytes=0-7' } });
  t.equal(r.statusCode, 206);
  t.equal(r.headers['content-range'], `bytes 0-7/${attachment.size}`);
  t.equal(r.rawPayload.toString('latin1'), '%PDF-1.4');
});
