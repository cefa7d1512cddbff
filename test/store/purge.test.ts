// Store contract, hard delete (the dossier purge, issue 6): purge() removes every version,
// index key and blob chunk of what it names, leaves everything else, and can be run again.
// Runs on both stores, like contract.test.ts.
import t from 'tap';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { MongoClient } from 'mongodb';
import { createStore, indexKey, type ResourceWrite, type Store } from '../../src/store/index.ts';
import { openTestStore, testStoreKind, type TestStoreSettings } from '../support/store.ts';

let store: Store;
let settings: TestStoreSettings;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, settings, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());

let counter = 0;
function newId(prefix = 'p'): string {
  return `${prefix}${++counter}-${Date.now().toString(36)}`;
}

function obs(id: string, code: string, op: ResourceWrite['op'] = 'create'): ResourceWrite {
  return {
    op,
    type: 'Observation',
    id,
    resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ code }] } },
    index: [{ param: 'code', value: indexKey('code', code) }, { param: 'date', low: 1000, high: 2000 }],
    sortKeys: { date: 'n1' },
  };
}

/** A resource with two versions and a blob of three chunks. */
async function seedDocument(code: string): Promise<{ id: string; blob: string }> {
  const id = newId();
  const bytes = Buffer.alloc(600 * 1024, 7);
  const blob = await store.putBlob(Readable.from([bytes]), { contentType: 'application/pdf' });
  await store.commit({ writes: [obs(id, code)], blobs: [blob.id] });
  await store.commit({ writes: [{ ...obs(id, code), op: 'update' }] });
  return { id, blob: blob.id };
}

async function codeMatches(code: string): Promise<{ ids: string[]; total?: number }> {
  const page = await store.search({ types: ['Observation'], where: { param: 'code', in: [indexKey('code', code)] }, count: 10, total: true });
  return { ids: page.entries.map((e) => e.id), total: page.total };
}

t.test('purge removes every version of a resource: read, vread and history find nothing', async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  await store.purge({ resources: [{ type: 'Observation', id }], blobs: [blob] });
  t.equal(await store.read('Observation', id), undefined, 'no current version, not even a delete marker');
  t.equal(await store.readVersion('Observation', id, 1), undefined, 'version 1 is gone');
  t.equal(await store.readVersion('Observation', id, 2), undefined, 'version 2 is gone');
  t.same((await store.history({ type: 'Observation', id, count: 10 })).entries, [], 'no history');
});

t.test('purge removes the search keys: searches by code or by range no longer find the resource', async (t) => {
  const code = newId('c');
  const { id, blob } = await seedDocument(code);
  t.same((await codeMatches(code)).ids, [id], 'found before the purge');
  await store.purge({ resources: [{ type: 'Observation', id }], blobs: [blob] });
  t.same(await codeMatches(code), { ids: [], total: 0 });
  const byDate = await store.search({ types: ['Observation'], where: { and: [{ ids: [id] }, { param: 'date', bound: 'low', cmp: 'ge', value: 0 }] }, count: 10 });
  t.same(byDate.entries, [], 'the range keys are gone');
  const system = await store.history({ count: 1000 });
  t.notOk(system.entries.some((e) => e.id === id), 'not in the system history either');
});

t.test('purge removes a blob with its chunks: no info, no bytes', async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  await store.purge({ resources: [{ type: 'Observation', id }], blobs: [blob] });
  t.equal(await store.blobInfo(blob), undefined);
  t.equal(await store.readBlob(blob), undefined);
  t.equal(await store.readBlob(blob, { start: 300_000, end: 300_010 }), undefined);
});

