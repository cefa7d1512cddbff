// The dossier lifecycle with real identities over mutual TLS: who may open a dossier by which
// channel, the patient signing in with the password handed over, closing (nobody reads a closed
// dossier) and reactivating, and the support desk (operator) resetting and unblocking sign-in
// while seeing no health data.
import t from 'tap';
import { authorisation, createParams, newIns, out, outAll, secureApp, signIn as signInAs, type SecureApp } from './support.ts';

let api: SecureApp;

t.before(async () => {
  api = await secureApp();
});
t.teardown(() => api.close());

const params = (body: Record<string, unknown>[]) => ({ resourceType: 'Parameters', parameter: body });

/** Opens a dossier as a pharmacist; returns the patient id and the handed-over credentials. */
async function openDossier(): Promise<{ patientId: string; login: string; password: string }> {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.pharmacist, body: createParams({ login: `lea-${newIns()}` }) });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.raw}`);
  const [credentials] = outAll(r.body, 'credentials');
  return { patientId: String(out(r.body, 'patient').reference).replace('Patient/', ''), login: credentials.login, password: credentials.initialPassword };
}

/** The GP is authorised by the patient (as the patient would record it). */
async function authoriseGp(patientId: string): Promise<void> {
  const r = await api.open.call('POST', '/fhir/Consent', authorisation(patientId, '99700000001'));
  if (r.status !== 201) throw new Error(`consent: ${r.status} ${r.raw}`);
}

const signIn = (login: string, password: string) => signInAs(api, login, password);

t.test('a pharmacist opens a dossier by the pharmacy channel', async (t) => {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.pharmacist, body: createParams() });
  t.equal(r.status, 201);
  t.equal(out(r.body, 'channel'), 'pharmacy');
});

t.test('a nurse cannot claim the pharmacy channel', async (t) => {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.nurse, body: createParams({ channel: 'pharmacy' }) });
  t.equal(r.status, 403);
});

t.test('an occupational physician cannot open a dossier', async (t) => {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.occupationalPhysician, body: createParams() });
  t.equal(r.status, 403);
});

t.test("the insurer's desk opens a dossier by the insurer-desk channel", async (t) => {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.operator, body: createParams() });
  t.equal(r.status, 201);
  t.equal(out(r.body, 'channel'), 'insurer-desk');
});

t.test('without any identity a dossier can only be opened online', async (t) => {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { body: createParams({ channel: 'professional' }) });
  t.equal(r.status, 403);
});

t.test('the patient signs in with the password handed over and reads their dossier', async (t) => {
  const { patientId, login, password } = await openDossier();
  const { token } = await signIn(login, password);
  t.ok(token);
  const r = await api.call('GET', `/fhir/Patient/${patientId}`, { token });
  t.equal(r.status, 200);
});

t.test('nobody reads a closed dossier, and its reactivation opens it again', async (t) => {
  const { patientId, login, password } = await openDossier();
  await authoriseGp(patientId);
  const gp = api.pki.professionals.generalPractitioner;
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp })).status, 200, 'the authorised GP reads the open dossier');
  const { token } = await signIn(login, password);
  const closed = await api.call('POST', `/fhir/Patient/${patientId}/$close`, { token });
  t.equal(closed.status, 200);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp })).status, 404, 'the GP no longer reads it');
  t.equal((await api.call('GET', `/fhir/Consent?patient=${patientId}`, { cert: gp })).status, 403, 'nor searches it');
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { token })).status, 404, 'nor does the patient');
  const reopened = await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`, { token });
  t.equal(reopened.status, 200);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp })).status, 200);
});

t.test("a patient cannot close someone else's dossier", async (t) => {
  const mine = await openDossier();
  const theirs = await openDossier();
  const { token } = await signIn(mine.login, mine.password);
  t.equal((await api.call('POST', `/fhir/Patient/${theirs.patientId}/$close`, { token })).status, 403);
});

