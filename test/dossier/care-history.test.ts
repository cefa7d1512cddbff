// $import-care-history over mutual TLS with the insurer feed's certificate: NDJSON or Bundle,
// idempotent per claim, claims naming the patient by INS; the feed writes and never reads.
import t from 'tap';
import { createParams, INS_TEST, newIns, out, secureApp, type SecureApp } from './support.ts';

let api: SecureApp;
let ins: string;
let patientId: string;
const CLAIMS = 'urn:oid:1.2.250.1.213.1.9.1';

function claim(id: string, amount = 26.5, options: { ins?: string; identifier?: boolean } = {}): Record<string, unknown> {
  return {
    resourceType: 'ExplanationOfBenefit',
    status: 'active',
    ...(options.identifier === false ? {} : { identifier: [{ system: CLAIMS, value: id }] }),
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { identifier: { system: INS_TEST, value: options.ins ?? ins } },
    created: '2024-11-02',
    insurer: { display: 'Assurance Maladie' },
    provider: { display: 'Cabinet du Dr Généraliste' },
    outcome: 'complete',
    insurance: [{ focal: true, coverage: { display: 'Régime général' } }],
    item: [{ sequence: 1, productOrService: { text: 'Consultation' }, servicedDate: '2024-11-02', net: { value: amount, currency: 'EUR' } }],
  };
}

const ndjson = (...claims: Record<string, unknown>[]) => `${claims.map((c) => JSON.stringify(c)).join('\n')}\n`;

function importAs(cert: typeof api.pki.careHistoryFeed, body: string | Record<string, unknown>, contentType = 'application/fhir+ndjson') {
  return api.call('POST', '/fhir/$import-care-history', { cert, body, contentType });
}

const counts = (r: { body: Record<string, any> }) => ({ created: out(r.body, 'created'), updated: out(r.body, 'updated'), unchanged: out(r.body, 'unchanged'), rejected: out(r.body, 'rejected') });

t.before(async () => {
  api = await secureApp();
  ins = newIns();
  const created = await api.open.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins }));
  patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
});
t.teardown(() => api.close());

t.test('the insurer feed imports claims as NDJSON into the dossier of the INS they name', async (t) => {
  const r = await importAs(api.pki.careHistoryFeed, ndjson(claim('c-1'), claim('c-2')));
  t.equal(r.status, 200);
  t.same(counts(r), { created: 2, updated: 0, unchanged: 0, rejected: 0 });
  const stored = await api.open.call('GET', `/fhir/ExplanationOfBenefit?patient=${patientId}`);
  t.equal(stored.body.entry.length, 2);
  const eob = stored.body.entry[0].resource;
  t.equal(eob.patient.reference, `Patient/${patientId}`);
  t.ok(eob.meta.security.some((s: any) => s.code === 'PAYAST'), 'shown as coming from the insurer');
});

t.test('importing the same claims again changes nothing', async (t) => {
  const r = await importAs(api.pki.careHistoryFeed, ndjson(claim('c-1'), claim('c-2')));
  t.same(counts(r), { created: 0, updated: 0, unchanged: 2, rejected: 0 });
  t.equal((await api.open.call('GET', `/fhir/ExplanationOfBenefit?patient=${patientId}`)).body.entry.length, 2);
});

t.test('a corrected claim becomes a new version of the same resource', async (t) => {
  const r = await importAs(api.pki.careHistoryFeed, ndjson(claim('c-1', 30)));
  t.same(counts(r), { created: 0, updated: 1, unchanged: 0, rejected: 0 });
  const stored = await api.open.call('GET', `/fhir/ExplanationOfBenefit?patient=${patientId}&identifier=${encodeURIComponent(`${CLAIMS}|c-1`)}`);
  t.equal(stored.body.entry.length, 1);
  t.equal(stored.body.entry[0].resource.meta.versionId, '2');
});

t.test('a Bundle of claims is imported too', async (t) => {
  const r = await importAs(api.pki.careHistoryFeed, { resourceType: 'Bundle', type: 'collection', entry: [{ resource: claim('c-3') }, { resource: claim('c-4') }] }, 'application/fhir+json');
  t.same(counts(r), { created: 2, updated: 0, unchanged: 0, rejected: 0 });
});

t.test('claims without a claim id, for an unknown patient or not valid are refused line by line', async (t) => {
  const invalid = { ...claim('c-9'), status: 'nonsense' };
  const r = await importAs(api.pki.careHistoryFeed, ndjson(claim('c-5'), claim('c-6', 1, { identifier: false }), claim('c-7', 1, { ins: newIns() }), invalid) + 'not json\n');
  t.same(counts(r), { created: 1, updated: 0, unchanged: 0, rejected: 4 });
  const issues = out(r.body, 'outcome').issue;
  t.same(issues.map((i: any) => i.expression[0]), ['line 2', 'line 3', 'line 4', 'line 5']);
  t.match(issues[1].diagnostics, /no dossier/);
});

t.test('the insurer feed reads nothing, not even what it imported', async (t) => {
  const feed = api.pki.careHistoryFeed;
  const stored = await api.open.call('GET', `/fhir/ExplanationOfBenefit?patient=${patientId}`);
  const id = stored.body.entry[0].resource.id;
  t.equal((await api.call('GET', `/fhir/ExplanationOfBenefit/${id}`, { cert: feed })).status, 404);
  t.equal((await api.call('GET', `/fhir/ExplanationOfBenefit?patient=${patientId}`, { cert: feed })).status, 403);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}`, { cert: feed })).status, 404);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}/$everything`, { cert: feed })).status, 404);
  const answer = await importAs(feed, ndjson(claim('c-1', 30)));
  t.notMatch(answer.raw, /Consultation|Généraliste|Patient\//, 'the import answer carries counts only');
});

t.test('a professional cannot import care history', async (t) => {
  const r = await importAs(api.pki.professionals.generalPractitioner, ndjson(claim('c-8')));
  t.same(counts(r), { created: 0, updated: 0, unchanged: 0, rejected: 1 });
  t.match(out(r.body, 'outcome').issue[0].diagnostics, /not allowed/);
});

t.test('claims for a closed dossier are refused', async (t) => {
  const otherIns = newIns();
  const created = await api.open.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins: otherIns }));
  const other = String(out(created.body, 'patient').reference).replace('Patient/', '');
  await api.open.call('POST', `/fhir/Patient/${other}/$close`);
  const r = await importAs(api.pki.careHistoryFeed, ndjson(claim('c-closed', 10, { ins: otherIns })));
  t.same(counts(r), { created: 0, updated: 0, unchanged: 0, rejected: 1 });
});

t.test('a request that is neither NDJSON nor a Bundle is refused', async (t) => {
  const r = await importAs(api.pki.careHistoryFeed, { resourceType: 'Patient' }, 'application/fhir+json');
  t.equal(r.status, 400);
});
