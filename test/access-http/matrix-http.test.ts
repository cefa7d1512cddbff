// The habilitation matrix end to end: for every profession of every row of the default matrix
// (profiles/habilitations.json), the "other professions" row, establishments' administrative
// staff, and the actors who see nothing (occupational physician, insurer's medical adviser),
// a real server over mutual TLS with real certificates answers FHIR read, FHIR search, XDS
// ITI-18 and ITI-43 with exactly what the matrix opens. The expectations are computed here from
// the raw JSON files by a few lines independent of the engine, over a set of documents (one per
// class and per type any cell names, plus one type no cell names) and structured resources.
// One server per store, the dossier loaded once through a second app with access control off.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestPki, G15_PROFESSIONS, issueProfessionalCertificate, signAssertion, TEST_ESTABLISHMENT, type Issued, type TestPki } from '../../src/identity/index.ts';
import { openTestStore, testStoreKind } from '../support/store.ts';
import { allCells, cellOpens, documentClasses, raw, structuredClass, typeScheme, typesOfClass, type RawCells } from './raw-matrix.ts';
import { ACTIONS, cxOf, INS_TEST_AUTHORITY, iti41Inline, newIns, pdf, REPOSITORY, submission } from '../ihe-http/builders.ts';
import { answerOf, createPatient, errorsOf, extrinsicObjects, post, QUERY, registryPackages, retrievedDocuments, retrieveRequest, SOAP_CONTENT_TYPE, statusOf, storedQuery } from '../ihe-http/support.ts';
import type { Answer } from '../ihe-http/support.ts';

// Hundreds of requests over TLS, on a machine running other test files too.
t.setTimeout(1_200_000);

/** The document types worth loading: per class, those some cell names, and one no cell names. */
function documentTypes(): { classCode: string; typeCode: string }[] {
  return documentClasses.flatMap((c) => {
    const known = typesOfClass(c);
    const named = [...new Set(allCells.flatMap((cells) => (typeof cells[c] === 'object' ? (cells[c] as { types: string[] }).types : [])))];
    const unnamed = known.find((type) => !named.includes(type) && /^[\d.]+$/.test(typeScheme.get(type) ?? ''));
    return [...named, ...(unnamed ? [unnamed] : [])].map((typeCode) => ({ classCode: c, typeCode }));
  });
}

// ---- who asks ---------------------------------------------------------------------------------------

interface Asker {
  label: string;
  /** The cells the matrix gives them, or 'nothing' for actors refused every dossier. */
  cells: RawCells | 'nothing';
  client: Issued;
  headers: Record<string, string>;
  /** The id the patient's authorisation names. */
  id: string;
  /** Another profession of a row already asked for: searched with, not read with one by one (time). */
  rowMate?: boolean;
}

const ins = newIns();
let pki: TestPki;
let askers: Asker[] = [];

async function professionalAskers(): Promise<Asker[]> {
  const key = pki.professionals.generalPractitioner.key;
  const specs: { label: string; cells: RawCells; profession: string; specialty?: string; pharmacistSection?: string; rowMate?: boolean }[] = [];
  for (const row of raw.professions) {
    row.professions.forEach((profession, i) => specs.push({
      label: `${row.label} [${profession}]`, cells: row.read, profession, specialty: row.specialties?.[0], pharmacistSection: row.pharmacistSections?.[0], ...(i > 0 ? { rowMate: true } : {}),
    }));
  }
  const listed = new Set(raw.professions.flatMap((r) => r.professions));
  const other = Object.keys(G15_PROFESSIONS).find((code) => !listed.has(code));
  if (other) specs.push({ label: `${raw.otherProfessions.label} [${other}]`, cells: raw.otherProfessions.read, profession: other });
  return Promise.all(specs.map(async (spec, i) => {
    const rpps = `9971${String(i).padStart(7, '0')}`;
    const client = await issueProfessionalCertificate(pki.ca, {
      profession: spec.profession, rpps, key,
      ...(spec.specialty ? { specialty: spec.specialty } : {}), ...(spec.pharmacistSection ? { pharmacistSection: spec.pharmacistSection } : {}),
    });
    return { label: spec.label, cells: spec.cells, client, headers: {}, id: rpps, ...(spec.rowMate ? { rowMate: true } : {}) };
  }));
}

