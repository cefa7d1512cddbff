// The audit side of access, end to end over mutual TLS with the test PKI: a closed dossier is
// closed to everyone whatever its Patient says; the patient is told of a professional's first
// access and of every emergency access (outbox messages without health data); the patient reads
// their own dossier's access history through the FHIR API, professionals read none, operators
// export the trail.
import t from 'tap';
import type { OutboxMessage } from '../../src/store/index.ts';
import { authorisation, createParams, newIns, out, outAll, secureApp, signIn, type SecureApp } from '../dossier/support.ts';

let api: SecureApp;

// Dossiers opened through the lifecycle hash passwords (scrypt): slow on a loaded machine.
t.setTimeout(1_200_000);

t.before(async () => {
  api = await secureApp();
});
t.teardown(() => api.close());

const ACCESS_TOPICS = new Set(['first-access', 'break-the-glass', 'emergency-call']);
const PS_IDNAT = 'urn:oid:1.2.250.1.71.4.2.1';
const BTG = { 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'patient%20inconscient' };
const EMERGENCY_CALL = { 'x-carnet-access-mode': 'emergency-call' };

/** Opens a dossier (as a pharmacist), authorises the GP; returns the patient id and a patient token. */
async function openDossier(options: { signIn?: boolean } = {}): Promise<{ patientId: string; token: string }> {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', { cert: api.pki.professionals.pharmacist, body: createParams({ login: `audit-${newIns()}` }) });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.raw}`);
  const [credentials] = outAll(r.body, 'credentials');
  const patientId = String(out(r.body, 'patient').reference).replace('Patient/', '');
  const consent = await api.open.call('POST', '/fhir/Consent', authorisation(patientId, '99700000001'));
  if (consent.status !== 201) throw new Error(`consent: ${consent.status} ${consent.raw}`);
  const { token } = options.signIn === false ? { token: '' } : await signIn(api, credentials.login, credentials.initialPassword);
  if (token === undefined) throw new Error('sign-in failed');
  await accessMessages(patientId); // the outbox from here on holds only what the test does
  return { patientId, token };
}

/** The notifications of these topics about this dossier put in the outbox since the last call. */
async function messagesAbout(patientId: string, topics: ReadonlySet<string>): Promise<OutboxMessage[]> {
  const claimed = await api.store.claimOutbox({ limit: 500, leaseMs: 600_000 });
  for (const m of claimed) await api.store.completeOutbox(m.id);
  return claimed.filter((m) => topics.has(m.topic) && m.payload.patientId === patientId);
}

const accessMessages = (patientId: string) => messagesAbout(patientId, ACCESS_TOPICS);

const topics = (messages: OutboxMessage[]) => messages.map((m) => m.topic);

let seeded = 0;
/** A Patient and the GP's authorisation written without access control (no lifecycle: cheaper). */
async function seedPatient(): Promise<string> {
  const patientId = `p-audit-${process.pid}-${++seeded}`;
  const put = await api.open.call('PUT', `/fhir/Patient/${patientId}`, { resourceType: 'Patient', id: patientId, name: [{ family: 'DOSSIER', given: ['Léa'] }], birthDate: '1980-01-15' });
  if (put.status >= 300) throw new Error(`patient: ${put.status} ${put.raw}`);
  const consent = await api.open.call('POST', '/fhir/Consent', authorisation(patientId, '99700000001'));
  if (consent.status !== 201) throw new Error(`consent: ${consent.status} ${consent.raw}`);
  await accessMessages(patientId);
  return patientId;
}

// ---- closed dossiers ------------------------------------------------------------------------------

t.test('a closed dossier stays closed to everyone even when its Patient is marked active again', async (t) => {
  const { patientId, token } = await openDossier();
  const gp = api.pki.professionals.generalPractitioner;
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`, { token })).status, 200);
  const stored = await api.open.call('GET', `/fhir/Patient/${patientId}`);
  const { meta: _meta, ...body } = stored.body;
  t.equal((await api.open.call('PUT', `/fhir/Patient/${patientId}`, { ...body, active: true })).status, 200, 'Patient.active set back to true behind the lifecycle');
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp })).status, 404, 'the GP does not read it');
  t.equal((await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: gp })).status, 403, 'nor searches it');
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { token })).status, 404, 'nor does the patient');
});

t.test('an inactive Patient does not close a dossier its record says is open', async (t) => {
  const { patientId } = await openDossier({ signIn: false });
  const stored = await api.open.call('GET', `/fhir/Patient/${patientId}`);
  const { meta: _meta, ...body } = stored.body;
  t.equal((await api.open.call('PUT', `/fhir/Patient/${patientId}`, { ...body, active: false })).status, 200);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: api.pki.professionals.generalPractitioner })).status, 200);
});

t.test('nobody writes into a closed dossier', async (t) => {
  const { patientId, token } = await openDossier();
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`, { token })).status, 200);
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: 72, unit: '/min' },
  };
  const r = await api.call('POST', '/fhir/Observation', { cert: api.pki.professionals.generalPractitioner, body: observation });
  t.equal(r.status, 403);
  const found = await api.open.call('GET', `/fhir/Observation?subject=Patient/${patientId}`);
  t.equal(found.body.entry?.length ?? 0, 0, 'nothing was stored');
});