t.test('a professional reactivating a dossier must bring the patient consent', async (t) => {
  const { patientId, login, password } = await openDossier();
  const { token } = await signIn(login, password);
  await api.call('POST', `/fhir/Patient/${patientId}/$close`, { token });
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`, { cert: api.pki.professionals.generalPractitioner });
  t.equal(r.status, 422);
});

t.test('the desk resets lost credentials after checking identity, and the old password stops working', async (t) => {
  const { patientId, login, password } = await openDossier();
  const unchecked = await api.call('POST', `/fhir/Patient/${patientId}/$reset-credentials`, { cert: api.pki.operator, body: params([]) });
  t.equal(unchecked.status, 422, 'no reset without an identity check');
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$reset-credentials`, { cert: api.pki.operator, body: params([{ name: 'identityCheck', valueCode: 'id-document' }]) });
  t.equal(r.status, 200);
  t.equal(r.headers['cache-control'], 'no-store');
  t.equal(out(r.body, 'login'), login);
  t.equal((await signIn(login, password)).status, 401);
  t.ok((await signIn(login, out(r.body, 'initialPassword'))).token);
});

t.test('the desk unblocks a locked sign-in', async (t) => {
  const { patientId, login, password } = await openDossier();
  for (let i = 0; i < 5; i++) await api.call('POST', '/auth/patient/sign-in', { body: { login, password: 'wrong password' }, contentType: 'application/json' });
  t.equal((await signIn(login, password)).status, 429, 'locked out');
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$unblock-sign-in`, { cert: api.pki.operator, body: params([{ name: 'identityCheck', valueCode: 'in-person' }]) });
  t.equal(r.status, 200);
  t.ok((await signIn(login, password)).token);
});

t.test('only the desk resets credentials', async (t) => {
  const { patientId } = await openDossier();
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$reset-credentials`, { cert: api.pki.professionals.generalPractitioner, body: params([{ name: 'identityCheck', valueCode: 'id-document' }]) });
  t.equal(r.status, 403);
});

t.test('the desk sees no health data', async (t) => {
  const { patientId } = await openDossier();
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: api.pki.operator })).status, 404);
  t.equal((await api.call('GET', `/fhir/Consent?patient=${patientId}`, { cert: api.pki.operator })).status, 403);
});

t.test('the patient replaces the handed-over password with their own', async (t) => {
  const { patientId, login, password } = await openDossier();
  const { token } = await signIn(login, password);
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$set-password`, {
    token,
    body: params([{ name: 'login', valueString: login }, { name: 'currentPassword', valueString: password }, { name: 'newPassword', valueString: 'a password of my own' }]),
  });
  t.equal(r.status, 200);
  t.ok((await signIn(login, 'a password of my own')).token);
});

t.test('operator statistics count dossiers per channel without health data, and only for the desk', async (t) => {
  await openDossier();
  const r = await api.call('GET', '/fhir/$dossier-statistics?period=year', { cert: api.pki.operator });
  t.equal(r.status, 200);
  const rows = outAll(r.body, 'dossiers');
  t.ok(rows.some((row) => row.channel === 'pharmacy' && row.department === '75' && row.count >= 1));
  t.notMatch(r.raw, /DOSSIER|Léa|lea@/, 'no names or addresses');
  t.equal((await api.call('GET', '/fhir/$dossier-statistics', { cert: api.pki.professionals.generalPractitioner })).status, 403);
});

t.test('the dossier status by INS is told to a professional', async (t) => {
  const ins = newIns();
  await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.pharmacist, body: createParams({ ins }) });
  const r = await api.call('GET', `/fhir/Patient/$dossier-status?identifier=${encodeURIComponent(`urn:oid:1.2.250.1.213.1.4.10|${ins}`)}`, { cert: api.pki.professionals.nurse });
  t.equal(r.status, 200);
  t.equal(out(r.body, 'status'), 'active');
});
