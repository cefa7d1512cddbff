// How the purge is wired: the store's own hard delete when the adapter has one (Store.purge),
// the retention from DOSSIER_RETENTION_DAYS, and a scheduled job that finishes its run before
// it stops.
import t from 'tap';
import { hardDeleteOf, type DossierPurge, type HardDelete } from '../../src/dossier/index.ts';
import { schedulePurge } from '../../src/dossier/purge.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';
import { createParams, openApp, out } from './support.ts';

type Target = Parameters<HardDelete['purge']>[0];

/** The pass's store with a recording `purge` added, as an adapter with a hard delete has. */
function withPurge(store: Store, calls: Target[]): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'purge') return async (purged: Target) => void calls.push(purged);
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

t.test('a store without a hard delete gives none (the purge then leaves delete markers)', async (t) => {
  t.equal(hardDeleteOf({ kind: 'sqlite' } as unknown as Store), undefined);
});

t.test("the pass's store has a hard delete for the purge", async (t) => {
  const { store, cleanup } = await openTestStore();
  t.teardown(cleanup);
  t.equal(typeof hardDeleteOf(store)?.purge, 'function');
});

t.test("a store's hard delete is called with the store as its receiver", async (t) => {
  const seen: unknown[] = [];
  const store = { kind: 'sqlite', async purge(this: unknown) { seen.push(this); } } as unknown as Store;
  await hardDeleteOf(store)?.purge({ resources: [], blobs: [] });
  t.same(seen.length, 1);
  t.equal(seen[0], store);
});

t.test("the app's purge erases an expired dossier through the store's hard delete", async (t) => {
  const opened = await openTestStore();
  t.teardown(opened.cleanup);
  const calls: Target[] = [];
  const api = await openApp({ store: withPurge(opened.store, calls), dataDir: opened.settings.dataDir, env: { DOSSIER_RETENTION_DAYS: '0' } });
  t.teardown(() => api.app.close());
  const created = await api.call('POST', '/fhir/Patient/$create-dossier', createParams());
  const patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`)).status, 200);
  t.same(await api.app.carnet.dossier.purge.run(Date.now() + 1000), [patientId]);
  const erased = calls.flatMap((c) => c.resources);
  t.ok(erased.some((r) => r.type === 'Patient' && r.id === patientId), 'the Patient is handed to the hard delete');
  t.ok(erased.some((r) => r.type === 'Consent'), 'and its consent');
});

t.test('DOSSIER_RETENTION_DAYS sets how long a closed dossier is kept', async (t) => {
  const api = await openApp({ env: { DOSSIER_RETENTION_DAYS: '30' } });
  t.teardown(() => api.close());
  const created = await api.call('POST', '/fhir/Patient/$create-dossier', createParams());
  const patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
  const before = Date.now();
  const closed = await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  const keptUntil = Date.parse(out(closed.body, 'keptUntil'));
  const thirtyDays = 30 * 86_400_000;
  t.ok(keptUntil >= before + thirtyDays && keptUntil <= Date.now() + thirtyDays, new Date(keptUntil).toISOString());
});

t.test('stopping the scheduled purge waits for the run under way', async (t) => {
  let finished = false;
  const purge = { run: async () => new Promise<string[]>((resolve) => setTimeout(() => ((finished = true), resolve([])), 150)) } as unknown as DossierPurge;
  const job = schedulePurge(purge, 10, (error) => t.fail(String(error)));
  await new Promise((r) => setTimeout(r, 40));
  await job.stop();
  t.equal(finished, true);
});
