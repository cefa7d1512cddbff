// Patient/{id}/$search-text: keywords across one dossier's documents (titles, descriptions,
// attachment titles, CDA narrative), only over what the actor may see. The text of PDFs is
// tested in pdf-text.test.ts; here the upload is a PDF without pages, found by its title only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createParams, out, PDF, secureApp, type SecureApp } from './support.ts';

let api: SecureApp;
let patientId: string;
const ids: Record<string, string> = {};

const CDA = readFileSync(join(import.meta.dirname, '../../conformance/ihe/documents/ldl-ses-carnet.xml'));
const coding = (system: string, code: string) => ({ coding: [{ system, code }] });

function document(options: { type?: string; description?: string; title?: string; url: string; contentType: string; masked?: boolean }): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: coding('http://loinc.org', options.type ?? '11490-0'),
    category: [coding('urn:oid:1.2.250.1.213.1.1.4.1', '10')],
    subject: { reference: `Patient/${patientId}` },
    date: '2024-01-15T10:00:00Z',
    ...(options.description ? { description: options.description } : {}),
    securityLabel: [coding('urn:oid:2.16.840.1.113883.5.25', 'N'), ...(options.masked ? [coding('urn:oid:1.2.250.1.213.1.1.4.13', 'MASQUE_PS')] : [])],
    content: [{ attachment: { contentType: options.contentType, url: options.url, ...(options.title ? { title: options.title } : {}) } }],
  };
}

t.before(async () => {
  api = await secureApp();
  const created = await api.open.call('POST', '/fhir/Patient/$create-dossier', createParams());
  patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
  const seed = async (path: string, body: unknown, headers?: Record<string, string>) => {
    const r = await api.open.call('POST', path, body, headers);
    if (r.status !== 201) throw new Error(`seed ${path}: ${r.status} ${r.raw}`);
    return r.body;
  };
  for (const rpps of ['99700000001', '99700000003']) await seed('/fhir/Consent', {
    resourceType: 'Consent',
    status: 'active',
    scope: coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
    category: [coding('urn:carnet:fhir:CodeSystem:dossier-control', 'authorise')],
    patient: { reference: `Patient/${patientId}` },
    policyRule: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'OPTIN'),
    provision: { type: 'permit', actor: [{ role: coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'PRCP'), reference: { identifier: { system: 'https://rpps.esante.gouv.fr', value: rpps } } }] },
  });
  const binary = await seed('/fhir/Binary', CDA, { 'content-type': 'text/xml' });
  ids.cda = (await seed('/fhir/DocumentReference', document({ url: `Binary/${binary.id}`, contentType: 'text/xml' }))).id;
  ids.echo = (await seed('/fhir/DocumentReference', document({ type: '18748-4', description: 'Échographie abdominale', url: 'Binary/none-1', contentType: 'application/pdf' }))).id;
  ids.masked = (await seed('/fhir/DocumentReference', document({ description: 'Échographie cardiaque', url: 'Binary/none-2', contentType: 'application/pdf', masked: true }))).id;
  ids.upload = (await seed(`/fhir/Patient/${patientId}/$upload?type=DOCPAT05&title=Bilan%20sanguin%20mars`, PDF, { 'content-type': 'application/pdf' })).id;
});
t.teardown(() => api.close());

const search = (q: string, options: Parameters<SecureApp['call']>[2] = {}) => api.call('GET', `/fhir/Patient/${patientId}/$search-text?q=${encodeURIComponent(q)}`, options);
const searchOpen = (q: string) => api.open.call('GET', `/fhir/Patient/${patientId}/$search-text?q=${encodeURIComponent(q)}`);
const found = (bundle: Record<string, any>): string[] => (bundle.entry ?? []).map((e: any) => e.resource.id).sort();

t.test('a word of a CDA narrative finds its document', async (t) => {
  const r = await searchOpen('coronarographie');
  t.equal(r.status, 200);
  t.same(found(r.body), [ids.cda]);
});

t.test('the title of a CDA document finds it', async (t) => {
  t.same(found((await searchOpen('lettre de liaison')).body), [ids.cda]);
});

t.test('descriptions are searched whatever the case and accents', async (t) => {
  t.same(found((await searchOpen('ECHOGRAPHIE abdominale')).body), [ids.echo]);
});

t.test('the start of a word finds it', async (t) => {
  t.same(found((await searchOpen('échog')).body), [ids.echo, ids.masked].sort());
});

t.test('every word must be found in one document', async (t) => {
  const r = await searchOpen('coronarographie échographie');
  t.same(found(r.body), []);
  t.equal(r.body.total, 0);
});

t.test("the attachment title of a patient's upload finds it", async (t) => {
  t.same(found((await searchOpen('bilan sanguin')).body), [ids.upload]);
});

t.test('a masked document is neither found nor counted for a professional', async (t) => {
  const r = await search('échographie', { cert: api.pki.professionals.generalPractitioner });
  t.equal(r.status, 200);
  t.same(found(r.body), [ids.echo]);
  t.equal(r.body.total, 1);
});

t.test("a document outside the professional's matrix row is not found", async (t) => {
  // A pharmacist reads reports (class 10) of types 11502-2 and 11490-0 only: not an imaging report.
  const pharmacist = api.pki.professionals.pharmacist;
  t.same(found((await search('coronarographie', { cert: pharmacist })).body), [ids.cda]);
  const r = await search('échographie', { cert: pharmacist });
  t.same(found(r.body), []);
  t.equal(r.body.total, 0);
});

t.test('a professional the patient has not authorised cannot search the dossier', async (t) => {
  t.equal((await search('coronarographie', { cert: api.pki.professionals.physiotherapist })).status, 404);
});

t.test('a search without words is refused', async (t) => {
  t.equal((await searchOpen(' -- ')).status, 400);
});