/** Rows or documents still stored for a resource or a blob, read from the database itself. */
async function leftovers(id: string, blob: string): Promise<number> {
  if (testStoreKind() === 'sqlite') {
    const db = new DatabaseSync(join(settings.dataDir, 'carnet.db'), { readOnly: true });
    try {
      let n = 0;
      for (const table of ['versions', 'current', 'search_keys']) n += Number((db.prepare(`SELECT count(*) AS n FROM ${table} WHERE id = ?`).get(id) as { n: number }).n);
      n += Number((db.prepare('SELECT count(*) AS n FROM blob_chunks WHERE blob_id = ?').get(blob) as { n: number }).n);
      n += Number((db.prepare('SELECT count(*) AS n FROM blobs WHERE id = ?').get(blob) as { n: number }).n);
      return n;
    } finally {
      db.close();
    }
  }
  const client = await MongoClient.connect(settings.mongodbUri as string);
  try {
    const db = client.db(settings.mongodbDatabase);
    return (
      (await db.collection('versions').countDocuments({ i: id })) +
      (await db.collection('blobs.chunks').countDocuments({ files_id: blob })) +
      (await db.collection('blobs.files').countDocuments({ _id: blob as never }))
    );
  } finally {
    await client.close();
  }
}

t.test('purge leaves nothing of them in the database: no version, key, pointer, blob row or chunk', async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  t.ok((await leftovers(id, blob)) > 0, 'stored before');
  await store.purge({ resources: [{ type: 'Observation', id }], blobs: [blob] });
  t.equal(await leftovers(id, blob), 0);
});

t.test('purge leaves the resources and blobs it does not name untouched', async (t) => {
  const code = newId('c');
  const gone = await seedDocument(code);
  const kept = await seedDocument(code);
  await store.purge({ resources: [{ type: 'Observation', id: gone.id }], blobs: [gone.blob] });
  t.same((await codeMatches(code)).ids, [kept.id]);
  t.equal((await store.read('Observation', kept.id))?.versionId, 2);
  t.equal((await store.readVersion('Observation', kept.id, 1))?.versionId, 1);
  t.equal((await store.blobInfo(kept.blob))?.size, 600 * 1024);
  const bytes: Buffer[] = [];
  for await (const b of (await store.readBlob(kept.blob)) as Readable) bytes.push(Buffer.from(b));
  t.equal(Buffer.concat(bytes).length, 600 * 1024, 'the other blob reads whole');
});

t.test('purge is idempotent: running it again, or on names that never existed, succeeds', async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  const target = { resources: [{ type: 'Observation', id }, { type: 'Patient', id: newId('never') }], blobs: [blob, 'no-such-blob'] };
  await store.purge(target);
  await store.purge(target);
  t.equal(await store.read('Observation', id), undefined);
  t.equal(await store.blobInfo(blob), undefined);
});

t.test('after a purge the id can be created again, starting at version 1', async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  await store.purge({ resources: [{ type: 'Observation', id }], blobs: [blob] });
  const { versions } = await store.commit({ writes: [obs(id, 'again')] });
  t.equal(versions[0]?.versionId, 1);
});

t.test('purge refuses an invalid resource id and deletes nothing', async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  await t.rejects(store.purge({ resources: [{ type: 'Observation', id }, { type: 'Observation', id: '../x' }], blobs: [blob] }), { code: 'bad-request' });
  t.equal((await store.read('Observation', id))?.versionId, 2, 'the valid one is still there');
  t.ok(await store.blobInfo(blob), 'and so is the blob');
});

t.test('on MongoDB a purge cut short by a crash is finished when the store next opens', { skip: testStoreKind() === 'mongo' ? false : 'MongoDB only (SQLite purges in one transaction)' }, async (t) => {
  const { id, blob } = await seedDocument(newId('c'));
  // What a crash right after the purge began leaves: its record, and nothing deleted yet.
  const client = await MongoClient.connect(settings.mongodbUri as string);
  t.teardown(() => client.close());
  await client.db(settings.mongodbDatabase).collection<{ _id: string; resources: unknown; blobs: string[]; at: number }>('purges').insertOne({ _id: 'crashed', resources: [{ type: 'Observation', id }], blobs: [blob], at: Date.now() });
  const next = createStore({ ...settings });
  await next.open();
  t.teardown(() => next.close());
  t.equal(await next.read('Observation', id), undefined, 'the resource is gone');
  t.equal(await next.readVersion('Observation', id, 1), undefined, 'with all its versions');
  t.equal(await next.blobInfo(blob), undefined, 'the blob is gone');
  t.equal(await client.db(settings.mongodbDatabase).collection('purges').countDocuments({}), 0, 'and the purge record is removed');
});
