// $reindex: resources stored with an index that no longer matches the search parameters (here:
// none at all, as a server without those parameters would have stored them) are found by
// searches once an operator reindexes them; versions and content stay as they were; a resource
// changed meanwhile keeps the index of its newer version; only operators may run it.
import t from 'tap';
import { issueSystemCertificate } from '../../src/identity/index.ts';
import type { ResourceBody } from '../../src/store/index.ts';
import { openApp, secureApp, type OpenApp } from '../dossier/support.ts';

let api: OpenApp;
const PATIENT = 'p-reindex';

function documentReference(id: string): ResourceBody {
  return {
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11490-0' }] },
    subject: { reference: `Patient/${PATIENT}` },
    content: [{ attachment: { contentType: 'application/pdf', url: 'http://example.org/doc.pdf' } }],
  };
}

/** Stored the way an older server would have: no search keys, no sort keys. */
async function storeUnindexed(id: string): Promise<void> {
  await api.store.commit({ writes: [{ op: 'create', type: 'DocumentReference', id, resource: documentReference(id), index: [], sortKeys: {} }] });
}

const found = async (query: string): Promise<string[]> => ((await api.call('GET', `/fhir/DocumentReference?${query}`)).body.entry ?? []).map((e: any) => e.resource.id).sort();

const counts = (parameters: any): Record<string, { resources: number; reindexed: number }> =>
  Object.fromEntries((parameters.parameter ?? []).map((p: any) => {
    const part = (name: string) => p.part.find((x: any) => x.name === name);
    return [part('type').valueCode, { resources: part('resources').valueInteger, reindexed: part('reindexed').valueInteger }];
  }));

t.before(async () => {
  api = await openApp();
  const r = await api.call('PUT', `/fhir/Patient/${PATIENT}`, { resourceType: 'Patient', id: PATIENT });
  if (r.status >= 300) throw new Error(`patient: ${r.status}`);
  await storeUnindexed('stale-1');
  await storeUnindexed('stale-2');
});
t.teardown(() => api.close());

t.test('a resource stored without its index is not found by a search on its fields', async (t) => {
  t.same(await found(`patient=${PATIENT}`), []);
});

t.test('$reindex on the type indexes it, and says how many it reindexed', async (t) => {
  const r = await api.call('POST', '/fhir/DocumentReference/$reindex');
  t.equal(r.status, 200);
  t.same(counts(r.body), { DocumentReference: { resources: 2, reindexed: 2 } });
  t.same(await found(`patient=${PATIENT}&type=11490-0`), ['stale-1', 'stale-2']);
});

t.test('reindexing keeps the version and the content', async (t) => {
  const r = await api.call('GET', '/fhir/DocumentReference/stale-1');
  t.equal(r.body.meta.versionId, '1');
  t.same(r.body.type, documentReference('stale-1').type);
  t.equal((await api.call('GET', '/fhir/DocumentReference/stale-1/_history')).body.entry.length, 1, 'no new version');
});

t.test('sorting uses the recomputed sort keys', async (t) => {
  await storeUnindexed('stale-3');
  await api.call('POST', '/fhir/$reindex');
  const r = await api.call('GET', `/fhir/DocumentReference?patient=${PATIENT}&_sort=-_id`);
  t.same(r.body.entry.map((e: any) => e.resource.id), ['stale-3', 'stale-2', 'stale-1']);
});

t.test('$reindex on the server covers every writable type and leaves AuditEvent to the audit trail', async (t) => {
  const r = await api.call('POST', '/fhir/$reindex');
  const byType = counts(r.body);
  t.equal(r.status, 200);
  t.same([byType.Patient, byType.DocumentReference], [{ resources: 1, reindexed: 1 }, { resources: 3, reindexed: 3 }]);
  t.equal(byType.AuditEvent, undefined);
  t.equal((await api.call('POST', '/fhir/AuditEvent/$reindex')).status, 400);
});

t.test('an unknown type is refused with an OperationOutcome', async (t) => {
  const r = await api.call('POST', '/fhir/Spaceship/$reindex');
  t.equal(r.status, 404);
  t.equal(r.body.resourceType, 'OperationOutcome');
});

t.test('an entry whose resource moved past the version it was computed from is skipped', async (t) => {
  const updated = await api.call('PUT', '/fhir/DocumentReference/stale-1', { ...documentReference('stale-1'), status: 'superseded' });
  t.equal(updated.status, 200);
  const reindexed = await api.store.reindex([{ type: 'DocumentReference', id: 'stale-1', versionId: 1, index: [], sortKeys: {} }]);
  t.equal(reindexed, 0);
  t.same(await found(`patient=${PATIENT}&status=superseded`), ['stale-1'], 'the newer version keeps the index it was written with');
});

t.test('only operators may reindex when access control is on', async (t) => {
  const secure = await secureApp();
  t.teardown(() => secure.close());
  const refused = await secure.call('POST', '/fhir/$reindex', { cert: secure.pki.professionals.generalPractitioner });
  t.same([refused.status, refused.body.resourceType], [403, 'OperationOutcome'], 'a doctor is refused');
  const operator = await issueSystemCertificate(secure.pki.ca, { role: 'operator', id: 'ops-1' });
  const allowed = await secure.call('POST', '/fhir/DocumentReference/$reindex', { cert: operator });
  t.same([allowed.status, allowed.body.resourceType], [200, 'Parameters'], 'an operator runs it');
});
