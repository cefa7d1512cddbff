// MHD publications over mutual TLS with access control on: an ITI-105 Simplified Publish and an
// ITI-65 Provide Document Bundle by a professional are accepted (the Binary takes its
// DocumentReference's rules), audited as their IHE transaction (DICOM Import), and read back by ITI-68.
import t from 'tap';
import { authorisation, secureApp, type SecureApp } from '../dossier/support.ts';

let api: SecureApp;
t.setTimeout(600_000);
t.before(async () => {
  api = await secureApp();
});
t.teardown(() => api.close());

const IHE_TRANSACTIONS = 'urn:ihe:event-type-code';
const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
let seeded = 0;

async function seedPatient(): Promise<string> {
  const patientId = `p-mhd-audit-${process.pid}-${++seeded}`;
  const put = await api.open.call('PUT', `/fhir/Patient/${patientId}`, { resourceType: 'Patient', id: patientId, name: [{ family: 'PUBLIE', given: ['Jo'] }], birthDate: '1975-05-05' });
  if (put.status >= 300) throw new Error(`patient: ${put.status} ${put.raw}`);
  const consent = await api.open.call('POST', '/fhir/Consent', authorisation(patientId, '99700000001'));
  if (consent.status !== 201) throw new Error(`consent: ${consent.status} ${consent.raw}`);
  return patientId;
}

function documentReference(patientId: string, attachment: Record<string, unknown>) {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
    subject: { reference: `Patient/${patientId}` },
    date: '2026-11-25T10:00:00Z',
    content: [{ attachment: { contentType: 'text/plain', ...attachment } }],
  };
}

/** The AuditEvents recording creations of `type/id`. */
async function auditsOf(reference: string): Promise<any[]> {
  const r = await api.open.call('GET', `/fhir/AuditEvent?entity=${encodeURIComponent(reference)}&_count=50`);
  return (r.body.entry ?? []).map((e: any) => e.resource);
}

const codes = (event: any) => (event.subtype ?? []).filter((c: any) => c.system === IHE_TRANSACTIONS).map((c: any) => c.code);

t.test('an ITI-105 Simplified Publish is audited as ITI-105, a DICOM Import', async (t) => {
  const patientId = await seedPatient();
  const doc = documentReference(patientId, { data: Buffer.from('compte rendu').toString('base64') });
  const r = await api.call('POST', '/fhir/DocumentReference', { cert: api.pki.professionals.generalPractitioner, body: doc });
  t.equal(r.status, 201, r.raw);
  const events = await auditsOf(`DocumentReference/${r.body.id}`);
  const publish = events.find((e) => codes(e).includes('ITI-105'));
  t.ok(publish, 'an AuditEvent names ITI-105');
  t.same(publish?.type, { system: DICOM, code: '110107', display: 'Import' });
});

t.test('an ITI-65 Provide Document Bundle is audited as ITI-65', async (t) => {
  const patientId = await seedPatient();
  const bytes = Buffer.from('lettre de sortie');
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    meta: { profile: ['https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Minimal.ProvideBundle'] },
    entry: [
      {
        fullUrl: 'urn:uuid:1b7f2d3c-0000-4000-8000-000000000001',
        resource: { resourceType: 'List', status: 'current', mode: 'working', code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] }, subject: { reference: `Patient/${patientId}` }, entry: [{ item: { reference: 'urn:uuid:1b7f2d3c-0000-4000-8000-000000000002' } }] },
        request: { method: 'POST', url: 'List' },
      },
      { fullUrl: 'urn:uuid:1b7f2d3c-0000-4000-8000-000000000002', resource: documentReference(patientId, { url: 'urn:uuid:1b7f2d3c-0000-4000-8000-000000000003' }), request: { method: 'POST', url: 'DocumentReference' } },
      { fullUrl: 'urn:uuid:1b7f2d3c-0000-4000-8000-000000000003', resource: { resourceType: 'Binary', contentType: 'text/plain', data: bytes.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
    ],
  };
  const r = await api.call('POST', '/fhir', { cert: api.pki.professionals.generalPractitioner, body: bundle });
  t.equal(r.status, 200, r.raw);
  const docId = String(r.body.entry[1].response.location).split('/')[1];
  const events = await auditsOf(`DocumentReference/${docId}`);
  t.ok(events.some((e) => codes(e).includes('ITI-65')), 'an AuditEvent names ITI-65');
});

t.test('a document a professional publishes over MHD is read back through ITI-68 under its DocumentReference rules', async (t) => {
  const patientId = await seedPatient();
  const doc = documentReference(patientId, { data: Buffer.from('ordonnance').toString('base64') });
  const gp = api.pki.professionals.generalPractitioner;
  const created = await api.call('POST', '/fhir/DocumentReference', { cert: gp, body: doc });
  t.equal(created.status, 201, created.raw);
  const url = created.body.content[0].attachment.url;
  const mine = await api.call('GET', `/fhir/${url}`, { cert: gp, headers: { accept: 'text/plain' } });
  t.equal(mine.status, 200);
  t.equal(mine.raw, 'ordonnance');
  const stranger = await api.call('GET', `/fhir/${url}`, { cert: api.pki.professionals.cardiologist, headers: { accept: 'text/plain' } });
  t.equal(stranger.status, 404, 'a professional the patient did not authorise does not see it');
});
