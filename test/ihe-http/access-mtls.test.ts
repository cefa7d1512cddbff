// XDS through the access engine, end to end over real mutual TLS with the test PKI: what each
// professional's stored queries return, refusals as XDS answers, hidden documents never handed
// out by ITI-43, submissions and masking decided by the engine. Documents are seeded over XDS
// through a second app on the same store with access control off.
import t from 'tap';
import { postTls as postTlsTo } from './tls.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestPki, type Issued, type TestPki } from '../../src/identity/index.ts';
import { patientSignIn } from '../../src/security.ts';
import { openTestStore } from '../support/store.ts';
import type { RegistryObjects } from '../../src/ihe/xds/index.ts';
import type { DocumentOptions } from './builders.ts';
import { ACTIONS, cxOf, INS_TEST_AUTHORITY, iti41Inline, iti57, newIns, pdf, REPOSITORY, submission } from './builders.ts';
import type { Answer, Posted } from './support.ts';
import {
  answerOf, countResources, createPatient, errorsOf, extrinsicObjects, faultOf, post, QUERY, retrievedDocuments, retrieveRequest, SOAP_CONTENT_TYPE,
  statusOf, storedQuery,
} from './support.ts';

// A TLS handshake per request, on a machine running the other test files too.
t.setTimeout(600_000);

let pki: TestPki;
let secure: FastifyInstance;
let open: FastifyInstance;
let port: number;
let cleanup: () => Promise<void>;
let signIn: () => Promise<string>;

const GP = '99700000001';
const PHARMACIST = '99700000003';
const ins = newIns();
const patient = cxOf(ins);
const docs: Record<string, { uniqueId: string; uuid: string; bytes: Buffer }> = {};
/** The submission each seeded document was provided with (for updates). */
const entries: Record<string, RegistryObjects> = {};

