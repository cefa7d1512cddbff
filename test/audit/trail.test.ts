// The audit trail over a real store: written in the commit of the change, searchable as the
// patient's access history, sealed, and verified (also after an attacker edits the database).
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { AUDIT_STREAM, AuditTrail, SEAL_STREAM, withAudit } from '../../src/audit/index.ts';
import type { AuditRecord } from '../../src/audit/index.ts';
import { entryHash } from '../../src/audit/chain.ts';
import { isStoreError, type Store } from '../../src/store/index.ts';
import { openTestStore, type TestStoreSettings } from '../support/store.ts';
import { tamper } from './tamper.ts';

interface Ctx {
  store: Store;
  settings: TestStoreSettings;
  trail: AuditTrail;
}

/** A fresh store per test: the log and the seals are global, tests must not share them. */
async function fresh(t: Test): Promise<Ctx> {
  const { store, settings, cleanup } = await openTestStore();
  t.teardown(cleanup);
  return { store, settings, trail: new AuditTrail(store, { settleMs: 0 }) };
}

function access(patientId: string, rpps: string, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    actor: { kind: 'professional', rpps, profession: '10' },
    action: 'read',
    channel: 'fhir',
    patientId,
    resource: { type: 'DocumentReference', id: `d-${randomUUID().slice(0, 8)}` },
    outcome: 'success',
    ...extra,
  };
}

async function recordMany(trail: AuditTrail, n: number, patientId = 'p1'): Promise<void> {
  for (let i = 0; i < n; i++) await trail.recordAlone(access(patientId, '10000000001'));
}

t.test('an audit record lands in the same commit as the change it records', async (t) => {
  const { store, trail } = await fresh(t);
  const audit = trail.record(access('p1', '10000000001', { action: 'create', resource: { type: 'Observation', id: 'o1' } }));
  const observation = { op: 'create' as const, type: 'Observation', id: 'o1', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } };
  await store.commit(withAudit({ writes: [observation] }, audit));
  t.equal((await store.readLog(AUDIT_STREAM, { limit: 10 })).length, 1);
  t.ok(await store.read('AuditEvent', audit.writes[0].id));
});

t.test('a failed commit leaves no audit record behind', async (t) => {
  const { store, trail } = await fresh(t);
  const audit = trail.record(access('p1', '10000000001'));
  // The second create of the same resource fails the whole commit.
  const write = { op: 'create' as const, type: 'Observation', id: 'o1', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } };
  await store.commit({ writes: [write] });
  const failed = await store.commit(withAudit({ writes: [write] }, audit)).then(() => undefined, (e: unknown) => e);
  t.ok(isStoreError(failed), 'the commit fails');
  t.same(await store.readLog(AUDIT_STREAM, { limit: 10 }), []);
  t.equal(await store.read('AuditEvent', audit.writes[0].id), undefined);
});

t.test('a refusal is recorded in a commit of its own', async (t) => {
  const { store, trail } = await fresh(t);
  const event = await trail.recordAlone(access('p1', '10000000001', { outcome: 'refused', reason: 'blocked' }));
  const [entry] = await store.readLog(AUDIT_STREAM, { limit: 10 });
  t.equal((entry.entry.event as { id: string }).id, event.id);
  t.equal(event.outcome, '4');
});

t.test("the patient's history lists the accesses to their dossier only, newest first", async (t) => {
  const { trail } = await fresh(t);
  await trail.recordAlone(access('p1', '10000000001', { recorded: '2025-01-01T10:00:00Z' }));
  await trail.recordAlone(access('p2', '10000000001', { recorded: '2025-01-02T10:00:00Z' }));
  await trail.recordAlone(access('p1', '10000000002', { recorded: '2025-01-03T10:00:00Z' }));
  const page = await trail.search('p1');
  t.same(
    page.events.map((e) => e.recorded),
    ['2025-01-03T10:00:00.000Z', '2025-01-01T10:00:00.000Z'],
  );
});

t.test("the patient's history filters by date and by professional", async (t) => {
  const { trail } = await fresh(t);
  for (const [day, rpps] of [
    ['01', '10000000001'],
    ['02', '10000000002'],
    ['03', '10000000001'],
    ['04', '10000000002'],
  ]) {
    await trail.recordAlone(access('p1', rpps, { recorded: `2025-01-${day}T10:00:00Z` }));
  }
  const byDate = await trail.search('p1', { from: '2025-01-02T00:00:00Z', to: '2025-01-04T00:00:00Z' });
  t.same(byDate.events.map((e) => e.recorded?.slice(0, 10)), ['2025-01-03', '2025-01-02']);
  const byProfessional = await trail.search('p1', { professional: '10000000002' });
  t.same(byProfessional.events.map((e) => e.recorded?.slice(0, 10)), ['2025-01-04', '2025-01-02']);
});

