// Readers never see part of a commit: while a large commit is being written, one search sees
// all of its resources or none of them, and once any reader has seen it, later reads do too.
import t from 'tap';
import { indexKey, type ResourceWrite, type Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

let store: Store;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());

const SIZE = 120;

t.test('concurrent searches see a large commit whole or not at all', async (t) => {
  for (let n = 0; n < 10; n++) await store.commit({ writes: [{ op: 'create', type: 'Patient', id: `p${n}`, resource: { resourceType: 'Patient', round: 0 } as never }] });
  const writes: ResourceWrite[] = Array.from({ length: SIZE }, (_, n) => ({
    op: 'create',
    type: 'Observation',
    id: `big-${n}`,
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
    index: [{ param: 'group', value: indexKey('code', 'big') }],
  }));
  for (let n = 0; n < 10; n++) writes.push({ op: 'update', type: 'Patient', id: `p${n}`, resource: { resourceType: 'Patient', round: 1 } as never });
  let done = false;
  const seenCounts = new Set<number>();
  const readsInOrder: unknown[] = [];
  const committing = store.commit({ writes }).finally(() => (done = true));
  while (!done) {
    const page = await store.search({ types: ['Observation'], where: { param: 'group', in: [indexKey('code', 'big')] }, count: 1000 });
    seenCounts.add(page.entries.length);
    // One at a time, so their order in time is known.
    for (let n = 0; n < 10; n++) readsInOrder.push((await store.read('Patient', `p${n}`))?.resource?.round);
    await new Promise((r) => setImmediate(r));
  }
  await committing;
  const after = await store.search({ types: ['Observation'], where: { param: 'group', in: [indexKey('code', 'big')] }, count: 1000 });
  t.equal(after.entries.length, SIZE);
  t.ok([...seenCounts].every((c) => c === 0 || c === SIZE), `search saw ${[...seenCounts].join(', ')}`);
  const firstNew = readsInOrder.indexOf(1);
  const backwards = firstNew === -1 ? [] : readsInOrder.slice(firstNew).filter((r) => r !== 1);
  t.same(backwards, [], `no read after the first one that saw the commit saw the old state (${readsInOrder.length} reads)`);
});
