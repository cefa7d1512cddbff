// The access engine on the FHIR API, end to end over real mutual TLS with the test PKI: who is
// let in, what each profession sees, and that searches, totals, includes and _has never reveal
// a hidden document. Data is seeded through a second app on the same store with access off.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AuditTrail } from '../../src/audit/index.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestPki, type Issued, type TestPki } from '../../src/identity/index.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';
import { submissionList } from './lists.ts';

let pki: TestPki;
let store: Store;
let secure: FastifyInstance;
let open: FastifyInstance;
let port: number;
let cleanup: () => Promise<void>;

const PATIENT = 'p-access-1';
const OTHER = 'p-access-2';
const THIRD = 'p-access-3';
const ids = { letter: 'doc-letter', imaging: 'doc-imaging', masked: 'doc-masked', lab: 'doc-lab', otherPatientLetter: 'doc-other', replacement: 'doc-replacement', maskedThird: 'doc-masked-3' };
const lists = { byDoctor: 'list-doctor', byPharmacist: 'list-pharmacist' };
const PS = (rpps: string) => ({ identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: `8${rpps}` } });

function consent(id: string, patient: string, code: string, rpps: string, type: 'permit' | 'deny' = 'permit'): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'urn:carnet:fhir:CodeSystem:dossier-control', code }] }],
    patient: { reference: `Patient/${patient}` },
    dateTime: '2024-05-01T09:00:00Z',
    performer: [{ reference: `Patient/${patient}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type, actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: PS(rpps) }] },
  };
}

function document(id: string, patient: string, type: string, options: { masked?: boolean; author?: string } = {}): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: type }] },
    category: [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '10' }] }],
    subject: { reference: `Patient/${patient}` },
    author: [PS(options.author ?? '99700000099')],
    securityLabel: [
      { coding: [{ system: 'urn:oid:2.16.840.1.113883.5.25', code: 'N' }] },
      ...(options.masked ? [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.13', code: 'MASQUE_PS' }] }] : []),
    ],
    content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${id}` } }],
  };
}

t.before(async () => {
  pki = await createTestPki();
  const opened = await openTestStore();
  store = opened.store;
  const dir = mkdtempSync(join(tmpdir(), 'carnet-mtls-'));
  const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'ca.crt'), crl: join(dir, 'crl.pem') };
  writeFileSync(files.cert, pki.server.certPem);
  writeFileSync(files.key, pki.server.keyPem);
  writeFileSync(files.ca, pki.ca.certPem);
  writeFileSync(files.crl, pki.crlPem);
  const base = { DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent' };
  secure = buildApp({ config: loadConfig({ ...base, TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, TLS_CA_FILE: files.ca, TLS_CRL_FILE: files.crl }), store });
  open = buildApp({ config: loadConfig({ ...base, ACCESS_CONTROL: 'off' }), store });
  await secure.listen({ port: 0, host: '127.0.0.1' });
  port = (secure.server.address() as AddressInfo).port;
  cleanup = async () => {
    await secure.close();
    await open.close();
    await opened.cleanup();
  };
  const gp = pki.professionals.generalPractitioner;
  const seed = [
    { resourceType: 'Patient', id: PATIENT, name: [{ family: 'ACCES' }], birthDate: '1970-01-01' },
    { resourceType: 'Patient', id: OTHER, name: [{ family: 'AUTRE' }], birthDate: '1980-01-01' },
    consent('c-gp', PATIENT, 'authorise', '99700000001'),
    consent('c-pharma', PATIENT, 'authorise', '99700000003'),
    consent('c-gp-other', OTHER, 'authorise', '99700000001'),
    document(ids.letter, PATIENT, '11490-0'),
    document(ids.imaging, PATIENT, '18748-4'),
    document(ids.masked, PATIENT, '11490-0', { masked: true }),
    document(ids.lab, PATIENT, '11502-2'),
    document(ids.otherPatientLetter, OTHER, '11490-0'),
    submissionList(lists.byDoctor, PATIENT, '99700000001', [ids.letter, ids.masked]),
    submissionList(lists.byPharmacist, PATIENT, '99700000003', [ids.letter, ids.imaging]),
    { resourceType: 'Patient', id: THIRD, name: [{ family: 'TROIS' }], birthDate: '1975-01-01' },
    consent('c-gp-third', THIRD, 'authorise', '99700000001'),
    document(ids.maskedThird, THIRD, '11490-0', { masked: true }),
    { ...document(ids.replacement, THIRD, '11490-0'), relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${ids.maskedThird}` } }] },
  ];
  void gp;
  for (const r of seed) {
    const res = await open.inject({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(r) });
    if (res.statusCode >= 300) throw new Error(`seed ${r.resourceType}/${r.id}: ${res.statusCode} ${res.body}`);
  }
});
t.teardown(() => cleanup());

/** GET over mutual TLS with a client certificate (or none). */
function get(path: string, client: Issued | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return call('GET', path, client, headers);
}

/** A request over mutual TLS; a body is sent as FHIR JSON. */
function call(method: string, path: string, client: Issued | undefined, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const sent = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      {
        host: '127.0.0.1', port, path, method, ca: pki.ca.certPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        headers: { ...headers, ...(sent ? { 'content-type': 'application/fhir+json' } : {}) },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          let parsed: unknown = body;
          try {
            parsed = JSON.parse(body);
          } catch {
            // raw
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(sent);
  });
}

const matchIds = (bundle: any): string[] => (bundle.entry ?? []).filter((e: any) => e.search?.mode === 'match').map((e: any) => e.resource.id).sort();

t.test('no client certificate gets 401 with an OperationOutcome', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}`, undefined);
  t.equal(r.status, 401);
  t.equal(r.body.resourceType, 'OperationOutcome');
});