t.test('reactivating a closed dossier opens it again to those the patient authorised', async (t) => {
  const { patientId, token } = await openDossier();
  const gp = api.pki.professionals.generalPractitioner;
  await api.call('POST', `/fhir/Patient/${patientId}/$close`, { token });
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`, { token })).status, 200);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp })).status, 200);
});

// ---- notifications of accesses ------------------------------------------------------------------

t.test("a professional's first read of a dossier makes one first-access message", async (t) => {
  const patientId = await seedPatient();
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: api.pki.professionals.generalPractitioner })).status, 200);
  const messages = await accessMessages(patientId);
  t.same(topics(messages), ['first-access']);
  t.equal(messages[0].payload.profession, '10', 'told as a physician');
});

t.test('a second read by the same professional makes no message', async (t) => {
  const patientId = await seedPatient();
  const gp = api.pki.professionals.generalPractitioner;
  await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp });
  await accessMessages(patientId);
  t.equal((await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: gp })).status, 200);
  t.same(topics(await accessMessages(patientId)), []);
});

t.test('every break-the-glass read makes a message of its own', async (t) => {
  const patientId = await seedPatient();
  const cardiologist = api.pki.professionals.cardiologist;
  for (let i = 0; i < 2; i++) {
    t.equal((await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: cardiologist, headers: BTG })).status, 200);
  }
  t.same(topics(await accessMessages(patientId)), ['break-the-glass', 'break-the-glass']);
});

t.test('an emergency-call read makes an emergency-call message', async (t) => {
  const patientId = await seedPatient();
  const r = await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: api.pki.professionals.cardiologist, headers: EMERGENCY_CALL });
  t.equal(r.status, 200);
  t.same(topics(await accessMessages(patientId)), ['emergency-call']);
});

t.test('a refused read makes no message', async (t) => {
  const patientId = await seedPatient();
  const r = await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: api.pki.professionals.cardiologist });
  t.equal(r.status, 403);
  t.same(topics(await accessMessages(patientId)), []);
});

t.test('access messages carry ids and codes only, no health data and no names', async (t) => {
  const patientId = await seedPatient();
  await api.call('GET', `/fhir/Patient/${patientId}`, { cert: api.pki.professionals.generalPractitioner });
  await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: api.pki.professionals.cardiologist, headers: BTG });
  const messages = await accessMessages(patientId);
  t.equal(messages.length, 2);
  for (const m of messages) t.same(Object.keys(m.payload).sort().filter((k) => !['at', 'patientId', 'profession'].includes(k)), [], `${m.topic}: no other field`);
  t.notMatch(JSON.stringify(messages), /DOSSIER|Léa|MEDECIN|CARDIO|inconscient|99700000/, 'no name, reason or professional id');
});

// ---- the access history through the FHIR API -----------------------------------------------------

const agentIds = (event: any): string[] => (event.agent ?? []).map((a: any) => a.who?.identifier?.value).filter(Boolean);
const entries = (bundle: any): any[] => (bundle.entry ?? []).map((e: any) => e.resource);

t.test('the patient reads the access history of their own dossier, and by professional', async (t) => {
  const { patientId, token } = await openDossier();
  await api.call('GET', `/fhir/Patient/${patientId}`, { cert: api.pki.professionals.generalPractitioner });
  await api.call('GET', `/fhir/DocumentReference?patient=${patientId}`, { cert: api.pki.professionals.cardiologist, headers: BTG });
  const all = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&_count=100`, { token });
  t.equal(all.status, 200);
  const ids = entries(all.body).flatMap(agentIds);
  t.ok(ids.includes('899700000001') && ids.includes('899700000002'), 'both professionals are in the history');
  const byGp = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&agent:identifier=${encodeURIComponent(`${PS_IDNAT}|899700000001`)}`, { token });
  t.equal(byGp.status, 200);
  t.ok(entries(byGp.body).length > 0);
  t.ok(entries(byGp.body).every((e) => agentIds(e).includes('899700000001')), 'only the GP’s accesses');
});

t.test('the patient searches their access history by date', async (t) => {
  const { patientId, token } = await openDossier();
  await api.call('GET', `/fhir/Patient/${patientId}`, { cert: api.pki.professionals.generalPractitioner });
  const future = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
  const before = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&date=lt${future}`, { token });
  const after = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&date=gt${future}`, { token });
  t.equal(before.status, 200);
  t.ok(entries(before.body).length > 0, 'today’s accesses are before tomorrow');
  t.equal(entries(after.body).length, 0, 'none after tomorrow');
});

t.test("$everything is one search in the patient's access history, however many types it searched", async (t) => {
  const patientId = await seedPatient();
  const r = await api.call('GET', `/fhir/Patient/${patientId}/$everything`, { cert: api.pki.professionals.generalPractitioner });
  t.equal(r.status, 200);
  const history = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&_count=500`, { cert: api.pki.operator });
  const searchesByGp = entries(history.body).filter((e) => agentIds(e).includes('899700000001') && JSON.stringify(e.entity ?? []).includes('"parameters"'));
  t.equal(searchesByGp.length, 1, 'one search recorded');
  t.match(JSON.stringify(searchesByGp[0]?.entity), /"valueString":"\$everything"/, 'named after the operation');
});

