// The dossier lifecycle over HTTP with access control off (no identities: the channel is taken
// as declared): creation with consent, one dossier per INS, minors, closing, reactivating
// within the retention period, online opening with an activation code.
import t from 'tap';
import { dossierStatus, type DossierEvent } from '../../src/dossier/index.ts';
import { createParams, newIns, openApp, out, outAll, testClock, YEAR_MS, type OpenApp } from './support.ts';

const clock = testClock();
const events: DossierEvent[] = [];
let api: OpenApp;

t.before(async () => {
  api = await openApp({ dossier: { clock: clock.read, events: { emit: (e) => (events.push(e), {}) } } });
});
t.teardown(() => api.close());

async function create(params: Record<string, any>) {
  return api.call('POST', '/fhir/Patient/$create-dossier', params);
}

async function createdId(params: Record<string, any>): Promise<string> {
  const r = await create(params);
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.raw}`);
  return String(out(r.body, 'patient').reference).replace('Patient/', '');
}

t.test('a dossier is created with the patient consent and the patient gets a one-time initial password', async (t) => {
  const r = await create(createParams({ channel: 'professional' }));
  t.equal(r.status, 201);
  t.equal(out(r.body, 'status'), 'active');
  t.equal(r.headers['cache-control'], 'no-store');
  const [credentials] = outAll(r.body, 'credentials');
  t.equal(credentials.role, 'patient');
  t.match(credentials.initialPassword, /^[A-Za-z2-9]{14}$/);
  const patientId = String(out(r.body, 'patient').reference).replace('Patient/', '');
  t.equal(await dossierStatus(api.store, patientId), 'active');
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`)).body.active, true);
});

t.test('the consent is stored in the dossier with its patient and performer filled in', async (t) => {
  const patientId = await createdId(createParams({ channel: 'pharmacy' }));
  const search = await api.call('GET', `/fhir/Consent?patient=${patientId}`);
  t.equal(search.body.entry.length, 1);
  const consent = search.body.entry[0].resource;
  t.equal(consent.patient.reference, `Patient/${patientId}`);
  t.ok(consent.performer.length === 1);
  t.equal(consent.category[0].coding[0].code, 'create-dossier');
});

t.test('a dossier is not created without the patient consent', async (t) => {
  const r = await create(createParams({ consent: null }));
  t.equal(r.status, 422);
  t.equal(r.body.resourceType, 'OperationOutcome');
});

t.test('a consent that does not record the agreement to a dossier is refused with its problems', async (t) => {
  const r = await create(createParams({ consent: { resourceType: 'Consent', status: 'draft', provision: { type: 'deny' } } }));
  t.equal(r.status, 422);
  t.ok(r.body.issue.length >= 3);
});

t.test('creating a second dossier for the same INS answers a conflict', async (t) => {
  const ins = newIns();
  t.equal((await create(createParams({ ins }))).status, 201);
  const again = await create(createParams({ ins }));
  t.equal(again.status, 409);
  t.match(again.body.issue[0].diagnostics, /already exists for this INS/);
});

t.test('two simultaneous creations for one INS make one dossier', async (t) => {
  const ins = newIns();
  const results = await Promise.all([create(createParams({ ins })), create(createParams({ ins }))]);
  t.same(results.map((r) => r.status).sort(), [201, 409]);
});

t.test('two simultaneous creations choosing one login give it to one of them', async (t) => {
  const login = `same-${newIns()}`;
  const results = await Promise.all([create(createParams({ login })), create(createParams({ login }))]);
  t.same(results.map((r) => r.status).sort(), [201, 409]);
});

t.test("a minor's dossier is refused online", async (t) => {
  const r = await create(createParams({ channel: 'online', birthDate: '2015-03-01', activationCode: 'X', representatives: [{ relationship: 'MTH', email: 'mum@example.org' }] }));
  t.equal(r.status, 403);
});

t.test("a minor's dossier needs a legal representative", async (t) => {
  const r = await create(createParams({ channel: 'professional', birthDate: '2015-03-01', email: '' }));
  t.equal(r.status, 422);
});

t.test("a minor's dossier opened by a professional gives each legal representative credentials", async (t) => {
  const r = await create(createParams({ channel: 'professional', birthDate: '2015-03-01', representatives: [{ relationship: 'MTH', email: 'mum@example.org', login: `mum-${newIns()}` }, { relationship: 'FTH', mobile: '+33600000001' }] }));
  t.equal(r.status, 201);
  t.equal(out(r.body, 'minor'), true);
  const credentials = outAll(r.body, 'credentials');
  t.same(credentials.map((c) => c.role), ['representative', 'representative']);
  t.ok(credentials.every((c) => typeof c.initialPassword === 'string'));
  const patientId = String(out(r.body, 'patient').reference).replace('Patient/', '');
  const patient = (await api.call('GET', `/fhir/Patient/${patientId}`)).body;
  t.same(patient.contact.map((c: any) => c.relationship[0].coding[0].code), ['MTH', 'FTH']);
});

t.test('a representative of two minors keeps one login for both', async (t) => {
  const login = `parent-${newIns()}`;
  const first = await create(createParams({ channel: 'professional', birthDate: '2016-01-01', representatives: [{ relationship: 'PRN', email: 'parent@example.org', login }] }));
  t.equal(first.status, 201);
  const second = await create(createParams({ channel: 'insurer-desk', birthDate: '2018-01-01', representatives: [{ relationship: 'PRN', email: 'parent@example.org', login }] }));
  t.equal(second.status, 201);
  t.same(outAll(second.body, 'credentials')[0], { role: 'representative', login, existing: true });
});