t.test('expired, revoked and foreign certificates are refused', async (t) => {
  for (const [name, cert] of [['expired', pki.expired], ['revoked', pki.revoked], ['foreign', pki.foreign]] as const) {
    const r = await get(`/fhir/DocumentReference?patient=${PATIENT}`, cert);
    t.equal(r.status, 401, `${name} certificate`);
  }
});

t.test('the authorised doctor sees every document except the masked one', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}&_total=accurate`, pki.professionals.generalPractitioner);
  t.equal(r.status, 200);
  t.same(matchIds(r.body), [ids.imaging, ids.lab, ids.letter].sort());
  t.equal(r.body.total, 3, 'the total counts only what the doctor sees');
});

t.test('the authorised pharmacist sees only the types the matrix gives pharmacists', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}&_total=accurate`, pki.professionals.pharmacist);
  t.equal(r.status, 200);
  t.same(matchIds(r.body), [ids.lab, ids.letter].sort());
  t.equal(r.body.total, 2);
});

t.test('a hidden document read directly answers 404, like one that does not exist', async (t) => {
  const hidden = await get(`/fhir/DocumentReference/${ids.imaging}`, pki.professionals.pharmacist);
  const missing = await get(`/fhir/DocumentReference/no-such-doc`, pki.professionals.pharmacist);
  t.equal(hidden.status, 404);
  t.equal(missing.status, 404);
  t.equal(hidden.body.issue[0].code, missing.body.issue[0].code);
  t.notMatch(JSON.stringify(hidden.body), /18748|Compte|class/i, 'nothing about the hidden document is told');
});

t.test('a doctor the patient did not authorise is refused the dossier with 403', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}`, pki.professionals.cardiologist);
  t.equal(r.status, 403);
});

t.test('a professional must name the dossier searched', async (t) => {
  const r = await get(`/fhir/DocumentReference?type=11490-0`, pki.professionals.generalPractitioner);
  t.equal(r.status, 403);
});

t.test('_revinclude brings only the documents the actor may see', async (t) => {
  const r = await get(`/fhir/Patient?_id=${PATIENT}&_revinclude=DocumentReference:subject`, pki.professionals.pharmacist);
  t.equal(r.status, 200);
  const included = r.body.entry.filter((e: any) => e.search.mode === 'include').map((e: any) => e.resource.id).sort();
  t.same(included, [ids.lab, ids.letter].sort());
});

t.test('_has cannot reveal a document the actor may not see', async (t) => {
  const hiddenType = await get(`/fhir/Patient?_id=${PATIENT}&_has:DocumentReference:subject:type=18748-4`, pki.professionals.pharmacist);
  t.equal(hiddenType.status, 200);
  t.same(matchIds(hiddenType.body), [], 'the imaging report the pharmacist may not see does not make the patient match');
  const visibleType = await get(`/fhir/Patient?_id=${PATIENT}&_has:DocumentReference:subject:type=11490-0`, pki.professionals.pharmacist);
  t.same(matchIds(visibleType.body), [PATIENT]);
});

t.test('a chained search stays inside what the actor may see', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}&patient.name=acces`, pki.professionals.pharmacist);
  t.same(matchIds(r.body), [ids.lab, ids.letter].sort());
});

