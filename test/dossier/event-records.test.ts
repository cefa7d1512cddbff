// Dossier events become an AuditEvent and the patient's notification in the commit of the change
// they tell about: first the pure mapping, then the real app on the pass's store.
import t from 'tap';
import type { AuditEvent } from '@medplum/fhirtypes';
import { auditRecordsOf, notificationsOf, type DossierEvent } from '../../src/dossier/index.ts';
import type { OutboxMessage } from '../../src/store/index.ts';
import { createParams, newIns, openApp, out, outAll, type OpenApp } from './support.ts';

const AT = '2025-02-01T08:00:00.000Z';

// ---- the mapping (pure) -------------------------------------------------------------------------

t.test('a created dossier is audited as the dossier-create activity on its consent', async (t) => {
  const event: DossierEvent = { kind: 'dossier-created', patientId: 'p1', at: AT, channel: 'pharmacy', minor: false, consentId: 'c1', logins: ['lea'], contacts: [{ channel: 'email', to: 'lea@example.org' }] };
  t.match(auditRecordsOf(event), [{ action: 'activity', name: 'dossier-create', patientId: 'p1', resource: { type: 'Consent', id: 'c1' }, recorded: AT, outcome: 'success' }]);
});

t.test('a created dossier is announced once to each address given at its creation', async (t) => {
  const contacts = [{ channel: 'email' as const, to: 'lea@example.org' }, { channel: 'sms' as const, to: '+33600000001' }, { channel: 'email' as const, to: 'lea@example.org' }];
  const outbox = notificationsOf({ kind: 'dossier-created', patientId: 'p1', at: AT, channel: 'online', minor: false, consentId: 'c1', logins: [], contacts });
  t.same(outbox.map((m) => [m.topic, m.payload.channel, m.payload.to]), [['dossier-created', 'email', 'lea@example.org'], ['dossier-created', 'sms', '+33600000001']]);
});

t.test('a closing is notified to the holders the worker resolves, with no address and no reason in the message', async (t) => {
  const [message, ...rest] = notificationsOf({ kind: 'dossier-closed', patientId: 'p1', at: AT, reason: 'patient-request' });
  t.same(rest, []);
  t.same(message, { topic: 'dossier-closed', payload: { patientId: 'p1', at: AT } });
});

t.test('a credentials reset is notified to the address of the login reset only', async (t) => {
  const event: DossierEvent = { kind: 'credentials-reset', patientId: 'p1', at: AT, login: 'lea', identityCheck: 'id-document' };
  t.same(notificationsOf(event, { channel: 'sms', to: '+33600000002' }).map((m) => m.payload), [{ patientId: 'p1', at: AT, channel: 'sms', to: '+33600000002' }]);
  t.same(notificationsOf(event), [], 'without a known address nobody is told');
});

t.test('a credentials reset is audited without the login it reset', async (t) => {
  const records = auditRecordsOf({ kind: 'credentials-reset', patientId: 'p1', at: AT, login: 'lea@example.org', identityCheck: 'id-document' });
  t.equal(records[0].name, 'credentials-reset');
  t.notMatch(JSON.stringify(records), /lea@example\.org/);
});

t.test('content the patient adds is audited as one creation per resource, and notifies nobody', async (t) => {
  const event: DossierEvent = { kind: 'content-added', patientId: 'p1', at: AT, content: 'device-observation', resources: ['Observation/o1', 'Observation/o2'] };
  t.same(auditRecordsOf(event).map((r) => [r.action, r.resource]), [['create', { type: 'Observation', id: 'o1' }], ['create', { type: 'Observation', id: 'o2' }]]);
  t.same(notificationsOf(event), []);
});

t.test('an activation code issued for an INS is audited without a dossier and notifies nobody', async (t) => {
  const event: DossierEvent = { kind: 'activation-code-issued', at: AT, insSystem: 'urn:oid:1.2.250.1.213.1.4.8' };
  const [record] = auditRecordsOf(event);
  t.equal(record.name, 'activation-code-issue');
  t.equal(record.patientId, undefined);
  t.same(notificationsOf(event), []);
});

// ---- on the real app ----------------------------------------------------------------------------

let api: OpenApp;
const claimed: OutboxMessage[] = [];

t.before(async () => {
  api = await openApp();
});
t.teardown(() => api.close());

/** Every outbox message for this patient so far (claimed once, kept for later calls). */
async function outboxOf(patientId: string): Promise<OutboxMessage[]> {
  for (;;) {
    const batch = await api.store.claimOutbox({ limit: 100, leaseMs: 600_000 });
    claimed.push(...batch);
    if (batch.length < 100) break;
  }
  return claimed.filter((m) => m.payload.patientId === patientId);
}

async function activities(patientId: string): Promise<string[]> {
  const page = await api.app.carnet.trail.search(patientId, { count: 100 });
  return page.events.map((e: AuditEvent) => e.subtype?.[0]?.code ?? '').reverse();
}

async function createDossier(email = 'lea@example.org'): Promise<{ patientId: string; login: string }> {
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', createParams({ channel: 'professional', email }));
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.raw}`);
  return { patientId: String(out(r.body, 'patient').reference).replace('Patient/', ''), login: outAll(r.body, 'credentials')[0].login };
}

t.test('creating a dossier writes its AuditEvent and its notification to the address given', async (t) => {
  const { patientId } = await createDossier('new@example.org');
  t.same(await activities(patientId), ['dossier-create']);
  const outbox = await outboxOf(patientId);
  t.same(outbox.map((m) => [m.topic, m.payload.channel, m.payload.to]), [['dossier-created', 'email', 'new@example.org']]);
});

t.test('closing and reactivating a dossier are each audited and notified', async (t) => {
  const { patientId } = await createDossier();
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`)).status, 200);
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`)).status, 200);
  t.same(await activities(patientId), ['dossier-create', 'dossier-close', 'dossier-reactivate']);
  // The outbox hands messages out in no promised order.
  t.same((await outboxOf(patientId)).map((m) => m.topic).sort(), ['dossier-closed', 'dossier-created', 'dossier-reactivated']);
});

t.test('a credentials reset by the desk is audited and notified to the address of that login', async (t) => {
  const { patientId, login } = await createDossier('reset@example.org');
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$reset-credentials`, { resourceType: 'Parameters', parameter: [{ name: 'login', valueString: login }, { name: 'identityCheck', valueCode: 'id-document' }] });
  t.equal(r.status, 200);
  t.same((await activities(patientId)).at(-1), 'credentials-reset');
  const reset = (await outboxOf(patientId)).filter((m) => m.topic === 'credentials-reset');
  t.same(reset.map((m) => [m.payload.channel, m.payload.to]), [['email', 'reset@example.org']]);
});

t.test('a refused change writes no AuditEvent and no notification', async (t) => {
  const ins = newIns();
  const first = await api.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins }));
  const patientId = String(out(first.body, 'patient').reference).replace('Patient/', '');
  const before = { audit: await activities(patientId), outbox: (await outboxOf(patientId)).length };
  t.equal((await api.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins }))).status, 409);
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`)).status, 409, 'an active dossier is not reactivated');
  t.same(await activities(patientId), before.audit);
  t.equal((await outboxOf(patientId)).length, before.outbox);
});

t.test('the dossier AuditEvents pass the trail verification', async (t) => {
  await createDossier();
  const verification = await api.app.carnet.trail.verify();
  t.equal(verification.ok, true, verification.problem?.message ?? 'verified');
});