t.test("the patient's history pages with a cursor", async (t) => {
  const { trail } = await fresh(t);
  for (let i = 1; i <= 5; i++) await trail.recordAlone(access('p1', '10000000001', { recorded: `2025-02-0${i}T10:00:00Z` }));
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await trail.search('p1', { count: 2, cursor });
    seen.push(...page.events.map((e) => e.recorded?.slice(8, 10) as string));
    cursor = page.next;
  } while (cursor);
  t.same(seen, ['05', '04', '03', '02', '01']);
});

t.test("a professional's first successful access is told apart from later ones", async (t) => {
  const { trail } = await fresh(t);
  t.equal(await trail.hasAccessed('p1', '10000000001'), false);
  await trail.recordAlone(access('p1', '10000000001', { outcome: 'refused', reason: 'blocked' }));
  t.equal(await trail.hasAccessed('p1', '10000000001'), false, 'a refused attempt is no access');
  await trail.recordAlone(access('p1', '10000000001'));
  t.equal(await trail.hasAccessed('p1', '10000000001'), true);
  t.equal(await trail.hasAccessed('p2', '10000000001'), false);
});

t.test('an untouched trail verifies, sealed or not', async (t) => {
  const { trail } = await fresh(t);
  await recordMany(trail, 3);
  const before = await trail.verify();
  t.match(before, { ok: true, entries: 3, sealed: 0, unsealed: 3, seals: 0 });
  t.match(await trail.seal(), { seals: 1, entries: 3 });
  await recordMany(trail, 2);
  t.match(await trail.verify(), { ok: true, entries: 5, sealed: 3, unsealed: 2, seals: 1 });
});

t.test('sealing splits a long tail into several chained seals', async (t) => {
  const { store } = await fresh(t);
  const trail = new AuditTrail(store, { settleMs: 0, sealSize: 2 });
  await recordMany(trail, 5);
  t.match(await trail.seal(), { seals: 3, entries: 5 });
  t.match(await trail.verify(), { ok: true, sealed: 5, seals: 3 });
});

t.test('entries younger than the settle time are left for a later seal', async (t) => {
  const { store } = await fresh(t);
  const trail = new AuditTrail(store, { settleMs: 60_000 });
  await recordMany(trail, 2);
  t.match(await trail.seal(), { seals: 0, entries: 0 });
  const later = new AuditTrail(store, { settleMs: 60_000, now: () => Date.now() + 61_000 });
  t.match(await later.seal(), { seals: 1, entries: 2 });
});

t.test('concurrent sealers keep one intact chain', async (t) => {
  const { store } = await fresh(t);
  const trails = [0, 1, 2].map(() => new AuditTrail(store, { settleMs: 0, sealSize: 4 }));
  await recordMany(trails[0], 18);
  const rounds = await Promise.all(trails.map((trail) => trail.seal()));
  t.ok(rounds.some((r) => r.seals > 0));
  // A sealer that lost a race leaves the rest for the next round.
  while ((await trails[1].seal()).seals > 0);
  t.match(await trails[2].verify(), { ok: true, entries: 18, sealed: 18, unsealed: 0 });
});

t.test(
  'entries committed concurrently are all sealed once',
  async (t) => {
    const { store } = await fresh(t);
    const trails = [0, 1, 2].map(() => new AuditTrail(store, { settleMs: 0, sealSize: 4 }));
    await Promise.all(trails.map((trail, i) => recordMany(trail, 6, `p${i}`)));
    while ((await trails[0].seal()).seals > 0);
    t.match(await trails[0].verify(), { ok: true, entries: 18, sealed: 18, unsealed: 0 });
  },
);

t.test('a modified entry is found at its seq', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 3);
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.editLog(AUDIT_STREAM, 2, (e) => ({ ...e, event: { ...(e.event as object), outcome: '0', outcomeDesc: 'nothing-to-see' } }));
  t.match(await trail.verify(), { ok: false, problem: { kind: 'entry-modified', stream: AUDIT_STREAM, seq: 2 } });
});