t.test("an existing representative login with another address cannot be attached to a child", async (t) => {
  const login = `parent-${newIns()}`;
  await create(createParams({ channel: 'professional', birthDate: '2016-01-01', representatives: [{ relationship: 'PRN', email: 'parent@example.org', login }] }));
  const r = await create(createParams({ channel: 'professional', birthDate: '2017-01-01', representatives: [{ relationship: 'PRN', email: 'someone@example.org', login }] }));
  t.equal(r.status, 409);
});

t.test('closing a dossier makes its status closed and the Patient inactive', async (t) => {
  const patientId = await createdId(createParams());
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$close`, { resourceType: 'Parameters', parameter: [{ name: 'reason', valueCode: 'patient-request' }] });
  t.equal(r.status, 200);
  t.equal(out(r.body, 'status'), 'closed');
  t.equal(out(r.body, 'keptUntil'), new Date(clock.now + Math.round(10 * YEAR_MS)).toISOString());
  t.equal(await dossierStatus(api.store, patientId), 'closed');
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`)).body.active, false);
});

t.test('a closed dossier cannot be closed again', async (t) => {
  const patientId = await createdId(createParams());
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`)).status, 409);
});

t.test('nobody adds to a closed dossier', async (t) => {
  const patientId = await createdId(createParams());
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  const upload = await api.call('POST', `/fhir/Patient/${patientId}/$upload`, Buffer.from('%PDF-1.4 x'), { 'content-type': 'application/pdf' });
  t.equal(upload.status, 403);
});

t.test('creating a dossier for the INS of a closed dossier says to reactivate it', async (t) => {
  const ins = newIns();
  const patientId = await createdId(createParams({ ins }));
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  const again = await create(createParams({ ins }));
  t.equal(again.status, 409);
  t.match(again.body.issue[0].diagnostics, /reactivate/);
});

t.test('a closed dossier is reactivated within the retention period with a new consent', async (t) => {
  const patientId = await createdId(createParams());
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  clock.advance(9 * YEAR_MS);
  try {
    const r = await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`);
    t.equal(r.status, 200);
    t.equal(out(r.body, 'status'), 'active');
    t.equal(await dossierStatus(api.store, patientId), 'active');
    t.equal((await api.call('GET', `/fhir/Patient/${patientId}`)).body.active, true);
    t.equal((await api.call('GET', `/fhir/Consent?patient=${patientId}`)).body.entry.length, 2);
  } finally {
    clock.advance(-9 * YEAR_MS);
  }
});

t.test('a dossier closed longer ago than the retention period cannot be reactivated', async (t) => {
  const patientId = await createdId(createParams());
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  clock.advance(11 * YEAR_MS);
  try {
    t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`)).status, 410);
  } finally {
    clock.advance(-11 * YEAR_MS);
  }
});

t.test('the dossier status is told by INS without health data', async (t) => {
  const ins = newIns();
  const patientId = await createdId(createParams({ ins }));
  const r = await api.call('GET', `/fhir/Patient/$dossier-status?identifier=urn:oid:1.2.250.1.213.1.4.10|${ins}`);
  t.equal(r.status, 200);
  t.equal(out(r.body, 'exists'), true);
  t.equal(out(r.body, 'patient').reference, `Patient/${patientId}`);
  const none = await api.call('GET', `/fhir/Patient/$dossier-status?identifier=urn:oid:1.2.250.1.213.1.4.10|${newIns()}`);
  t.equal(out(none.body, 'exists'), false);
});

t.test('a dossier is opened online only with the activation code the desk issued', async (t) => {
  const ins = newIns();
  const issued = await api.call('POST', '/fhir/Patient/$activation-code', { resourceType: 'Parameters', parameter: [{ name: 'identifier', valueIdentifier: { system: 'urn:oid:1.2.250.1.213.1.4.10', value: ins } }] });
  t.equal(issued.status, 200);
  const code = out(issued.body, 'activationCode');
  const wrong = await create(createParams({ ins, channel: 'online', activationCode: 'AAAA-BBBB-CCCC', password: 'my own long password' }));
  t.equal(wrong.status, 403);
  const right = await create(createParams({ ins, channel: 'online', activationCode: code, password: 'my own long password' }));
  t.equal(right.status, 201);
  t.equal(out(right.body, 'channel'), 'online');
  t.notOk(outAll(right.body, 'credentials')[0].initialPassword, 'a password set online is not echoed');
  const reused = await create(createParams({ ins: newIns(), channel: 'online', activationCode: code, password: 'my own long password' }));
  t.equal(reused.status, 403);
});

t.test('every change of state emits its event', async (t) => {
  events.length = 0;
  const patientId = await createdId(createParams({ channel: 'establishment' }));
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`);
  t.same(events.map((e) => e.kind), ['dossier-created', 'dossier-closed', 'dossier-reactivated']);
  t.match(events[0], { patientId, channel: 'establishment', minor: false });
});

t.test('an event whose commit fails leaves no change behind', async (t) => {
  const failing = await openApp({ dossier: { events: { emit: () => ({ writes: [{ op: 'update', type: 'Bad Type', id: 'x', resource: { resourceType: 'Bad Type' } }] }) } } });
  try {
    const ins = newIns();
    const r = await failing.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins }));
    t.ok(r.status >= 400);
    const status = await failing.call('GET', `/fhir/Patient/$dossier-status?identifier=urn:oid:1.2.250.1.213.1.4.10|${ins}`);
    t.equal(out(status.body, 'exists'), false);
  } finally {
    await failing.close();
  }
});
