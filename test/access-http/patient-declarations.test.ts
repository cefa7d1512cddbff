// Patient declarations over HTTP with the shipped matrix: a signed-in patient (bearer token from
// password + one-time code) adds allergies, conditions, treatments, observations and
// vaccinations to their own dossier, through the plain FHIR API and through $declare; a legal
// representative does so for a minor; what the matrix does not let them write is refused with
// an OperationOutcome and nothing is stored.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestPki } from '../../src/identity/index.ts';
import { patientSignIn } from '../../src/security.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

let app: FastifyInstance;
let open: FastifyInstance;
let store: Store;
let cleanup: () => Promise<void>;
const tokens: Record<'patient' | 'representative', string> = { patient: '', representative: '' };

const ME = 'p-declares';
const MINOR = 'p-declares-minor';
const OTHER = 'p-declares-other';
const PASSWORD = 'correct horse battery staple';

/** The one-time code the outbox holds for this address (what the e-mail would carry). */
async function codeSentTo(to: string): Promise<string> {
  const messages = await store.claimOutbox({ limit: 100, leaseMs: 60_000 });
  for (const m of messages) await store.completeOutbox(m.id);
  return String(messages.filter((m) => m.topic === 'otp' && m.payload.to === to).at(-1)?.payload.code);
}

async function postJson(url: string, body: unknown): Promise<any> {
  const r = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return JSON.parse(r.body);
}

async function signIn(login: string): Promise<string> {
  const start = await postJson('/auth/patient/sign-in', { login, password: PASSWORD });
  return (await postJson('/auth/patient/verify', { challengeId: start.challengeId, code: await codeSentTo(login) })).access_token;
}

t.before(async () => {
  const pki = await createTestPki();
  const opened = await openTestStore();
  store = opened.store;
  const dir = mkdtempSync(join(tmpdir(), 'carnet-declare-'));
  writeFileSync(join(dir, 'server.crt'), pki.server.certPem);
  writeFileSync(join(dir, 'server.key'), pki.server.keyPem);
  writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
  const config = loadConfig({ DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', TLS_CERT_FILE: join(dir, 'server.crt'), TLS_KEY_FILE: join(dir, 'server.key'), TLS_CA_FILE: join(dir, 'ca.crt') });
  app = buildApp({ config, store });
  open = buildApp({ config: loadConfig({ DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' }), store });
  const minorBirth = `${new Date().getUTCFullYear() - 8}-01-01`;
  for (const r of [
    { resourceType: 'Patient', id: ME, birthDate: '1980-01-01' },
    { resourceType: 'Patient', id: MINOR, birthDate: minorBirth },
    { resourceType: 'Patient', id: OTHER, birthDate: '1981-01-01' },
  ]) {
    const res = await open.inject({ method: 'PUT', url: `/fhir/Patient/${r.id}`, headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(r) });
    if (res.statusCode >= 300) throw new Error(`seed: ${res.statusCode} ${res.body}`);
  }
  const auth = await patientSignIn(config, store);
  await auth.setCredential({ login: 'me@example.org', password: PASSWORD, subject: { kind: 'patient', patientId: ME }, otp: { channel: 'email', to: 'me@example.org' } });
  await auth.setCredential({ login: 'mum@example.org', password: PASSWORD, subject: { kind: 'representative', patientIds: [MINOR] }, otp: { channel: 'email', to: 'mum@example.org' } });
  tokens.patient = await signIn('me@example.org');
  tokens.representative = await signIn('mum@example.org');
  cleanup = async () => {
    await app.close();
    await open.close();
    await opened.cleanup();
  };
});
t.teardown(() => cleanup());

const ref = (id: string) => ({ reference: `Patient/${id}` });
const cc = (system: string, code: string) => ({ coding: [{ system, code }] });

/** One declaration of each type, in `patient`'s dossier, authored by that patient. */
function declarations(patient: string): Record<string, Record<string, unknown>> {
  const me = ref(patient);
  return {
    AllergyIntolerance: { resourceType: 'AllergyIntolerance', patient: me, recorder: me, clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active'), code: { text: 'Latex' } },
    Condition: { resourceType: 'Condition', subject: me, recorder: me, clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/condition-clinical', 'resolved'), code: { text: 'Appendicite' } },
    MedicationStatement: { resourceType: 'MedicationStatement', status: 'active', subject: me, informationSource: me, medicationCodeableConcept: { text: 'Lévothyrox 50' } },
    Observation: { resourceType: 'Observation', status: 'final', subject: me, performer: [me], code: cc('http://loinc.org', '882-1'), valueString: 'A+' },
    Immunization: { resourceType: 'Immunization', status: 'completed', patient: me, primarySource: false, vaccineCode: { text: 'Fièvre jaune' }, occurrenceDateTime: '2019-03-01' },
  };
}

async function send(method: 'POST' | 'GET', url: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

async function count(type: string, patient: string): Promise<number> {
  const param = type === 'AllergyIntolerance' || type === 'Immunization' ? 'patient' : 'subject';
  return JSON.parse((await open.inject({ method: 'GET', url: `/fhir/${type}?${param}=Patient/${patient}&_summary=count` })).body).total;
}

t.test('a signed-in patient creates each declarable type in their own dossier and reads it back', async (t) => {
  for (const [type, body] of Object.entries(declarations(ME))) {
    const created = await send('POST', `/fhir/${type}`, tokens.patient, body);
    t.equal(created.status, 201, `${type} created`);
    t.equal((await send('GET', `/fhir/${type}/${created.body.id}`, tokens.patient)).status, 200, `${type} read back`);
  }
});

t.test("a legal representative creates each declarable type in the minor's dossier", async (t) => {
  for (const [type, body] of Object.entries(declarations(MINOR))) t.equal((await send('POST', `/fhir/${type}`, tokens.representative, body)).status, 201, type);
});

t.test("a patient's declaration through $declare is stored as asserted by the patient", async (t) => {
  const r = await send('POST', `/fhir/Patient/${ME}/$declare`, tokens.patient, { resourceType: 'AllergyIntolerance', clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active'), code: { text: 'Arachide' } });
  t.equal(r.status, 201);
  t.ok(r.body.meta.security.some((s: any) => s.code === 'PATAST'));
});

t.test('a declaration naming a professional as its author is refused with an OperationOutcome and not stored', async (t) => {
  const before = await count('Condition', ME);
  const forged = { ...declarations(ME).Condition, recorder: { reference: 'Practitioner/99700000001' } };
  const r = await send('POST', '/fhir/Condition', tokens.patient, forged);
  t.equal(r.status, 403);
  t.equal(r.body.resourceType, 'OperationOutcome');
  t.equal(await count('Condition', ME), before);
});

t.test('a patient may not write a prescription, which only professionals write', async (t) => {
  const r = await send('POST', '/fhir/MedicationRequest', tokens.patient, { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: ref(ME), medicationCodeableConcept: { text: 'x' } });
  t.equal(r.status, 403);
  t.equal(r.body.resourceType, 'OperationOutcome');
});

t.test("a patient may not declare in someone else's dossier, and nothing is stored there", async (t) => {
  const r = await send('POST', '/fhir/Condition', tokens.patient, declarations(OTHER).Condition);
  t.equal(r.status, 403);
  t.equal(await count('Condition', OTHER), 0);
});