t.test('a modified entry whose hash was recomputed is found by its seal', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 3);
  await trail.seal();
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.editLog(AUDIT_STREAM, 2, (e) => {
    const edited = { v: 1, event: { ...(e.event as object), recorded: '2020-01-01T00:00:00.000Z' } };
    return { ...edited, hash: entryHash(edited) };
  });
  t.match(await trail.verify({ resources: false }), { ok: false, problem: { kind: 'entry-replaced', seq: 2 } });
});

t.test('a deleted sealed entry is found', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 3);
  await trail.seal();
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.deleteLog(AUDIT_STREAM, 2);
  t.match(await trail.verify(), { ok: false, problem: { kind: 'entry-missing', seq: 2 } });
});

t.test('the deleted last sealed entry is found', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 3);
  await trail.seal();
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.deleteLog(AUDIT_STREAM, 3);
  t.match(await trail.verify(), { ok: false, problem: { kind: 'entry-missing', seq: 3 } });
});

t.test('reordered entries are found', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 3);
  await trail.seal();
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.swapLog(AUDIT_STREAM, 1, 3);
  t.match(await trail.verify(), { ok: false, problem: { kind: 'entry-replaced', seq: 1 } });
});

t.test('a modified seal is found', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 2);
  await trail.seal();
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.editLog(SEAL_STREAM, 1, (s) => ({ ...s, seqs: [1], hashes: [(s.hashes as string[])[0]], toSeq: 1 }));
  t.match(await trail.verify(), { ok: false, problem: { kind: 'seal-modified', stream: SEAL_STREAM, seq: 1 } });
});

t.test('a deleted seal breaks the chain', async (t) => {
  const { trail, settings } = await fresh(t);
  for (let i = 0; i < 3; i++) {
    await recordMany(trail, 2);
    await trail.seal();
  }
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.deleteLog(SEAL_STREAM, 2);
  t.match(await trail.verify(), { ok: false, problem: { kind: 'seal-chain-broken', stream: SEAL_STREAM, seq: 3 } });
});

t.test('a deleted last seal no longer matches the chain head', async (t) => {
  const { trail, settings } = await fresh(t);
  await recordMany(trail, 2);
  await trail.seal();
  await recordMany(trail, 2);
  await trail.seal();
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.deleteLog(SEAL_STREAM, 2);
  t.match(await trail.verify(), { ok: false, problem: { kind: 'seal-head-mismatch' } });
});

t.test('a rewritten trail is found against an anchor kept from an earlier run', async (t) => {
  const { trail } = await fresh(t);
  await recordMany(trail, 2);
  await trail.seal();
  const { head } = await trail.verify();
  t.ok(head);
  t.match(await trail.verify({ anchor: { n: 1, hash: head?.hash as string } }), { ok: true });
  t.match(await trail.verify({ anchor: { n: 1, hash: 'f'.repeat(64) } }), { ok: false, problem: { kind: 'seal-chain-broken' } });
  t.match(await trail.verify({ anchor: { n: 2, hash: head?.hash as string } }), { ok: false, problem: { kind: 'seal-chain-broken' } });
});

t.test('an AuditEvent removed from the searchable history is found', async (t) => {
  const { trail, settings } = await fresh(t);
  const event = await trail.recordAlone(access('p1', '10000000001'));
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.deleteResource('AuditEvent', event.id as string);
  t.match(await trail.verify(), { ok: false, problem: { kind: 'resource-missing', resource: `AuditEvent/${event.id}`, seq: 1 } });
});

t.test('an AuditEvent altered in the searchable history is found', async (t) => {
  const { trail, settings } = await fresh(t);
  const event = await trail.recordAlone(access('p1', '10000000001'));
  const db = await tamper(settings);
  t.teardown(() => db.close());
  await db.editResource('AuditEvent', event.id as string, (r) => ({ ...r, recorded: '2020-01-01T00:00:00.000Z' }));
  t.match(await trail.verify(), { ok: false, problem: { kind: 'resource-modified', resource: `AuditEvent/${event.id}` } });
});

t.test('the export lists every audit entry in log order', async (t) => {
  const { trail } = await fresh(t);
  await recordMany(trail, 3);
  const seqs: number[] = [];
  for await (const e of trail.entries({ pageSize: 2 })) seqs.push(e.seq);
  t.same(seqs, [1, 2, 3]);
});
