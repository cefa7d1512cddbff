// What the patient adds, over HTTP with access control off: uploads checked by their bytes and
// size, advance directives, self-declared data shown as such, vaccinations with their next
// dose, and connected devices posting Observations with a token the patient revokes.
import t from 'tap';
import { createParams, JPEG, out, openApp, PDF, PNG, type OpenApp } from './support.ts';

let api: OpenApp;
let patientId: string;

t.before(async () => {
  api = await openApp({ dossier: { uploadLimitBytes: 4096 } });
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', createParams());
  patientId = String(out(r.body, 'patient').reference).replace('Patient/', '');
});
t.teardown(() => api.close());

const upload = (bytes: Buffer, contentType: string, query = '') => api.call('POST', `/fhir/Patient/${patientId}/$upload${query}`, bytes, { 'content-type': contentType });

t.test('a PDF upload becomes a class 90 DocumentReference authored by the patient, with its bytes as a Binary', async (t) => {
  const r = await upload(PDF, 'application/pdf', '?type=DOCPAT03&title=Compte%20rendu%20de%20kin%C3%A9');
  t.equal(r.status, 201);
  const doc = r.body;
  t.equal(doc.category[0].coding[0].code, '90');
  t.equal(doc.type.coding[0].code, 'DOCPAT03');
  t.same(doc.author, [{ reference: `Patient/${patientId}` }]);
  t.equal(doc.content[0].attachment.size, PDF.length);
  t.equal(doc.content[0].attachment.title, 'Compte rendu de kiné');
  t.ok(doc.meta.security.some((s: any) => s.code === 'PATAST'), 'shown as declared by the patient');
  const bytes = await api.app.inject({ method: 'GET', url: `/fhir/${doc.content[0].attachment.url}`, headers: { accept: 'application/pdf' } });
  t.equal(bytes.statusCode, 200);
  t.same(bytes.rawPayload, PDF);
});

t.test('JPEG and PNG uploads are accepted', async (t) => {
  t.equal((await upload(JPEG, 'image/jpeg')).status, 201);
  t.equal((await upload(PNG, 'image/png')).status, 201);
});

t.test('an upload whose bytes are not of its declared type is refused', async (t) => {
  const r = await upload(PNG, 'application/pdf');
  t.equal(r.status, 415);
  t.match(r.body.issue[0].diagnostics, /image\/png/);
  const text = await upload(Buffer.from('just some text, not a PDF at all'), 'application/pdf');
  t.equal(text.status, 415);
});

t.test('an upload of another type than PDF, JPEG or PNG is refused', async (t) => {
  t.equal((await upload(Buffer.from('<html></html>'), 'text/html')).status, 415);
});

t.test('an upload above the size limit is refused and stores nothing', async (t) => {
  const before = (await api.call('GET', `/fhir/DocumentReference?patient=${patientId}&_summary=count`)).body.total;
  const r = await upload(Buffer.concat([PDF, Buffer.alloc(5000, 0x20)]), 'application/pdf');
  t.equal(r.status, 413);
  t.equal((await api.call('GET', `/fhir/DocumentReference?patient=${patientId}&_summary=count`)).body.total, before);
});

t.test('an unknown patient document type is refused', async (t) => {
  t.equal((await upload(PDF, 'application/pdf', '?type=11490-0')).status, 422);
});

t.test('advance directives are uploaded as their own document type', async (t) => {
  const r = await upload(PDF, 'application/pdf', '?type=EXPPAT_3&title=Mes%20directives');
  t.equal(r.status, 201);
  const found = await api.call('GET', `/fhir/DocumentReference?patient=${patientId}&type=EXPPAT_3`);
  t.same(found.body.entry.map((e: any) => e.resource.id), [r.body.id]);
});

t.test('a self-declared allergy is recorded and asserted by the patient', async (t) => {
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, {
    resourceType: 'AllergyIntolerance',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    code: { text: 'Pénicilline' },
  });
  t.equal(r.status, 201);
  t.same(r.body.patient, { reference: `Patient/${patientId}` });
  t.same(r.body.recorder, { reference: `Patient/${patientId}` });
  t.ok(r.body.meta.security.some((s: any) => s.system === 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue' && s.code === 'PATAST'));
});

t.test('a self-declared blood group, past condition and treatment are recorded', async (t) => {
  const blood = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '882-1', display: 'ABO and Rh group' }] },
    valueCodeableConcept: { text: 'A+' },
  });
  t.equal(blood.status, 201);
  t.same(blood.body.performer, [{ reference: `Patient/${patientId}` }]);
  const past = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, {
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: { resourceType: 'Condition', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }] }, code: { text: 'Appendicite' } } }],
  });
  t.equal(past.status, 201);
  const treatment = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, { resourceType: 'MedicationStatement', status: 'active', medicationCodeableConcept: { text: 'Lévothyrox 50' } });
  t.equal(treatment.status, 201);
  t.same(treatment.body.informationSource, { reference: `Patient/${patientId}` });
});