t.test("the patient cannot read another dossier's access history", async (t) => {
  const mine = await openDossier();
  const theirs = { patientId: await seedPatient() };
  await api.call('GET', `/fhir/Patient/${theirs.patientId}`, { cert: api.pki.professionals.generalPractitioner });
  const search = await api.call('GET', `/fhir/AuditEvent?patient=${theirs.patientId}`, { token: mine.token });
  t.equal(entries(search.body).length, 0, 'a search for the other dossier finds nothing');
  const operatorView = await api.call('GET', `/fhir/AuditEvent?patient=${theirs.patientId}&_count=1`, { cert: api.pki.operator });
  const theirEvent = entries(operatorView.body)[0];
  t.ok(theirEvent, 'the other dossier has events');
  t.equal((await api.call('GET', `/fhir/AuditEvent/${theirEvent.id}`, { token: mine.token })).status, 404, 'and one read directly answers as missing');
});

t.test('a professional reads no audit record, not even of a dossier they may read', async (t) => {
  const patientId = await seedPatient();
  const gp = api.pki.professionals.generalPractitioner;
  await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp });
  t.equal((await api.call('GET', `/fhir/AuditEvent?patient=${patientId}`, { cert: gp })).status, 403);
  const operatorView = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&_count=1`, { cert: api.pki.operator });
  const event = entries(operatorView.body)[0];
  t.equal((await api.call('GET', `/fhir/AuditEvent/${event.id}`, { cert: gp })).status, 404);
});

t.test('an operator exports the audit trail across dossiers', async (t) => {
  const first = { patientId: await seedPatient() };
  const second = { patientId: await seedPatient() };
  for (const d of [first, second]) await api.call('GET', `/fhir/Patient/${d.patientId}`, { cert: api.pki.professionals.generalPractitioner });
  const r = await api.call('GET', '/fhir/AuditEvent?_count=1000', { cert: api.pki.operator });
  t.equal(r.status, 200);
  const text = JSON.stringify(r.body);
  t.match(text, `Patient/${first.patientId}`);
  t.match(text, `Patient/${second.patientId}`);
});

t.test('the operator statistics count accesses per mode made over mutual TLS', async (t) => {
  const count = async () => {
    const r = await api.call('GET', '/fhir/$dossier-statistics?period=year', { cert: api.pki.operator });
    if (r.status !== 200) throw new Error(`statistics: ${r.status} ${r.raw}`);
    const accesses = (r.body.parameter ?? []).filter((p: any) => p.name === 'accesses');
    const of = (mode: string) => {
      const part = accesses.find((a: any) => a.part.some((x: any) => x.name === 'mode' && (x.valueCode ?? x.valueString) === mode));
      return Number(part?.part.find((x: any) => x.name === 'count')?.valueInteger ?? 0);
    };
    return { normal: of('normal'), btg: of('break-the-glass') };
  };
  const before = await count();
  const patientId = await seedPatient();
  const gp = api.pki.professionals.generalPractitioner;
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp })).status, 200);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: gp, headers: BTG })).status, 200);
  const after = await count();
  t.ok(after.normal >= before.normal + 1, `normal accesses counted (${before.normal} → ${after.normal})`);
  t.ok(after.btg >= before.btg + 1, `break-the-glass accesses counted (${before.btg} → ${after.btg})`);
});

// ---- notifications of documents added -------------------------------------------------------

const documentMessages = (patientId: string) => messagesAbout(patientId, new Set(['document-added']));

function note(patientId: string): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
    subject: { reference: `Patient/${patientId}` },
    author: [{ identifier: { system: PS_IDNAT, value: '899700000001' } }],
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('compte rendu').toString('base64') } }],
  };
}

t.test('a document a professional adds to the dossier makes one document-added message, without health data', async (t) => {
  const patientId = await seedPatient();
  await documentMessages(patientId);
  const r = await api.call('POST', '/fhir/DocumentReference', { cert: api.pki.professionals.generalPractitioner, body: note(patientId) });
  t.equal(r.status, 201, r.raw);
  const messages = await documentMessages(patientId);
  t.equal(messages.length, 1);
  t.same(Object.keys(messages[0].payload).sort(), ['at', 'patientId'], 'ids and a date only');
});

t.test('a document the patient uploads themselves makes no document-added message', async (t) => {
  const { patientId, token } = await openDossier();
  await documentMessages(patientId);
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$upload?title=Bilan`, { token, body: pdf, contentType: 'application/pdf' });
  t.equal(r.status, 201, r.raw);
  t.same(await documentMessages(patientId), []);
});

