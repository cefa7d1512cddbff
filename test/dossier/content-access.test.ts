// What the patient adds, with real identities: a signed-in patient uploads (the gate checks the
// DocumentReference, the Binary rides with it), a legal representative uploads for a minor, a
// professional may not add as the patient, a device's token writes through the gate as a
// 'device' actor and stops at a closed dossier. Declarations by the patient need the matrix to
// let patients create those types: this app runs with such a matrix (see support.ts).
import t from 'tap';
import { authorisation, createParams, matrixWithPatientDeclarations, newIns, out, outAll, PDF, secureApp, signIn, type SecureApp } from './support.ts';

let api: SecureApp;

t.before(async () => {
  api = await secureApp({ env: { HABILITATIONS_FILE: matrixWithPatientDeclarations() } });
});
t.teardown(() => api.close());

async function openDossier(options: Parameters<typeof createParams>[0] = {}): Promise<{ patientId: string; credentials: Record<string, any>[] }> {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.generalPractitioner, body: createParams({ login: `lea-${newIns()}`, ...options }) });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.raw}`);
  const patientId = String(out(r.body, 'patient').reference).replace('Patient/', '');
  const consent = await api.open.call('POST', '/fhir/Consent', authorisation(patientId, '99700000001'));
  if (consent.status !== 201) throw new Error(`consent: ${consent.status}`);
  return { patientId, credentials: outAll(r.body, 'credentials') };
}

async function patientToken(credentials: Record<string, any>): Promise<string> {
  const { token } = await signIn(api, credentials.login, credentials.initialPassword);
  if (!token) throw new Error('sign-in failed');
  return token;
}

const upload = (patientId: string, auth: { token?: string; cert?: SecureApp['pki']['professionals']['generalPractitioner'] }) =>
  api.call('POST', `/fhir/Patient/${patientId}/$upload?type=DOCPAT03&title=Compte%20rendu`, { ...auth, body: PDF, contentType: 'application/pdf' });

t.test('a signed-in patient uploads a document that their GP then reads', async (t) => {
  const { patientId, credentials } = await openDossier();
  const token = await patientToken(credentials[0]);
  const r = await upload(patientId, { token });
  t.equal(r.status, 201);
  const gp = api.pki.professionals.generalPractitioner;
  t.equal((await api.call('GET', `/fhir/DocumentReference/${r.body.id}`, { cert: gp })).status, 200);
  const bytes = await api.call('GET', `/fhir/${r.body.content[0].attachment.url}`, { cert: gp, headers: { accept: 'application/pdf' } });
  t.equal(bytes.status, 200);
});

t.test('a professional cannot upload as the patient', async (t) => {
  const { patientId } = await openDossier();
  t.equal((await upload(patientId, { cert: api.pki.professionals.generalPractitioner })).status, 403);
});

t.test("a patient cannot upload into someone else's dossier", async (t) => {
  const mine = await openDossier();
  const theirs = await openDossier();
  t.equal((await upload(theirs.patientId, { token: await patientToken(mine.credentials[0]) })).status, 403);
});

t.test("a legal representative uploads into the minor's dossier, shown as theirs", async (t) => {
  const { patientId, credentials } = await openDossier({ birthDate: '2016-04-01', representatives: [{ relationship: 'MTH', email: 'mum@example.org' }] });
  const r = await upload(patientId, { token: await patientToken(credentials[0]) });
  t.equal(r.status, 201);
  t.ok(r.body.meta.security.some((s: any) => s.code === 'SDMAST'));
  t.same(r.body.author, [{ reference: `Patient/${patientId}` }]);
});

t.test('a signed-in patient declares an allergy that their GP reads as declared by the patient', async (t) => {
  const { patientId, credentials } = await openDossier();
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, {
    token: await patientToken(credentials[0]),
    body: { resourceType: 'AllergyIntolerance', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] }, code: { text: 'Latex' } },
  });
  t.equal(r.status, 201);
  const read = await api.call('GET', `/fhir/AllergyIntolerance/${r.body.id}`, { cert: api.pki.professionals.generalPractitioner });
  t.equal(read.status, 200);
  t.ok(read.body.meta.security.some((s: any) => s.code === 'PATAST'));
});

t.test('a device posts through the gate with its token until the dossier closes', async (t) => {
  const { patientId, credentials } = await openDossier();
  const token = await patientToken(credentials[0]);
  const registered = await api.call('POST', `/fhir/Patient/${patientId}/$register-device`, { token, body: { resourceType: 'Device', deviceName: [{ name: 'Balance', type: 'user-friendly-name' }] } });
  t.equal(registered.status, 201);
  const deviceId = out(registered.body, 'device').id;
  const deviceToken = out(registered.body, 'token');
  const weight = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] }, valueQuantity: { value: 70, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } };
  const posted = await api.call('POST', `/fhir/Device/${deviceId}/$observe`, { token: deviceToken, body: weight });
  t.equal(posted.status, 201);
  t.equal((await api.call('GET', `/fhir/Observation/${posted.body.id}`, { token })).status, 200, 'the patient reads it');
  await api.call('POST', `/fhir/Patient/${patientId}/$close`, { token });
  t.equal((await api.call('POST', `/fhir/Device/${deviceId}/$observe`, { token: deviceToken, body: weight })).status, 403);
});

t.test('the patient revokes the device token and it is refused at once', async (t) => {
  const { patientId, credentials } = await openDossier();
  const token = await patientToken(credentials[0]);
  const registered = await api.call('POST', `/fhir/Patient/${patientId}/$register-device`, { token, body: { resourceType: 'Device' } });
  const deviceId = out(registered.body, 'device').id;
  const other = await openDossier();
  t.equal((await api.call('POST', `/fhir/Device/${deviceId}/$revoke-token`, { token: await patientToken(other.credentials[0]) })).status, 404, "nobody else's revocation");
  t.equal((await api.call('POST', `/fhir/Device/${deviceId}/$revoke-token`, { token })).status, 200);
  const weight = { resourceType: 'Observation', status: 'final', code: { text: 'weight' } };
  t.equal((await api.call('POST', `/fhir/Device/${deviceId}/$observe`, { token: out(registered.body, 'token'), body: weight })).status, 401);
});