t.test('an occupational physician sees nothing, whatever the patient allowed', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}`, pki.professionals.occupationalPhysician);
  t.equal(r.status, 403);
});

t.test('break-the-glass lets an unauthorised doctor in, masked documents included', async (t) => {
  const r = await get(`/fhir/DocumentReference?patient=${PATIENT}`, pki.professionals.cardiologist, {
    'x-carnet-access-mode': 'break-the-glass',
    'x-carnet-access-reason': 'patient%20unconscious',
  });
  t.equal(r.status, 200);
  t.same(matchIds(r.body), [ids.imaging, ids.lab, ids.letter, ids.masked].sort());
});

t.test("a List read by the doctor leaves out the masked document's entry", async (t) => {
  const r = await get(`/fhir/List/${lists.byDoctor}`, pki.professionals.generalPractitioner);
  t.equal(r.status, 200);
  t.same(r.body.entry.map((e: any) => e.item.reference), [`DocumentReference/${ids.letter}`]);
  t.notMatch(JSON.stringify(r.body), ids.masked, "the masked document's id is not told");
});

t.test('a List found by search or as an include leaves out the members the reader may not see', async (t) => {
  const searched = await get(`/fhir/List?patient=${PATIENT}`, pki.professionals.generalPractitioner);
  t.equal(searched.status, 200);
  t.notMatch(JSON.stringify(searched.body), ids.masked);
  const included = await get(`/fhir/DocumentReference?patient=${PATIENT}&_revinclude=List:item`, pki.professionals.pharmacist);
  t.equal(included.status, 200);
  const own = included.body.entry.find((e: any) => e.resource.id === lists.byPharmacist);
  t.same(own?.resource.entry.map((e: any) => e.item.reference), [`DocumentReference/${ids.letter}`]);
  t.notMatch(JSON.stringify(included.body), ids.imaging, 'the imaging report the pharmacist may not see is named nowhere');
});

t.test('a document replacing a masked one does not name it to the doctor', async (t) => {
  const r = await get(`/fhir/DocumentReference/${ids.replacement}`, pki.professionals.generalPractitioner);
  t.equal(r.status, 200);
  t.equal(r.body.relatesTo, undefined);
  const btg = await get(`/fhir/DocumentReference/${ids.replacement}`, pki.professionals.cardiologist, {
    'x-carnet-access-mode': 'break-the-glass',
    'x-carnet-access-reason': 'patient%20unconscious',
  });
  t.same(btg.body.relatesTo?.map((x: any) => x.target.reference), [`DocumentReference/${ids.maskedThird}`], 'break-the-glass sees the masked document, and so its id');
});

t.test('a List written back without the members its author was not shown keeps them', async (t) => {
  const shown = await get(`/fhir/List/${lists.byPharmacist}`, pki.professionals.pharmacist);
  const changed = { ...shown.body, entry: [...shown.body.entry, { item: { reference: `DocumentReference/${ids.lab}` } }] };
  const put = await call('PUT', `/fhir/List/${lists.byPharmacist}`, pki.professionals.pharmacist, { prefer: 'return=representation' }, changed);
  t.equal(put.status, 200, JSON.stringify(put.body).slice(0, 300));
  t.notMatch(JSON.stringify(put.body), ids.imaging, 'the answer does not name the hidden member either');
  const stored = await open.inject({ method: 'GET', url: `/fhir/List/${lists.byPharmacist}` });
  t.same(JSON.parse(stored.body).entry.map((e: any) => e.item.reference).sort(), [ids.imaging, ids.lab, ids.letter].map((id) => `DocumentReference/${id}`).sort());
});

t.test('history of a hidden document is refused like the document', async (t) => {
  const r = await get(`/fhir/DocumentReference/${ids.imaging}/_history`, pki.professionals.pharmacist);
  t.equal(r.status, 404);
});

t.test('the CapabilityStatement needs no identity', async (t) => {
  const r = await get('/fhir/metadata', undefined);
  t.equal(r.status, 200);
});

t.test("every read and search, refusals included, is in the patient's access history", async (t) => {
  const trail = new AuditTrail(store, { settleMs: 0 });
  await get(`/fhir/DocumentReference/${ids.letter}`, pki.professionals.generalPractitioner);
  await get(`/fhir/DocumentReference/${ids.imaging}`, pki.professionals.pharmacist);
  await get(`/fhir/DocumentReference?patient=${PATIENT}`, pki.professionals.cardiologist);
  const { events } = await trail.search(PATIENT, { count: 200 });
  const has = (rpps: string, outcome: string, subtype?: string) =>
    events.some((e: any) => e.outcome === outcome && JSON.stringify(e.agent).includes(`8${rpps}`) && (!subtype || JSON.stringify(e.subtype ?? e.type).includes(subtype)));
  t.ok(has('99700000001', '0', 'read'), 'the doctor reading the letter');
  t.ok(has('99700000003', '4'), "the pharmacist's refused read");
  t.ok(has('99700000002', '4'), "the unauthorised cardiologist's refused search");
  t.notMatch(JSON.stringify(events), /ACCES|patient unconscious/, 'no names or free text in the trail');
});

t.test('the audit trail verifies after all these accesses', async (t) => {
  const trail = new AuditTrail(store, { settleMs: 0 });
  await trail.seal();
  const result = await trail.verify();
  t.equal(result.ok, true, JSON.stringify(result).slice(0, 300));
  t.ok(result.entries > 5);
});