/** Administrative staff come through their establishment's certificate and its signed assertion. */
function administrativeStaff(): Asker {
  const cells = raw.actors['administrative-staff'].read;
  const now = Math.floor(Date.now() / 1000);
  // Long enough for the whole run; the engine allows at most an hour.
  const assertion = signAssertion(
    { iss: TEST_ESTABLISHMENT.structureId, aud: 'urn:carnet', iat: now, exp: now + 3000, sub: 'SEC0001', role: 'SECRETARIAT_MEDICAL', purpose_of_use: 'normal', resource_id: cxOf(ins) },
    pki.establishment.key.privateKey,
  );
  return { label: 'administrative staff', cells: typeof cells === 'object' ? cells : {}, client: pki.establishment, headers: { 'x-carnet-assertion': assertion }, id: 'SEC0001' };
}

// ---- the server and the dossier ---------------------------------------------------------------------

let secure: FastifyInstance;
let open: FastifyInstance;
let port: number;
let patientId: string;
let submissionSetId: string;
let cleanup: () => Promise<void>;
const agents = new Map<Issued, Agent>();

interface Loaded {
  /** FHIR type and id. */
  type: string;
  id: string;
  classCode?: string;
  typeCode?: string;
  /** Documents only: XDS uniqueId and bytes. */
  uniqueId?: string;
  bytes?: Buffer;
}
const documents: Loaded[] = [];
const structured: Loaded[] = [];