t.test("a declaration about another patient's dossier is refused", async (t) => {
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, { resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/someone-else' }, code: { text: 'x' } });
  t.equal(r.status, 422);
});

t.test('only allergies, conditions, treatments, observations and vaccinations are declared', async (t) => {
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' } });
  t.equal(r.status, 422);
});

t.test('a vaccination is recorded with vaccine, date, lot, professional and next dose date', async (t) => {
  const r = await api.call('POST', '/fhir/Immunization', {
    resourceType: 'Immunization',
    status: 'completed',
    patient: { reference: `Patient/${patientId}` },
    vaccineCode: { text: 'DTPolio' },
    occurrenceDateTime: '2024-05-02',
    lotNumber: 'LOT-42',
    performer: [{ actor: { identifier: { system: 'https://rpps.esante.gouv.fr', value: '99700000005' }, display: 'Emma INFIRMIER' } }],
    extension: [{ url: 'https://carnet.example/fhir/StructureDefinition/immunization-next-dose-date', valueDate: '2044-05-02' }],
  });
  t.equal(r.status, 201);
  t.equal(r.body.extension[0].valueDate, '2044-05-02');
});

t.test('a patient-declared vaccination says the patient is not its primary source', async (t) => {
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, { resourceType: 'Immunization', status: 'completed', vaccineCode: { text: 'Fièvre jaune' }, occurrenceDateTime: '2019-03-01' });
  t.equal(r.status, 201);
  t.equal(r.body.primarySource, false);
  t.equal(r.body.reportOrigin.coding[0].code, 'recall');
});

async function registerDevice(): Promise<{ deviceId: string; token: string }> {
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$register-device`, { resourceType: 'Device', deviceName: [{ name: 'Tensiomètre', type: 'user-friendly-name' }] });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${r.raw}`);
  return { deviceId: out(r.body, 'device').id, token: out(r.body, 'token') };
}

const bloodPressure = {
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }] },
  effectiveDateTime: '2025-01-15T08:00:00Z',
  valueQuantity: { value: 128, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
};

t.test('a registered device posts Observations with its token and they show as the device’s', async (t) => {
  const { deviceId, token } = await registerDevice();
  t.match(token, /^cdt_/);
  const r = await api.call('POST', `/fhir/Device/${deviceId}/$observe`, bloodPressure, { authorization: `Bearer ${token}` });
  t.equal(r.status, 201);
  t.same(r.body.subject, { reference: `Patient/${patientId}` });
  t.same(r.body.device, { reference: `Device/${deviceId}` });
  t.ok(r.body.meta.security.some((s: any) => s.code === 'DEVAST'));
});

t.test('a device posts a Bundle of Observations at once', async (t) => {
  const { deviceId, token } = await registerDevice();
  const r = await api.call('POST', `/fhir/Device/${deviceId}/$observe`, { resourceType: 'Bundle', type: 'collection', entry: [{ resource: bloodPressure }, { resource: bloodPressure }] }, { authorization: `Bearer ${token}` });
  t.equal(r.status, 201);
  t.equal(r.body.entry.length, 2);
});

t.test('a revoked device token is refused at once', async (t) => {
  const { deviceId, token } = await registerDevice();
  const revoked = await api.call('POST', `/fhir/Device/${deviceId}/$revoke-token`);
  t.equal(revoked.status, 200);
  t.equal(revoked.body.status, 'inactive');
  const r = await api.call('POST', `/fhir/Device/${deviceId}/$observe`, bloodPressure, { authorization: `Bearer ${token}` });
  t.equal(r.status, 401);
});

t.test("a device token does not post for another device", async (t) => {
  const first = await registerDevice();
  const second = await registerDevice();
  const r = await api.call('POST', `/fhir/Device/${second.deviceId}/$observe`, bloodPressure, { authorization: `Bearer ${first.token}` });
  t.equal(r.status, 403);
});

t.test('a device without a token posts nothing', async (t) => {
  const { deviceId } = await registerDevice();
  t.equal((await api.call('POST', `/fhir/Device/${deviceId}/$observe`, bloodPressure)).status, 401);
});