t.test('updating a document makes no document-added message', async (t) => {
  const patientId = await seedPatient();
  const gp = api.pki.professionals.generalPractitioner;
  const created = await api.call('POST', '/fhir/DocumentReference', { cert: gp, body: note(patientId) });
  await documentMessages(patientId);
  const { meta: _meta, ...body } = created.body;
  const updated = await api.call('PUT', `/fhir/DocumentReference/${created.body.id}`, { cert: gp, body: { ...body, description: 'corrigé' } });
  t.equal(updated.status, 200, updated.raw);
  t.same(await documentMessages(patientId), []);
});

// ---- the patient's choice of channels -------------------------------------------------------------

t.test("only the patient chooses how they are told: the patient may, a professional may not, and the choice is audited", async (t) => {
  const { patientId, token } = await openDossier();
  const body = { resourceType: 'Parameters', parameter: [{ name: 'channel', valueCode: 'sms' }, { name: 'phone', valueString: '+33600000099' }] };
  const byGp = await api.call('POST', `/fhir/Patient/${patientId}/$notification-preferences`, { cert: api.pki.professionals.generalPractitioner, body });
  t.equal(byGp.status, 403);
  const mine = await api.call('POST', `/fhir/Patient/${patientId}/$notification-preferences`, { token, body });
  t.equal(mine.status, 200, mine.raw);
  const history = await api.call('GET', `/fhir/AuditEvent?patient=${patientId}&_count=100`, { token });
  const names = (history.body.entry ?? []).flatMap((e: any) => (e.resource.subtype ?? []).map((c: any) => c.code));
  t.ok(names.includes('notification-preferences-change'), 'the change is in the access history');
});

// ---- connected devices through the FHIR API ---------------------------------------------------------

t.test("a device the patient registered posts an Observation to /fhir with its token, and reads nothing", async (t) => {
  const { patientId, token } = await openDossier();
  const registered = await api.call('POST', `/fhir/Patient/${patientId}/$register-device`, { token, body: { resourceType: 'Device', deviceName: [{ name: 'Tensiomètre', type: 'user-friendly-name' }] } });
  t.equal(registered.status, 201, registered.raw);
  const deviceToken = (registered.body.parameter ?? []).find((p: any) => p.name === 'token')?.valueString;
  const deviceId = (registered.body.parameter ?? []).find((p: any) => p.name === 'device')?.resource?.id;
  t.ok(deviceToken && deviceId, 'a token and a Device');
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    device: { reference: `Device/${deviceId}` },
    valueQuantity: { value: 64, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
  const posted = await api.call('POST', '/fhir/Observation', { token: deviceToken, body: observation });
  t.equal(posted.status, 201, posted.raw);
  t.equal((await api.call('GET', `/fhir/Observation/${posted.body.id}`, { token: deviceToken })).status, 404, 'a device reads nothing back');
  t.equal((await api.call('GET', `/fhir/Observation/${posted.body.id}`, { token })).status, 200, 'the patient reads it');
});