function authorisation(rppsOrId: string): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'urn:carnet:fhir:CodeSystem:dossier-control', code: 'authorise' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: '2024-05-01T09:00:00Z',
    performer: [{ reference: `Patient/${patientId}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: /^\d{11}$/.test(rppsOrId) ? `8${rppsOrId}` : rppsOrId } } }],
    },
  };
}

/** Structured resources of the dossier: one per kind the matrix classes, some refined by category. */
function structuredResources(): { resource: Record<string, unknown>; code?: string }[] {
  const patient = { reference: `Patient/${patientId}` };
  const cc = (system: string, code: string) => ({ coding: [{ system, code }] });
  const observation = (category: string | undefined, code: string) => ({
    resourceType: 'Observation', status: 'final', subject: patient, code: cc('http://loinc.org', code),
    ...(category ? { category: [cc('http://terminology.hl7.org/CodeSystem/observation-category', category)] } : {}),
  });
  return [
    { resource: { resourceType: 'AllergyIntolerance', patient, clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active'), code: { text: 'Pénicilline' } } },
    { resource: { resourceType: 'Condition', subject: patient, clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active'), code: { text: 'Asthme' } } },
    { resource: { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: patient, medicationCodeableConcept: { text: 'Amoxicilline' } } },
    { resource: { resourceType: 'MedicationDispense', status: 'completed', subject: patient, medicationCodeableConcept: { text: 'Amoxicilline' } } },
    { resource: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: patient } },
    { resource: { resourceType: 'MedicationStatement', status: 'active', subject: patient, medicationCodeableConcept: { text: 'Ventoline' } } },
    { resource: { resourceType: 'Immunization', status: 'completed', patient, vaccineCode: { text: 'DTP' }, occurrenceDateTime: '2020-01-01' } },
    { resource: observation('laboratory', '2339-0'), code: 'laboratory' },
    { resource: observation('imaging', '24627-2'), code: 'imaging' },
    { resource: observation('vital-signs', '8867-4'), code: 'vital-signs' },
    { resource: observation(undefined, '72166-2') },
    { resource: { resourceType: 'DiagnosticReport', status: 'final', subject: patient, code: { text: 'IRM' }, category: [cc('http://terminology.hl7.org/CodeSystem/v2-0074', 'RAD')] }, code: 'RAD' },
    { resource: { resourceType: 'ImagingStudy', status: 'available', subject: patient } },
    { resource: { resourceType: 'Procedure', status: 'completed', subject: patient, code: { text: 'Appendicectomie' } } },
  ];
}

async function seed(): Promise<void> {
  patientId = await createPatient(open, INS_TEST_AUTHORITY, ins);
  structured.push({ type: 'Patient', id: patientId, ...structuredClass('Patient') });
  for (const asker of askers) {
    const r = await open.inject({ method: 'POST', url: '/fhir/Consent', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(authorisation(asker.id)) });
    if (r.statusCode !== 201) throw new Error(`consent: ${r.statusCode} ${r.body}`);
  }
  // Every document in one ITI-41 submission, so that XDS and FHIR see the same documents.
  const kinds = documentTypes();
  const files = kinds.map(() => pdf());
  const objects = submission(cxOf(ins), kinds.map((k, i) => ({ bytes: files[i], options: { classCode: k.classCode, typeCode: k.typeCode } })));
  for (const { typeCode } of objects.documentEntries) if (typeCode) typeCode.codingScheme = typeScheme.get(typeCode.code) ?? typeCode.codingScheme;
  const { body, contentType } = iti41Inline(objects, new Map(objects.documentEntries.map((e, i) => [e.entryUuid, files[i]])));
  const answer = await answerOf(await post(open, 'repository', body, contentType));
  if (statusOf(answer.body) !== 'Success') throw new Error(`ITI-41: ${JSON.stringify(errorsOf(answer.body))}`);
  const stored = JSON.parse((await open.inject({ method: 'GET', url: `/fhir/DocumentReference?patient=${patientId}&_count=200` })).body) as { entry?: { resource: { id: string; masterIdentifier?: { value?: string } } }[] };
  for (const [i, entry] of objects.documentEntries.entries()) {
    const uniqueId = entry.uniqueId as string;
    const found = stored.entry?.find((e) => e.resource.masterIdentifier?.value?.replace(/^urn:oid:/, '') === uniqueId);
    if (!found) throw new Error(`document ${uniqueId} not found over FHIR`);
    documents.push({ type: 'DocumentReference', id: found.resource.id, classCode: kinds[i].classCode, typeCode: kinds[i].typeCode, uniqueId, bytes: files[i] });
  }
  // The submission set that carried them is a List, of the class the matrix gives lists.
  const lists = JSON.parse((await open.inject({ method: 'GET', url: `/fhir/List?patient=${patientId}` })).body) as { entry?: { resource: { id: string } }[] };
  if (lists.entry?.length !== 1) throw new Error(`expected one submission set, got ${lists.entry?.length}`);
  submissionSetId = lists.entry[0].resource.id;
  structured.push({ type: 'List', id: submissionSetId, ...structuredClass('List') });
  // Only the types this server serves (its CapabilityStatement says which).
  const capability = JSON.parse((await open.inject({ method: 'GET', url: '/fhir/metadata' })).body) as { rest: { resource: { type: string }[] }[] };
  const served = new Set(capability.rest[0].resource.map((r) => r.type));
  for (const { resource, code } of structuredResources().filter((s) => served.has(s.resource.resourceType as string))) {
    const r = await open.inject({ method: 'POST', url: `/fhir/${resource.resourceType as string}`, headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(resource) });
    if (r.statusCode !== 201) throw new Error(`seed ${resource.resourceType as string}: ${r.statusCode} ${r.body}`);
    structured.push({ type: resource.resourceType as string, id: JSON.parse(r.body).id, ...structuredClass(resource.resourceType as string, code) });
  }
}

t.before(async () => {
  pki = await createTestPki();
  askers = [...(await professionalAskers()), administrativeStaff()];
  const opened = await openTestStore();
  const dir = mkdtempSync(join(tmpdir(), 'carnet-matrix-http-'));
  const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'ca.crt'), crl: join(dir, 'crl.pem') };
  writeFileSync(files.cert, pki.server.certPem);
  writeFileSync(files.key, pki.server.keyPem);
  writeFileSync(files.ca, pki.ca.certPem);
  writeFileSync(files.crl, pki.crlPem);
  const base = { DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', XDS_REPOSITORY_UNIQUE_ID: REPOSITORY };
  secure = buildApp({ config: loadConfig({ ...base, TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, TLS_CA_FILE: files.ca, TLS_CRL_FILE: files.crl }), store: opened.store });
  open = buildApp({ config: loadConfig({ ...base, ACCESS_CONTROL: 'off' }), store: opened.store });
  await secure.listen({ port: 0, host: '127.0.0.1' });
  await open.ready();
  port = (secure.server.address() as AddressInfo).port;
  cleanup = async () => {
    for (const agent of agents.values()) agent.destroy();
    await secure.close();
    await open.close();
    await opened.cleanup();
  };
  await seed();
  // Those who see nothing are authorised too: their refusal must come from who they are.
  for (const [label, client] of [['occupational physician', pki.professionals.occupationalPhysician], ["insurer's medical adviser", pki.professionals.insurerAdviser]] as const) {
    const id = label === 'occupational physician' ? '99700000009' : '99700000010';
    const r = await open.inject({ method: 'POST', url: '/fhir/Consent', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(authorisation(id)) });
    if (r.statusCode !== 201) throw new Error(`consent: ${r.statusCode}`);
    askers.push({ label, cells: 'nothing', client, headers: {}, id });
  }
});
t.teardown(() => cleanup());

// ---- requests over mutual TLS --------------------------------------------------------------------------

/** One keep-alive agent per certificate: a TLS handshake per asker, not per request. */
function agentOf(client: Issued): Agent {
  let agent = agents.get(client);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 2, ca: pki.ca.certPem, cert: client.certPem, key: client.keyPem });
    agents.set(client, agent);
  }
  return agent;
}

function call(asker: Asker, method: 'GET' | 'POST', path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method, agent: agentOf(asker.client), headers: { ...asker.headers, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function getJson(asker: Asker, path: string): Promise<{ status: number; body: any }> {
  const r = await call(asker, 'GET', path, undefined, { accept: 'application/fhir+json' });
  return { status: r.status, body: JSON.parse(r.body.toString('utf8')) };
}

async function xds(asker: Asker, endpoint: 'registry' | 'repository', body: string, action: string): Promise<Answer> {
  return answerOf(await call(asker, 'POST', `/xds/${endpoint}`, body, { 'content-type': SOAP_CONTENT_TYPE(action) }));
}

/**
 * How much of the table each store runs. SQLite: all of it. The test FerretDB (SQLite backend,
 * one writer per database) answers an audited request in seconds on a busy machine, so there
 * each asker reads one resource in 16 (a different slice each, so that every resource is read
 * by someone), searches documents plus one other type in turn, and retrieves one document in 4
 * (a slice of its own); ITI-18 stays whole. The decisions are the store's only through the dossier facts it loads and the constraint it
 * compiles, which these still exercise for every asker.
 */
const SAMPLE = testStoreKind() === 'mongo' ? { reads: 16, retrieves: 4, searches: 'rotate' as const } : { reads: 1, retrieves: 1, searches: 'all' as const };

/**
 * How many requests to have in flight: a few on SQLite; one on the test FerretDB, whose SQLite
 * backend has one writer per database, so concurrent audited requests only wait on each other.
 */
const WIDTH = testStoreKind() === 'mongo' ? 1 : 4;

/** Runs `work` on every item, `width` at a time (the server and the other test files share 2 cores). */
async function each<T, R>(items: T[], work: (item: T, index: number) => Promise<R>, width = WIDTH): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  }));
  return out;
}

const sees = (asker: Asker, item: Loaded): boolean => asker.cells !== 'nothing' && cellOpens(asker.cells, item.classCode, item.typeCode);
const name = (item: Loaded) => `${item.type} ${item.classCode ?? '-'}/${item.typeCode ?? '-'}`;
const matchIds = (bundle: any): string[] => (bundle.entry ?? []).filter((e: any) => e.search?.mode === 'match').map((e: any) => e.resource.id).sort();

// ---- the tests -----------------------------------------------------------------------------------------

void t.test('the dossier holds a document of every class and a structured resource of most', async (t) => {
  t.same([...new Set(documents.map((d) => d.classCode))].sort(), [...documentClasses].sort(), 'every document class of the matrix has documents');
  t.ok(documents.length > raw.classes.length, 'and type-limited cells have their types');
  t.ok(askers.length >= raw.professions.length + 3);
});

void t.test('FHIR read of each resource answers 200 exactly where the matrix opens it, else 404 like an unknown id', async (t) => {
  const readers = askers.filter((a) => !a.rowMate);
  const all = [...documents, ...structured];
  const results = await each(readers, async (asker, n) => {
    // The whole table on SQLite; a rotating sample on MongoDB (see SAMPLE).
    const items = all.filter((_, k) => (k + n) % SAMPLE.reads === 0);
    const statuses = await each(items, async (item) => (await getJson(asker, `/fhir/${item.type}/${item.id}`)).status);
    return items.flatMap((item, i) => {
      const expected = sees(asker, item) ? 200 : 404;
      return statuses[i] === expected ? [] : [`${name(item)}: ${statuses[i]} instead of ${expected}`];
    });
  }, Math.min(2, WIDTH));
  readers.forEach((asker, i) => t.same(results[i], [], asker.label));
});

void t.test('FHIR search of each type returns exactly the resources the matrix opens, and counts only those', async (t) => {
  const types = [...new Set([...documents, ...structured].map((i) => i.type))];
  const others = types.filter((type) => type !== 'DocumentReference');
  const results = await each(askers, async (asker, n) => {
    const wrong: string[] = [];
    const mine = SAMPLE.searches === 'all' ? types : ['DocumentReference', others[n % others.length]];
    await each(mine, async (type) => {
      const criteria = type === 'Patient' ? `_id=${patientId}` : `patient=${patientId}`;
      const r = await getJson(asker, `/fhir/${type}?${criteria}&_count=200&_total=accurate`);
      if (asker.cells === 'nothing') {
        if (r.status !== 403 || r.body.resourceType !== 'OperationOutcome') wrong.push(`${type}: ${r.status} instead of 403`);
        return;
      }
      const expected = [...documents, ...structured].filter((i) => i.type === type && sees(asker, i)).map((i) => i.id).sort();
      if (r.status !== 200) wrong.push(`${type}: ${r.status}`);
      else if (JSON.stringify(matchIds(r.body)) !== JSON.stringify(expected) || r.body.total !== expected.length) {
        wrong.push(`${type}: got ${matchIds(r.body).length} (total ${r.body.total}), expected ${expected.length}`);
      }
    });
    return wrong;
  }, Math.min(2, WIDTH));
  askers.forEach((asker, i) => t.same(results[i], [], asker.label));
});

void t.test('XDS FindDocuments (ITI-18) returns exactly the documents the matrix opens', async (t) => {
  const query = storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: [`'${cxOf(ins)}'`],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  });
  for (const asker of askers) {
    const answer = await xds(asker, 'registry', query, 'urn:ihe:iti:2007:RegistryStoredQuery');
    const found = extrinsicObjects(answer).map((e) => e.uniqueId).sort();
    if (asker.cells === 'nothing') {
      t.equal(statusOf(answer.body), 'Failure', `${asker.label}: refused`);
      t.match(errorsOf(answer.body), [{ code: 'XDSRegistryError', context: /^access denied/ }], asker.label);
      t.same(found, [], `${asker.label}: no document`);
      continue;
    }
    const expected = documents.filter((d) => sees(asker, d)).map((d) => d.uniqueId).sort();
    t.same(found, expected, asker.label);
  }
});

void t.test('XDS retrieve (ITI-43) hands out the bytes of exactly the documents the matrix opens', async (t) => {
  for (const [n, asker] of askers.filter((a) => !a.rowMate).entries()) {
    const asked = documents.filter((_, k) => (k + n) % SAMPLE.retrieves === 0);
    const answer = await xds(asker, 'repository', retrieveRequest(REPOSITORY, asked.map((d) => d.uniqueId as string)), ACTIONS.iti43);
    const retrieved = retrievedDocuments(answer);
    const expected = asked.filter((d) => sees(asker, d));
    t.same(retrieved.map((r) => r.uniqueId).sort(), expected.map((d) => d.uniqueId).sort(), asker.label);
    t.ok(retrieved.every((r) => r.bytes?.equals(documents.find((d) => d.uniqueId === r.uniqueId)?.bytes as Buffer)), `${asker.label}: the right bytes`);
    t.equal(answer.attachments.size, expected.length, `${asker.label}: no other attachment`);
  }
});

void t.test('XDS FindSubmissionSets (ITI-18) returns the submission set exactly to those the matrix shows lists to', async (t) => {
  const query = storedQuery(QUERY.FindSubmissionSets, {
    $XDSSubmissionSetPatientId: [`'${cxOf(ins)}'`],
    $XDSSubmissionSetStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
  });
  const list = structured.find((s) => s.id === submissionSetId) as Loaded;
  for (const asker of askers) {
    const answer = await xds(asker, 'registry', query, 'urn:ihe:iti:2007:RegistryStoredQuery');
    if (asker.cells === 'nothing') {
      t.equal(statusOf(answer.body), 'Failure', `${asker.label}: refused`);
      continue;
    }
    t.equal(registryPackages(answer).length, sees(asker, list) ? 1 : 0, asker.label);
  }
});
