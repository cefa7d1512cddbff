// The audit trail of XDS.b calls over mutual TLS with access control on: each AuditEvent names
// the IHE transaction (ITI-41, ITI-18) with its DICOM event type, as ATNA audits XDS, and never
// looks like a FHIR RESTful interaction.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { AuditTrail } from '../../src/audit/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestPki, type TestPki } from '../../src/identity/index.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';
import { cxOf, INS_TEST_AUTHORITY, iti41Inline, newIns, pdf, REPOSITORY, submission } from './builders.ts';
import { answerOf, createPatient, errorsOf, extrinsicObjects, QUERY, SOAP_CONTENT_TYPE, statusOf, storedQuery } from './support.ts';
import { postTls } from './tls.ts';

t.setTimeout(300_000);

const GP = '99700000001';
const IHE_EVENT_TYPES = 'urn:ihe:event-type-code';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';

let pki: TestPki;
let secure: FastifyInstance;
let open: FastifyInstance;
let store: Store;
let port: number;
let patientId: string;
let cleanup: () => Promise<void>;
const ins = newIns();
const patient = cxOf(ins);

t.before(async () => {
  pki = await createTestPki();
  const opened = await openTestStore();
  store = opened.store;
  const dir = mkdtempSync(join(tmpdir(), 'carnet-xds-audit-'));
  const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'ca.crt') };
  writeFileSync(files.cert, pki.server.certPem);
  writeFileSync(files.key, pki.server.keyPem);
  writeFileSync(files.ca, pki.ca.certPem);
  const base = { DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', XDS_REPOSITORY_UNIQUE_ID: REPOSITORY };
  secure = buildApp({ config: loadConfig({ ...base, TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, TLS_CA_FILE: files.ca }), store });
  open = buildApp({ config: loadConfig({ ...base, ACCESS_CONTROL: 'off' }), store });
  await secure.listen({ port: 0, host: '127.0.0.1' });
  await open.ready();
  port = (secure.server.address() as AddressInfo).port;
  cleanup = async () => {
    await secure.close();
    await open.close();
    await opened.cleanup();
  };
  // The patient (identity feed) and their authorisation of the doctor, set up without access control.
  patientId = await createPatient(open, INS_TEST_AUTHORITY, ins);
  const consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'urn:carnet:fhir:CodeSystem:dossier-control', code: 'authorise' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: '2024-05-01T09:00:00Z',
    performer: [{ reference: `Patient/${patientId}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: `8${GP}` } } }] },
  };
  const r = await open.inject({ method: 'POST', url: '/fhir/Consent', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(consent) });
  if (r.statusCode !== 201) throw new Error(`consent: ${r.statusCode} ${r.body}`);
});
t.teardown(() => cleanup());

/** The doctor's events in the patient's trail (seeding went through the open app, which audits nothing). */
async function doctorsEvents(): Promise<AuditEvent[]> {
  const { events } = await new AuditTrail(store, { settleMs: 0 }).search(patientId, { professional: GP, count: 1000 });
  return events;
}

const transactionOf = (e: AuditEvent) => e.subtype?.find((c) => c.system === IHE_EVENT_TYPES)?.code;
const isRest = (e: AuditEvent) => e.type?.code === 'rest' || (e.subtype ?? []).some((c) => c.system === RESTFUL_INTERACTION);

void t.test('an ITI-41 over mutual TLS is audited as ITI-41 (DICOM Import), not as FHIR interactions', async (t) => {
  const bytes = pdf();
  const objects = submission(patient, [{ bytes, options: { authorRpps: GP } }]);
  const { body, contentType } = iti41Inline(objects, new Map([['Document01', bytes]]));
  const answer = await answerOf(await postTls(port, pki.ca.certPem, 'repository', body, contentType, pki.professionals.generalPractitioner));
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));

  const created = (await doctorsEvents()).filter((e) => e.action === 'C');
  t.ok(created.length >= 2, 'the DocumentReference and the SubmissionSet List are audited');
  t.ok(created.every((e) => transactionOf(e) === 'ITI-41'), JSON.stringify(created.map((e) => e.subtype)));
  t.ok(created.every((e) => e.type?.system === DICOM && e.type.code === '110107'), 'DICOM Import');
  t.notOk(created.some(isRest), 'no RESTful interaction code');
  t.ok(created.some((e) => e.entity?.some((x) => x.what?.reference?.startsWith('DocumentReference/'))), 'the document is the entity');
});

void t.test('an ITI-18 over mutual TLS is audited as ITI-18 (DICOM Query), not as a FHIR search', async (t) => {
  const query = storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: [`'${patient}'`],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  });
  const before = new Set((await doctorsEvents()).map((e) => e.id));
  const answer = await answerOf(await postTls(port, pki.ca.certPem, 'registry', query, SOAP_CONTENT_TYPE('urn:ihe:iti:2007:RegistryStoredQuery'), pki.professionals.generalPractitioner));
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.equal(extrinsicObjects(answer).length, 1);

  const events = (await doctorsEvents()).filter((e) => !before.has(e.id));
  t.ok(events.length >= 1, 'the query is audited');
  t.ok(events.every((e) => transactionOf(e) === 'ITI-18'), JSON.stringify(events.map((e) => e.subtype)));
  t.ok(events.every((e) => e.type?.system === DICOM && e.type.code === '110112'), 'DICOM Query');
  t.notOk(events.some(isRest), 'no RESTful interaction code');
});
