// Group commit (issue 7): writes arriving together share one durable transaction, yet each
// caller gets its own outcome. The first part runs on both stores through the Store port; the
// second checks the embedded store's batching itself on a real SQLite database.
import t from 'tap';
import { DatabaseSync } from 'node:sqlite';
import { createStore, isStoreError, type ResourceWrite, type Store } from '../../src/store/index.ts';
import { GroupCommit } from '../../src/store/sqlite/group-commit.ts';
import { openTestStore, type TestStoreSettings } from '../support/store.ts';

let store: Store;
let settings: TestStoreSettings;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, settings, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());

let counter = 0;
function newId(): string {
  return `g${++counter}-${Date.now().toString(36)}`;
}

function patient(id: string, op: ResourceWrite['op'] = 'create', ifVersion?: number): ResourceWrite {
  return { op, type: 'Patient', id, ifVersion, resource: { resourceType: 'Patient', gender: 'other' } };
}

t.test('concurrent commits all land, and a conflicting one among them fails alone', async (t) => {
  const taken = newId();
  await store.commit({ writes: [patient(taken)] });
  const ids = Array.from({ length: 6 }, () => newId());
  const results = await Promise.allSettled([
    ...ids.slice(0, 3).map((id) => store.commit({ writes: [patient(id)], log: [{ stream: 'group', entry: { id } }] })),
    store.commit({ writes: [patient(ids[5]), patient(taken)] }),
    ...ids.slice(3, 5).map((id) => store.commit({ writes: [patient(id)], log: [{ stream: 'group', entry: { id } }] })),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  const failure = results[3].status === 'rejected' ? results[3].reason : undefined;
  t.ok(isStoreError(failure) && failure.code === 'already-exists', 'the conflicting commit gets its own error');
  for (const id of ids.slice(0, 5)) t.equal((await store.read('Patient', id))?.versionId, 1, `${id} landed`);
  t.equal(await store.read('Patient', ids[5]), undefined, 'nothing of the failed commit landed, not even its valid write');
  const log = await store.readLog('group', { limit: 100 });
  t.same(log.map((e) => e.entry.id).sort(), ids.slice(0, 5).sort(), 'one log entry per successful commit');
});

t.test('an acknowledged commit is seen by a second store instance on the same data', async (t) => {
  const id = newId();
  await store.commit({ writes: [patient(id)] });
  const other = createStore(settings);
  await other.open();
  t.teardown(() => other.close());
  t.equal((await other.read('Patient', id))?.versionId, 1);
});

t.test('concurrent updates of one resource with the same If-Match: exactly one wins', async (t) => {
  const id = newId();
  await store.commit({ writes: [patient(id)] });
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.commit({ writes: [patient(id, 'update', 1)] })));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  t.equal((await store.read('Patient', id))?.versionId, 2);
});

/** A real SQLite connection whose BEGINs are counted. */
function countingDb(): { db: DatabaseSync; begins: () => number } {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (v INTEGER NOT NULL UNIQUE)');
  let begins = 0;
  const exec = db.exec.bind(db);
  db.exec = (sql: string) => {
    if (sql.startsWith('BEGIN')) begins++;
    exec(sql);
  };
  return { db, begins: () => begins };
}

t.test('on the embedded store writes queued in one turn share one transaction, each in its own savepoint', async (t) => {
  const { db, begins } = countingDb();
  const group = new GroupCommit(db);
  const insert = (v: number) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(v);
  const results = await Promise.allSettled([
    group.run(insert(1)),
    group.run(() => {
      insert(2)();
      insert(1)(); // violates UNIQUE: this write alone is rolled back, 2 included
    }),
    group.run(insert(3)),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.equal(begins(), 1, 'one transaction for the three');
  t.same(db.prepare('SELECT v FROM t ORDER BY v').all().map((r) => r.v), [1, 3]);
  t.equal(db.isTransaction, false, 'the transaction is committed');
});

t.test('on the embedded store writes awaited one after the other are separate transactions', async (t) => {
  const { db, begins } = countingDb();
  const group = new GroupCommit(db);
  await group.run(() => db.prepare('INSERT INTO t (v) VALUES (1)').run());
  await group.run(() => db.prepare('INSERT INTO t (v) VALUES (2)').run());
  t.equal(begins(), 2);
  t.same(db.prepare('SELECT count(*) AS n FROM t').get(), { n: 2 });
});
