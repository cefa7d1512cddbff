// A patient signs in with a password and a one-time code (read from the outbox, as the
// notification worker would send it), then reads their own dossier with a bearer token:
// documents flagged invisible to the patient stay hidden, other dossiers stay closed.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createTestPki } from '../../src/identity/index.ts';
import { patientSignIn } from '../../src/security.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

let app: FastifyInstance;
let store: Store;
let config: Config;
let cleanup: () => Promise<void>;

const ME = 'p-self';
const OTHER = 'p-someone-else';

function document(id: string, patient: string, labels: string[] = []): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11490-0' }] },
    category: [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '10' }] }],
    subject: { reference: `Patient/${patient}` },
    securityLabel: [{ coding: [{ system: 'urn:oid:2.16.840.1.113883.5.25', code: 'N' }] }, ...labels.map((code) => ({ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.13', code }] }))],
    content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${id}` } }],
  };
}

t.before(async () => {
  const pki = await createTestPki();
  const opened = await openTestStore();
  store = opened.store;
  const dir = mkdtempSync(join(tmpdir(), 'carnet-signin-'));
  writeFileSync(join(dir, 'server.crt'), pki.server.certPem);
  writeFileSync(join(dir, 'server.key'), pki.server.keyPem);
  writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
  config = loadConfig({ DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', TLS_CERT_FILE: join(dir, 'server.crt'), TLS_KEY_FILE: join(dir, 'server.key'), TLS_CA_FILE: join(dir, 'ca.crt') });
  app = buildApp({ config, store });
  const open = buildApp({ config: loadConfig({ DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' }), store });
  for (const r of [
    { resourceType: 'Patient', id: ME, birthDate: '1980-01-01' },
    { resourceType: 'Patient', id: OTHER, birthDate: '1981-01-01' },
    document('mine', ME),
    document('mine-not-told-yet', ME, ['INVISIBLE_PATIENT']),
    document('theirs', OTHER),
  ]) {
    const res = await open.inject({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(r) });
    if (res.statusCode >= 300) throw new Error(`seed: ${res.statusCode} ${res.body}`);
  }
  await open.close();
  const auth = await patientSignIn(config, store);
  // One login per test: the server spaces out codes sent to one login.
  for (let n = 0; n < 8; n++) {
    await auth.setCredential({ login: `lea${n}@example.org`, password: 'correct horse battery staple', subject: { kind: 'patient', patientId: ME }, otp: { channel: 'email', to: `lea${n}@example.org` } });
  }
  cleanup = async () => {
    await app.close();
    await opened.cleanup();
  };
});
t.teardown(() => cleanup());

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

/** The one-time code the outbox holds for this address (what the e-mail would carry). */
async function codeSentTo(to: string): Promise<string> {
  const messages = await store.claimOutbox({ limit: 100, leaseMs: 60_000 });
  const mine = messages.filter((m) => m.topic === 'otp' && m.payload.to === to);
  for (const m of messages) await store.completeOutbox(m.id);
  return String(mine.at(-1)?.payload.code);
}

let logins = 0;
const nextLogin = () => `lea${logins++}@example.org`;

async function signIn(): Promise<string> {
  const login = nextLogin();
  const start = await post('/auth/patient/sign-in', { login, password: 'correct horse battery staple' });
  if (start.status !== 200) throw new Error(`sign-in: ${start.status} ${JSON.stringify(start.body)}`);
  const verified = await post('/auth/patient/verify', { challengeId: start.body.challengeId, code: await codeSentTo(login) });
  if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${JSON.stringify(verified.body)}`);
  return verified.body.access_token;
}

const get = (url: string, token: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

t.test('a patient signs in with password and one-time code and reads their own documents', async (t) => {
  const token = await signIn();
  const r = await get(`/fhir/DocumentReference?patient=${ME}`, token);
  t.equal(r.statusCode, 200);
  t.same(JSON.parse(r.body).entry.map((e: any) => e.resource.id), ['mine']);
});

t.test('a document flagged invisible to the patient answers 404 to them', async (t) => {
  const token = await signIn();
  t.equal((await get('/fhir/DocumentReference/mine-not-told-yet', token)).statusCode, 404);
});

t.test("another patient's dossier stays closed to the patient", async (t) => {
  const token = await signIn();
  t.equal((await get('/fhir/DocumentReference/theirs', token)).statusCode, 404);
  const search = await get(`/fhir/DocumentReference?patient=${OTHER}`, token);
  // Refused as a whole, like a professional naming a dossier they may not enter (and like a dossier that does not exist).
  t.same([search.statusCode, JSON.parse(search.body).resourceType], [403, 'OperationOutcome']);
  const nobody = await get('/fhir/DocumentReference?patient=no-such-patient', token);
  t.equal(nobody.statusCode, 403);
});

t.test('a wrong one-time code is refused and the code cannot be used again after success', async (t) => {
  const login = nextLogin();
  const start = await post('/auth/patient/sign-in', { login, password: 'correct horse battery staple' });
  const code = await codeSentTo(login);
  const wrong = await post('/auth/patient/verify', { challengeId: start.body.challengeId, code: code === '000000' ? '111111' : '000000' });
  t.equal(wrong.status, 401);
  const right = await post('/auth/patient/verify', { challengeId: start.body.challengeId, code });
  t.equal(right.status, 200);
  const again = await post('/auth/patient/verify', { challengeId: start.body.challengeId, code });
  t.equal(again.status, 401);
});

t.test('a wrong password is refused without sending a code', async (t) => {
  const r = await post('/auth/patient/sign-in', { login: nextLogin(), password: 'wrong' });
  t.equal(r.status, 401);
  const messages = await store.claimOutbox({ limit: 100, leaseMs: 1 });
  t.notOk(messages.some((m) => m.topic === 'otp'));
});

t.test('signing out ends the token at once', async (t) => {
  const token = await signIn();
  const out = await app.inject({ method: 'POST', url: '/auth/patient/sign-out', headers: { authorization: `Bearer ${token}` } });
  t.equal(out.statusCode, 204);
  t.equal((await get(`/fhir/DocumentReference?patient=${ME}`, token)).statusCode, 401);
});
