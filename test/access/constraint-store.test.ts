// The search constraint compiled by a real store (the pass's: SQLite, or MongoDB under
// CARNET_TEST_STORE=mongo) returns exactly the resources decideAccess lets the actor read:
// the access index and the Condition trees mean the same thing to the adapters as to the
// in-test evaluator of the property test.
import t from 'tap';
import fc from 'fast-check';
import { accessIndex, decideAccess, searchConstraint } from '../../src/access/index.ts';
import type { ResourceFacts } from '../../src/access/index.ts';
import type { ResourceWrite, Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';
import { actor, dossierFor, mode, patient, resource } from './arbitraries.ts';
import { matrix } from './support.ts';

const TYPES = ['DocumentReference', 'Observation', 'Consent', 'Patient', 'List'];
const SEED = 20250601;

let store: Store;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());

t.test('a store search with the constraint returns exactly the resources the actor may read', async (t) => {
  const facts = fc.sample(resource, { numRuns: 300, seed: SEED });
  const stored = new Map<string, ResourceFacts>();
  const writes: ResourceWrite[] = facts.map((f, i) => {
    const id = `r${i}`;
    stored.set(`${f.type}/${id}`, f);
    return { op: 'create', type: f.type, id, ifVersion: 0, resource: { resourceType: f.type, id }, index: accessIndex(f) };
  });
  for (let i = 0; i < writes.length; i += 50) await store.commit({ writes: writes.slice(i, i + 50) });

  const askers = fc.sample(fc.tuple(actor, dossierFor(patient), mode), { numRuns: 150, seed: SEED + 1 });
  const mismatches: string[] = [];
  let allowedSeen = 0;
  for (const [who, dossier, how] of askers) {
    const where = searchConstraint({ actor: who, dossier, mode: how, matrix });
    const expected = [...stored].filter(([, f]) => decideAccess({ actor: who, dossier, resource: f, action: 'read', mode: how, matrix }).allowed).map(([key]) => key);
    allowedSeen += expected.length;
    const found = where === 'deny' ? [] : (await store.search({ types: TYPES, where, count: 1000 })).entries.map((v) => `${v.type}/${v.id}`);
    if (JSON.stringify(found.sort()) !== JSON.stringify(expected.sort())) mismatches.push(`${JSON.stringify({ who, dossier, how })}: found ${found.length}, expected ${expected.length}`);
  }
  t.ok(allowedSeen > 0, 'some actors may read some resources, so the comparison is not vacuous');
  t.same(mismatches, []);
});