function consent(patientId: string, rpps: string): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'urn:carnet:fhir:CodeSystem:dossier-control', code: 'authorise' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: '2024-05-01T09:00:00Z',
    performer: [{ reference: `Patient/${patientId}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: `8${rpps}` } } }] },
  };
}

/** Provides one document over ITI-41 through the open app, and notes it under `name`. */
async function seed(name: string, options: DocumentOptions): Promise<void> {
  const bytes = pdf();
  const objects = submission(patient, [{ bytes, options }]);
  entries[name] = structuredClone(objects);
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', bytes]]));
  const answer = await answerOf(await post(open, 'repository', body, contentType));
  const uniqueId = objects.documentEntries[0].uniqueId as string;
  if (statusOf(answer.body) !== 'Success') throw new Error(`seed ${name}: ${JSON.stringify(errorsOf(answer.body))}`);
  const [entry] = extrinsicObjects(await answerOf(await post(open, 'registry', storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] }), SOAP_CONTENT_TYPE(''))));
  docs[name] = { uniqueId, uuid: entry.id, bytes };
}

t.before(async () => {
  pki = await createTestPki();
  const opened = await openTestStore();
  const dir = mkdtempSync(join(tmpdir(), 'carnet-xds-mtls-'));
  const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'ca.crt'), crl: join(dir, 'crl.pem') };
  writeFileSync(files.cert, pki.server.certPem);
  writeFileSync(files.key, pki.server.keyPem);
  writeFileSync(files.ca, pki.ca.certPem);
  writeFileSync(files.crl, pki.crlPem);
  const base = { DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', XDS_REPOSITORY_UNIQUE_ID: REPOSITORY };
  const secureConfig = loadConfig({ ...base, TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, TLS_CA_FILE: files.ca, TLS_CRL_FILE: files.crl });
  secure = buildApp({ config: secureConfig, store: opened.store });
  open = buildApp({ config: loadConfig({ ...base, ACCESS_CONTROL: 'off' }), store: opened.store });
  await secure.listen({ port: 0, host: '127.0.0.1' });
  await open.ready();
  port = (secure.server.address() as AddressInfo).port;
  cleanup = async () => {
    await secure.close();
    await open.close();
    await opened.cleanup();
  };
  const patientId = await createPatient(open, INS_TEST_AUTHORITY, ins);
  for (const rpps of [GP, PHARMACIST]) {
    const r = await open.inject({ method: 'POST', url: '/fhir/Consent', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(consent(patientId, rpps)) });
    if (r.statusCode !== 201) throw new Error(`consent: ${r.statusCode} ${r.body}`);
  }
  // The patient signs in with a password and a one-time code (read from the outbox).
  const auth = await patientSignIn(secureConfig, opened.store);
  let logins = 0;
  signIn = async () => {
    const login = `patient${logins++}@example.org`;
    await auth.setCredential({ login, password: 'correct horse battery staple', subject: { kind: 'patient', patientId }, otp: { channel: 'email', to: login } });
    const call = async (url: string, body: unknown) => JSON.parse((await secure.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })).body);
    const start = await call('/auth/patient/sign-in', { login, password: 'correct horse battery staple' });
    const messages = await opened.store.claimOutbox({ limit: 100, leaseMs: 60_000 });
    for (const m of messages) await opened.store.completeOutbox(m.id);
    const code = String(messages.filter((m) => m.topic === 'otp' && m.payload.to === login).at(-1)?.payload.code);
    return (await call('/auth/patient/verify', { challengeId: start.challengeId, code })).access_token as string;
  };
  await seed('letter', { typeCode: '11490-0' });
  await seed('imaging', { typeCode: '18748-4' });
  await seed('lab', { typeCode: '11502-2' });
  await seed('masked', { typeCode: '11490-0', confidentiality: ['MASQUE_PS'] });
  await seed('gpLetter', { typeCode: '11490-0', authorRpps: GP });
});
t.teardown(() => cleanup());

/** POST over mutual TLS with a client certificate (or none). */
function postTls(endpoint: 'registry' | 'repository', body: string, contentType: string, client: Issued | undefined): Promise<Posted> {
  return postTlsTo(port, pki.ca.certPem, endpoint, body, contentType, client);
}

async function findDocuments(client: Issued | undefined): Promise<Answer> {
  const body = storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: [`'${patient}'`],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  });
  return answerOf(await postTls('registry', body, SOAP_CONTENT_TYPE('urn:ihe:iti:2007:RegistryStoredQuery'), client));
}

const found = (answer: Answer) => extrinsicObjects(answer).map((e) => e.uniqueId).sort();
const uniqueIds = (...names: string[]) => names.map((n) => docs[n].uniqueId).sort();

async function retrieve(client: Issued, name: string): Promise<Answer> {
  return answerOf(await postTls('repository', retrieveRequest(REPOSITORY, [docs[name].uniqueId]), SOAP_CONTENT_TYPE(ACTIONS.iti43), client));
}

void t.test('without a client certificate the answer is a wsse:FailedAuthentication fault with HTTP 401', async (t) => {
  const posted = await postTls('registry', storedQuery(QUERY.FindDocuments, {}), SOAP_CONTENT_TYPE('urn:ihe:iti:2007:RegistryStoredQuery'), undefined);
  t.equal(posted.status, 401);
  t.match(faultOf(await answerOf(posted)), { code: 'Sender', subcode: 'wsse:FailedAuthentication' });
});

void t.test("a pharmacist's FindDocuments returns only the types the matrix gives pharmacists, masked ones left out", async (t) => {
  const answer = await findDocuments(pki.professionals.pharmacist);
  t.equal(statusOf(answer.body), 'Success');
  t.same(found(answer), uniqueIds('letter', 'lab', 'gpLetter'));
});

void t.test("the authorised doctor's FindDocuments returns every document except the masked one", async (t) => {
  const answer = await findDocuments(pki.professionals.generalPractitioner);
  t.same(found(answer), uniqueIds('letter', 'imaging', 'lab', 'gpLetter'));
});

void t.test('a doctor the patient did not authorise gets an access-denied XDSRegistryError and no document', async (t) => {
  const answer = await findDocuments(pki.professionals.cardiologist);
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRegistryError', context: /^access denied/ }]);
  t.same(found(answer), []);
});

void t.test('a document hidden from the pharmacist gives no bytes on ITI-43, like an unknown one', async (t) => {
  const hidden = await retrieve(pki.professionals.pharmacist, 'imaging');
  t.equal(statusOf(hidden.body), 'Failure');
  t.match(errorsOf(hidden.body), [{ code: 'XDSDocumentUniqueIdError', location: docs.imaging.uniqueId }]);
  t.same(retrievedDocuments(hidden), []);
  t.equal(hidden.attachments.size, 0, 'no attachment at all');
  const visible = await retrieve(pki.professionals.pharmacist, 'letter');
  t.ok(retrievedDocuments(visible)[0]?.bytes?.equals(docs.letter.bytes));
});

void t.test('the Binary of a document provided over XDS follows its document on ITI-68', async (t) => {
  const get = (id: string) => new Promise<number>((resolve, reject) => {
    const client = pki.professionals.pharmacist;
    const req = httpsRequest({ host: '127.0.0.1', port, path: `/fhir/Binary/${id}`, method: 'GET', ca: pki.ca.certPem, cert: client.certPem, key: client.keyPem }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(await get(docs.imaging.uuid.slice('urn:uuid:'.length)), 404, 'hidden with its document');
  t.equal(await get(docs.letter.uuid.slice('urn:uuid:'.length)), 200, 'served with its document');
});

void t.test('GetDocuments by entryUUID does not reveal a document the pharmacist may not see', async (t) => {
  const body = storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryEntryUUID: [`('${docs.imaging.uuid}', '${docs.letter.uuid}')`] });
  const answer = await answerOf(await postTls('registry', body, SOAP_CONTENT_TYPE(''), pki.professionals.pharmacist));
  t.equal(statusOf(answer.body), 'Success');
  t.same(found(answer), uniqueIds('letter'));
});

void t.test('the authorised doctor provides a document over ITI-41 and retrieves it', async (t) => {
  const bytes = pdf();
  const objects = submission(patient, [{ bytes, options: { authorRpps: GP } }]);
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', bytes]]));
  const answer = await answerOf(await postTls('repository', body, contentType, pki.professionals.generalPractitioner));
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  const uniqueId = objects.documentEntries[0].uniqueId as string;
  const retrieved = await answerOf(await postTls('repository', retrieveRequest(REPOSITORY, [uniqueId]), SOAP_CONTENT_TYPE(ACTIONS.iti43), pki.professionals.generalPractitioner));
  t.ok(retrievedDocuments(retrieved)[0]?.bytes?.equals(bytes));
});

void t.test('a doctor the patient did not authorise cannot provide a document, and nothing is stored', async (t) => {
  const before = await Promise.all(['DocumentReference', 'List', 'Binary'].map((type) => countResources(open, type)));
  const bytes = pdf();
  const { body, contentType } = iti41Inline(submission(patient, [{ bytes }]), new Map([['Document01', bytes]]));
  const answer = await answerOf(await postTls('repository', body, contentType, pki.professionals.cardiologist));
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRegistryError', context: /^access denied/ }]);
  t.same(await Promise.all(['DocumentReference', 'List', 'Binary'].map((type) => countResources(open, type))), before);
});

/** An ITI-57 adding MASQUE_PS to a seeded document. */
function maskRequest(name: string): string {
  const objects = structuredClone(entries[name]);
  const entry = objects.documentEntries[0];
  Object.assign(entry, { entryUuid: 'Document01', logicalId: docs[name].uuid });
  entry.confidentialityCodes.push({ code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' });
  objects.submissionSets[0].uniqueId = `${objects.submissionSets[0].uniqueId}.1`;
  objects.associations[0].previousVersion = '1';
  return iti57(objects);
}

void t.test('the author masks a document over ITI-57: the pharmacist no longer finds or retrieves it, the author still does', async (t) => {
  const answer = await answerOf(await postTls('registry', maskRequest('gpLetter'), SOAP_CONTENT_TYPE(ACTIONS.iti57), pki.professionals.generalPractitioner));
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.notOk(found(await findDocuments(pki.professionals.pharmacist)).includes(docs.gpLetter.uniqueId), 'not found by the pharmacist');
  const hidden = await retrieve(pki.professionals.pharmacist, 'gpLetter');
  t.match(errorsOf(hidden.body), [{ code: 'XDSDocumentUniqueIdError' }]);
  t.equal(hidden.attachments.size, 0);
  const mine = await retrieve(pki.professionals.generalPractitioner, 'gpLetter');
  t.ok(retrievedDocuments(mine)[0]?.bytes?.equals(docs.gpLetter.bytes), 'the author still retrieves it');
});

void t.test('a pharmacist may not mask a document they did not write', async (t) => {
  const answer = await answerOf(await postTls('registry', maskRequest('letter'), SOAP_CONTENT_TYPE(ACTIONS.iti57), pki.professionals.pharmacist));
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRegistryError', context: /^access denied/ }]);
  t.ok(found(await findDocuments(pki.professionals.pharmacist)).includes(docs.letter.uniqueId), 'the letter is still visible');
});

/** An ITI-57 with `labels` replacing the seeded document's visibility labels. */
function labelRequest(name: string, labels: string[], previousVersion: string): string {
  const objects = structuredClone(entries[name]);
  const entry = objects.documentEntries[0];
  Object.assign(entry, { entryUuid: 'Document01', logicalId: docs[name].uuid });
  entry.confidentialityCodes = [...entry.confidentialityCodes.filter((c) => c.codingScheme !== '1.2.250.1.213.1.1.4.13'), ...labels.map((code) => ({ code, codingScheme: '1.2.250.1.213.1.1.4.13' }))];
  objects.submissionSets[0].uniqueId = `${objects.submissionSets[0].uniqueId}.${previousVersion}`;
  objects.associations[0].previousVersion = previousVersion;
  return iti57(objects);
}

void t.test('the patient masks a document they did not write, then unmasks it: professionals lose it, then see it again', async (t) => {
  const token = await signIn();
  const asPatient = async (body: string) => answerOf(await (async () => {
    const r = await secure.inject({ method: 'POST', url: '/xds/registry', headers: { 'content-type': SOAP_CONTENT_TYPE(ACTIONS.iti57), authorization: `Bearer ${token}` }, payload: body });
    return { status: r.statusCode, contentType: String(r.headers['content-type']), body: r.rawPayload };
  })());
  const masked = await asPatient(labelRequest('lab', ['MASQUE_PS'], '1'));
  t.equal(statusOf(masked.body), 'Success', JSON.stringify(errorsOf(masked.body)));
  t.notOk(found(await findDocuments(pki.professionals.pharmacist)).includes(docs.lab.uniqueId), 'the pharmacist no longer finds it');
  t.notOk(found(await findDocuments(pki.professionals.generalPractitioner)).includes(docs.lab.uniqueId), 'nor the doctor');
  t.match(errorsOf((await retrieve(pki.professionals.generalPractitioner, 'lab')).body), [{ code: 'XDSDocumentUniqueIdError' }]);

  const unmasked = await asPatient(labelRequest('lab', [], '2'));
  t.equal(statusOf(unmasked.body), 'Success', JSON.stringify(errorsOf(unmasked.body)));
  t.ok(found(await findDocuments(pki.professionals.pharmacist)).includes(docs.lab.uniqueId), 'found again');
  t.ok(retrievedDocuments(await retrieve(pki.professionals.pharmacist, 'lab'))[0]?.bytes?.equals(docs.lab.bytes), 'and retrieved again');
});

void t.test('the patient may not change anything else in a document they did not write', async (t) => {
  const token = await signIn();
  const objects = structuredClone(entries.letter);
  Object.assign(objects.documentEntries[0], { entryUuid: 'Document01', logicalId: docs.letter.uuid, title: 'Autre titre' });
  objects.submissionSets[0].uniqueId = `${objects.submissionSets[0].uniqueId}.9`;
  objects.associations[0].previousVersion = '1';
  const r = await secure.inject({ method: 'POST', url: '/xds/registry', headers: { 'content-type': SOAP_CONTENT_TYPE(ACTIONS.iti57), authorization: `Bearer ${token}` }, payload: iti57(objects) });
  const answer = await answerOf({ status: r.statusCode, contentType: String(r.headers['content-type']), body: r.rawPayload });
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRegistryError', context: /^access denied/ }]);
});
