// Which accesses the patient is told of (pure), and the first-access marker over a real store:
// one message for a professional's first access, even when two instances race for it.
import t, { type Test } from 'tap';
import { ACCESS_MARKER_TYPE, AccessMarkers, AuditTrail, accessNotice, commitWithNotice } from '../../src/audit/index.ts';
import type { AccessNotice, AuditRecord } from '../../src/audit/index.ts';
import type { Actor } from '../../src/access/index.ts';
import { indexKey, type Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

const gp: Actor = { kind: 'professional', rpps: '99700000001', profession: '10', specialty: 'SM26' };

t.test('a professional in normal mode is told as a first access only', async (t) => {
  t.same(accessNotice(gp, 'normal'), { topic: 'first-access', every: false, rpps: '99700000001', profession: '10' });
});

t.test('break-the-glass and emergency-call accesses are told every time', async (t) => {
  t.equal(accessNotice(gp, 'break-the-glass')?.every, true);
  t.equal(accessNotice({ kind: 'regulator', rpps: '99700000001', profession: '10' }, 'emergency-call')?.topic, 'emergency-call');
});

t.test('patients, operators and feeds are never told as accesses', async (t) => {
  t.equal(accessNotice({ kind: 'patient', patientId: 'p1' }, 'normal'), undefined);
  t.equal(accessNotice({ kind: 'operator' }, 'normal'), undefined);
  t.equal(accessNotice(undefined, 'normal'), undefined);
});

t.test("an establishment's staff is told without its role code", async (t) => {
  const staff = { kind: 'professional', rpps: 'E-42', profession: 'SECRETARIAT_MEDICAL', role: 'administrative-staff', organization: { id: '1990000012' } } as Actor;
  t.equal(accessNotice(staff, 'normal')?.profession, undefined);
});

async function fresh(t: Test): Promise<{ store: Store; trail: AuditTrail }> {
  const { store, cleanup } = await openTestStore();
  t.teardown(cleanup);
  return { store, trail: new AuditTrail(store, { settleMs: 0 }) };
}

const read = (patientId: string): AuditRecord => ({ actor: gp, action: 'read', channel: 'fhir', patientId, resource: { type: 'Patient', id: patientId }, outcome: 'success' });

async function access(trail: AuditTrail, markers: AccessMarkers, notice: AccessNotice | undefined, patientId: string): Promise<void> {
  await commitWithNotice(markers, notice, { patientId, at: new Date().toISOString() }, (changes) => trail.recordAlone(read(patientId), changes));
}

async function drain(store: Store): Promise<string[]> {
  const messages = await store.claimOutbox({ limit: 100, leaseMs: 60_000 });
  for (const m of messages) await store.completeOutbox(m.id);
  return messages.map((m) => m.topic);
}

t.test('two instances racing on a first access send one message and record both accesses', async (t) => {
  const { store, trail } = await fresh(t);
  const notice = accessNotice(gp, 'normal');
  await Promise.all([access(trail, new AccessMarkers(store), notice, 'p-race'), access(trail, new AccessMarkers(store), notice, 'p-race')]);
  t.same(await drain(store), ['first-access']);
  t.equal((await trail.search('p-race')).events.length, 2);
});

t.test('the marker survives a restart: a new instance sends no second first-access message', async (t) => {
  const { store, trail } = await fresh(t);
  const notice = accessNotice(gp, 'normal');
  await access(trail, new AccessMarkers(store), notice, 'p-restart');
  await drain(store);
  await access(trail, new AccessMarkers(store), notice, 'p-restart');
  t.same(await drain(store), []);
});

t.test('the marker is kept under a hashed id and indexed by dossier', async (t) => {
  const { store, trail } = await fresh(t);
  await access(trail, new AccessMarkers(store), accessNotice(gp, 'normal'), 'p-marker');
  const found = await store.search({ types: [ACCESS_MARKER_TYPE], where: { param: 'patient', in: [indexKey('exact', 'p-marker')] }, count: 10 });
  t.equal(found.entries.length, 1, 'found by its dossier (what a purge needs)');
  t.match(found.entries[0].id, /^[0-9a-f]{64}$/, 'under a hash, not the professional id');
});

t.test('a first access in break-the-glass mode is told as such, and later normal accesses are not told again', async (t) => {
  const { store, trail } = await fresh(t);
  const markers = new AccessMarkers(store);
  await access(trail, markers, accessNotice(gp, 'break-the-glass'), 'p-btg');
  await access(trail, markers, accessNotice(gp, 'normal'), 'p-btg');
  t.same(await drain(store), ['break-the-glass']);
});
