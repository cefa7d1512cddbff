// The Store contract: every adapter must pass this file (scripts/test.ts runs it on both).
import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { createStore, indexKey, isStoreError, sortKey, type IndexValue, type ResourceWrite, type Store } from '../../src/store/index.ts';
import { openTestStore, type TestStoreSettings } from '../support/store.ts';

let store: Store;
let settings: TestStoreSettings;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, settings, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());

let counter = 0;
/** A fresh id per call, so tests never see each other's resources. */
function newId(prefix = 'r'): string {
  return `${prefix}${++counter}-${Date.now().toString(36)}`;
}

function obs(id: string, code: string, extra: Record<string, unknown> = {}): ResourceWrite {
  return {
    op: 'create',
    type: 'Observation',
    id,
    resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, ...extra },
    index: [{ param: 'code', value: indexKey('code', code) }, { param: 'code', value: indexKey('system-code', `http://loinc.org|${code}`) }],
  };
}

async function collect(stream: Readable | undefined): Promise<Buffer> {
  if (!stream) throw new Error('no stream');
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

async function expectStoreError(t: Test, promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
    t.fail(`expected a ${code} error`);
  } catch (error) {
    t.ok(isStoreError(error), 'is a StoreError');
    t.equal((error as { code: string }).code, code);
  }
}

// ---- resources --------------------------------------------------------------------------------

t.test('create gives version 1 and stamps id, versionId and lastUpdated', async (t) => {
  const id = newId();
  const { versions, lastUpdated } = await store.commit({ writes: [obs(id, 'a')] });
  t.equal(versions[0]?.versionId, 1);
  const read = await store.read('Observation', id);
  t.equal(read?.resource?.id, id);
  t.same(read?.resource?.meta, { versionId: '1', lastUpdated });
  t.equal(read?.lastUpdated, lastUpdated);
  t.equal(read?.deleted, false);
});

t.test('create of an existing id is refused and changes nothing', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  await expectStoreError(t, store.commit({ writes: [obs(id, 'b')] }), 'already-exists');
  const read = await store.read('Observation', id);
  t.equal(read?.versionId, 1);
  t.same((read?.resource?.code as { coding: { code: string }[] }).coding[0].code, 'a');
});

t.test('update adds a version and keeps the previous one readable', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  await store.commit({ writes: [{ ...obs(id, 'b'), op: 'update', ifVersion: 1 }] });
  t.equal((await store.read('Observation', id))?.versionId, 2);
  const v1 = await store.readVersion('Observation', id, 1);
  t.equal((v1?.resource?.code as { coding: { code: string }[] }).coding[0].code, 'a');
  t.equal(await store.readVersion('Observation', id, 3), undefined);
});

t.test('update with a stale version is refused and changes nothing', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  await store.commit({ writes: [{ ...obs(id, 'b'), op: 'update', ifVersion: 1 }] });
  await expectStoreError(t, store.commit({ writes: [{ ...obs(id, 'c'), op: 'update', ifVersion: 1 }] }), 'version-conflict');
  t.equal((await store.read('Observation', id))?.versionId, 2);
});

t.test('update with ifVersion 0 is refused when the resource exists', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  await expectStoreError(t, store.commit({ writes: [{ ...obs(id, 'b'), op: 'update', ifVersion: 0 }] }), 'version-conflict');
});

t.test('update of an unknown id creates version 1', async (t) => {
  const id = newId();
  await store.commit({ writes: [{ ...obs(id, 'a'), op: 'update' }] });
  t.equal((await store.read('Observation', id))?.versionId, 1);
});

t.test('concurrent updates from the same version: exactly one wins, no update is lost', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  const attempts = await Promise.allSettled(
    Array.from({ length: 5 }, (_, n) => store.commit({ writes: [{ ...obs(id, `n${n}`), op: 'update', ifVersion: 1 }] })),
  );
  const won = attempts.filter((a) => a.status === 'fulfilled');
  t.equal(won.length, 1);
  for (const a of attempts) if (a.status === 'rejected') t.equal((a.reason as { code: string }).code, 'version-conflict');
  t.equal((await store.read('Observation', id))?.versionId, 2);
});

t.test('unconditional concurrent updates all land as successive versions', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  const results = await Promise.allSettled(Array.from({ length: 4 }, (_, n) => store.commit({ writes: [{ ...obs(id, `u${n}`), op: 'update' }] })));
  const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
  t.equal((await store.read('Observation', id))?.versionId, 1 + fulfilled);
  t.ok(fulfilled >= 1);
});

t.test('delete writes a marker: read says deleted, search no longer finds it, history keeps it', async (t) => {
  const id = newId();
  const code = newId('del');
  await store.commit({ writes: [obs(id, code)] });
  const { versions } = await store.commit({ writes: [{ op: 'delete', type: 'Observation', id }] });
  t.equal(versions[0]?.versionId, 2);
  const read = await store.read('Observation', id);
  t.equal(read?.deleted, true);
  t.equal(read?.resource, undefined);
  const found = await store.search({ types: ['Observation'], where: { param: 'code', in: [indexKey('code', code)] }, count: 10 });
  t.equal(found.entries.length, 0);
  const history = await store.history({ type: 'Observation', id, count: 10 });
  t.same(history.entries.map((e) => [e.versionId, e.deleted]), [[2, true], [1, false]]);
});

t.test('delete of an unknown resource writes nothing', async (t) => {
  const id = newId();
  const { versions } = await store.commit({ writes: [{ op: 'delete', type: 'Observation', id }] });
  t.equal(versions[0], undefined);
  t.equal(await store.read('Observation', id), undefined);
});

t.test('update after delete revives the resource with the next version', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  await store.commit({ writes: [{ op: 'delete', type: 'Observation', id }] });
  await store.commit({ writes: [{ ...obs(id, 'b'), op: 'update' }] });
  const read = await store.read('Observation', id);
  t.equal(read?.versionId, 3);
  t.equal(read?.deleted, false);
});

t.test('a commit of several resources is all or nothing when one write fails', async (t) => {
  const existing = newId();
  await store.commit({ writes: [obs(existing, 'a')] });
  const fresh = [newId(), newId(), newId()];
  const log = newId('s').replaceAll('-', '_');
  await expectStoreError(
    t,
    store.commit({
      writes: [...fresh.map((id) => obs(id, 'x')), { ...obs(existing, 'b'), op: 'update', ifVersion: 7 }],
      log: [{ stream: log, entry: { n: 1 } }],
      outbox: [{ topic: 'failed-commit', payload: { n: 1 } }],
    }),
    'version-conflict',
  );
  for (const id of fresh) t.equal(await store.read('Observation', id), undefined, `${id} not created`);
  t.equal((await store.read('Observation', existing))?.versionId, 1);
  t.same(await store.readLog(log, { limit: 10 }), []);
  const claimed = await store.claimOutbox({ limit: 100, leaseMs: 1 });
  t.notOk(claimed.some((m) => m.topic === 'failed-commit'));
});

t.test('ids and types outside the FHIR syntax are refused', async (t) => {
  await expectStoreError(t, store.commit({ writes: [{ ...obs('a/b', 'x') }] }), 'bad-request');
  await expectStoreError(t, store.commit({ writes: [{ ...obs('x', 'x'), type: '$where', resource: { resourceType: '$where' } }] }), 'bad-request');
  await expectStoreError(t, store.read('Observation', '../etc'), 'bad-request');
});

t.test('the same resource twice in one commit is refused', async (t) => {
  const id = newId();
  await expectStoreError(t, store.commit({ writes: [obs(id, 'a'), { ...obs(id, 'b'), op: 'update' }] }), 'bad-request');
  t.equal(await store.read('Observation', id), undefined);
});

t.test('index parameter names that could act as operators are refused', async (t) => {
  const w = obs(newId(), 'a');
  w.index = [{ param: '$gt', value: 'x' }];
  await expectStoreError(t, store.commit({ writes: [w] }), 'bad-request');
});

// ---- history ----------------------------------------------------------------------------------

t.test('instance history lists every version newest first', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  await store.commit({ writes: [{ ...obs(id, 'b'), op: 'update' }] });
  await store.commit({ writes: [{ ...obs(id, 'c'), op: 'update' }] });
  const h = await store.history({ type: 'Observation', id, count: 10 });
  t.same(h.entries.map((e) => e.versionId), [3, 2, 1]);
  t.equal(h.next, undefined);
});

t.test('type history pages with a cursor, without gaps or repeats', async (t) => {
  const type = 'Device';
  const ids = Array.from({ length: 7 }, () => newId('dev'));
  for (const id of ids) await store.commit({ writes: [{ op: 'create', type, id, resource: { resourceType: type } }] });
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.history({ type, count: 3, cursor });
    seen.push(...page.entries.map((e) => `${e.id}/${e.versionId}`));
    cursor = page.next;
  } while (cursor);
  t.same(seen, [...ids].reverse().map((id) => `${id}/1`));
});

t.test('history since a time leaves out older versions', async (t) => {
  const id = newId();
  await store.commit({ writes: [obs(id, 'a')] });
  const { lastUpdated } = await store.commit({ writes: [{ ...obs(id, 'b'), op: 'update' }] });
  const h = await store.history({ type: 'Observation', id, since: Date.parse(lastUpdated), count: 10 });
  t.same(h.entries.map((e) => e.versionId), [2]);
});

t.test('system history includes every type', async (t) => {
  const a = newId();
  const b = newId();
  await store.commit({ writes: [obs(a, 'a'), { op: 'create', type: 'Patient', id: b, resource: { resourceType: 'Patient' } }] });
  const h = await store.history({ count: 2 });
  t.same(h.entries.map((e) => e.type).sort(), ['Observation', 'Patient']);
});

// ---- search -----------------------------------------------------------------------------------

/** Creates Condition resources with the given index values, returns their ids in order. */
async function seed(tag: string, rows: { index: IndexValue[]; sort?: Record<string, string> }[]): Promise<string[]> {
  const ids = rows.map(() => newId('c'));
  await store.commit({
    writes: rows.map((r, n) => ({
      op: 'create',
      type: 'Condition',
      id: ids[n],
      resource: { resourceType: 'Condition', subject: { reference: 'Patient/x' } },
      index: [{ param: 'tag', value: tag }, ...r.index],
      sortKeys: r.sort,
    })),
  });
  return ids;
}

async function ids(where: Parameters<Store['search']>[0]['where'], tag: string, extra: Partial<Parameters<Store['search']>[0]> = {}): Promise<string[]> {
  const page = await store.search({ types: ['Condition'], where: { and: [{ param: 'tag', in: [tag] }, ...(where ? [where] : [])] }, count: 100, ...extra });
  return page.entries.map((e) => e.id);
}

t.test('search by exact keys matches any of them', async (t) => {
  const tag = newId('tag');
  const [a, b] = await seed(tag, [{ index: [{ param: 'code', value: 'k1' }] }, { index: [{ param: 'code', value: 'k2' }] }, { index: [{ param: 'code', value: 'k3' }] }]);
  t.same((await ids({ param: 'code', in: ['k1', 'k2'] }, tag)).sort(), [a, b].sort());
});

t.test('a key of one parameter does not match another parameter', async (t) => {
  const tag = newId('tag');
  await seed(tag, [{ index: [{ param: 'code', value: 'k1' }] }]);
  t.same(await ids({ param: 'category', in: ['k1'] }, tag), []);
});

t.test('search with and / or / not combines conditions', async (t) => {
  const tag = newId('tag');
  const [a, b, c] = await seed(tag, [
    { index: [{ param: 'code', value: 'x' }, { param: 'status', value: 'active' }] },
    { index: [{ param: 'code', value: 'x' }, { param: 'status', value: 'resolved' }] },
    { index: [{ param: 'code', value: 'y' }, { param: 'status', value: 'active' }] },
  ]);
  t.same(await ids({ and: [{ param: 'code', in: ['x'] }, { param: 'status', in: ['active'] }] }, tag), [a].sort());
  t.same((await ids({ or: [{ param: 'code', in: ['y'] }, { param: 'status', in: ['resolved'] }] }, tag)).sort(), [b, c].sort());
  t.same((await ids({ not: { param: 'status', in: ['active'] } }, tag)).sort(), [b]);
});

t.test('prefix and contains match inside one parameter', async (t) => {
  const tag = newId('tag');
  const [a, b] = await seed(tag, [
    { index: [{ param: 'name', value: 't:dupont' }] },
    { index: [{ param: 'name', value: 't:martin-dupuis' }] },
    { index: [{ param: 'other', value: 't:dupont' }] },
  ]);
  t.same(await ids({ param: 'name', prefix: 't:dup' }, tag), [a]);
  t.same((await ids({ param: 'name', contains: 'dup' }, tag)).sort(), [a, b].sort());
  t.same(await ids({ param: 'name', contains: 'name' }, tag), [], 'the parameter name itself is not searched');
});

t.test('range bounds compare low and high values numerically', async (t) => {
  const tag = newId('tag');
  const day = (d: string) => Date.parse(d);
  const [jan, feb, mar] = await seed(tag, [
    { index: [{ param: 'date', low: day('2024-01-01'), high: day('2024-01-31') }] },
    { index: [{ param: 'date', low: day('2024-02-01'), high: day('2024-02-29') }] },
    { index: [{ param: 'date', low: day('2024-03-01'), high: day('2024-03-31') }] },
  ]);
  t.same((await ids({ param: 'date', bound: 'high', cmp: 'ge', value: day('2024-02-15') }, tag)).sort(), [feb, mar].sort());
  t.same((await ids({ param: 'date', bound: 'low', cmp: 'lt', value: day('2024-02-01') }, tag)).sort(), [jan]);
  t.same((await ids({ param: 'date', bound: 'low', cmp: 'le', value: day('2024-02-01') }, tag)).sort(), [jan, feb].sort());
  t.same((await ids({ param: 'date', bound: 'high', cmp: 'gt', value: day('2024-03-31') }, tag)).sort(), []);
  t.same(
    (await ids({ and: [{ param: 'date', bound: 'low', cmp: 'ge', value: day('2024-02-01') }, { param: 'date', bound: 'high', cmp: 'le', value: day('2024-02-29') }] }, tag)).sort(),
    [feb],
  );
});

t.test('a range bound on one parameter never matches another parameter of the same resource', async (t) => {
  const tag = newId('tag');
  await seed(tag, [{ index: [{ param: 'date', low: 10, high: 20 }, { param: 'onset', low: 1000, high: 2000 }] }]);
  t.same(await ids({ param: 'date', bound: 'high', cmp: 'gt', value: 500 }, tag), []);
  t.same(await ids({ param: 'onset', bound: 'low', cmp: 'lt', value: 500 }, tag), []);
  t.equal((await ids({ param: 'onset', bound: 'low', cmp: 'gt', value: 500 }, tag)).length, 1);
});

t.test('range bounds order negative, zero and fractional numbers', async (t) => {
  const tag = newId('tag');
  const values = [-5.5, -1, 0, 0.25, 3, 1e12];
  const created = await seed(tag, values.map((v) => ({ index: [{ param: 'value', low: v, high: v }] })));
  const above = await ids({ param: 'value', bound: 'low', cmp: 'gt', value: -1 }, tag);
  t.same(above.sort(), created.slice(2).sort());
  const below = await ids({ param: 'value', bound: 'high', cmp: 'lt', value: 0.25 }, tag);
  t.same(below.sort(), created.slice(0, 3).sort());
});

t.test('missing finds resources with no value for a parameter', async (t) => {
  const tag = newId('tag');
  const [withCode, withDate, none] = await seed(tag, [{ index: [{ param: 'code', value: 'x' }] }, { index: [{ param: 'onset', low: 1, high: 2 }] }, { index: [] }]);
  t.same((await ids({ param: 'code', missing: true }, tag)).sort(), [withDate, none].sort());
  t.same(await ids({ param: 'code', missing: false }, tag), [withCode]);
  t.same((await ids({ param: 'onset', missing: false }, tag)).sort(), [withDate]);
});

t.test('search by ids and by lastUpdated', async (t) => {
  const tag = newId('tag');
  const [a, b] = await seed(tag, [{ index: [] }, { index: [] }]);
  t.same(await ids({ ids: [b] }, tag), [b]);
  const read = await store.read('Condition', a);
  const ts = Date.parse(read?.lastUpdated ?? '');
  t.same((await ids({ lastUpdated: { cmp: 'ge', value: ts } }, tag)).sort(), [a, b].sort());
  t.same(await ids({ lastUpdated: { cmp: 'gt', value: ts } }, tag), []);
});

t.test('only the current version of a resource is searched', async (t) => {
  const tag = newId('tag');
  const [a] = await seed(tag, [{ index: [{ param: 'status', value: 'active' }] }]);
  await store.commit({
    writes: [{ op: 'update', type: 'Condition', id: a, resource: { resourceType: 'Condition' }, index: [{ param: 'tag', value: tag }, { param: 'status', value: 'resolved' }] }],
  });
  t.same(await ids({ param: 'status', in: ['active'] }, tag), []);
  t.same(await ids({ param: 'status', in: ['resolved'] }, tag), [a]);
});

t.test('sort ascending and descending puts resources without a value first and last', async (t) => {
  const tag = newId('tag');
  const [b, none, a, c] = await seed(tag, [
    { index: [], sort: { date: sortKey(2) } },
    { index: [] },
    { index: [], sort: { date: sortKey(1) } },
    { index: [], sort: { date: sortKey(3) } },
  ]);
  t.same(await ids(undefined, tag, { sort: [{ key: 'date' }] }), [none, a, b, c]);
  t.same(await ids(undefined, tag, { sort: [{ key: 'date', descending: true }] }), [c, b, a, none]);
});

t.test('sort on several keys breaks ties with the next key', async (t) => {
  const tag = newId('tag');
  const [x1, x2, y1] = await seed(tag, [
    { index: [], sort: { family: sortKey('x'), given: sortKey('1') } },
    { index: [], sort: { family: sortKey('x'), given: sortKey('2') } },
    { index: [], sort: { family: sortKey('y'), given: sortKey('1') } },
  ]);
  t.same(await ids(undefined, tag, { sort: [{ key: 'family' }, { key: 'given', descending: true }] }), [x2, x1, y1]);
});

t.test('paging with a cursor visits every match once, also with sort keys and missing values', async (t) => {
  const tag = newId('tag');
  const rows = Array.from({ length: 11 }, (_, n) => ({ index: [], sort: n % 3 === 0 ? undefined : { date: sortKey(n % 4) } }));
  const created = await seed(tag, rows);
  for (const descending of [false, true]) {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.search({ types: ['Condition'], where: { param: 'tag', in: [tag] }, sort: [{ key: 'date', descending }], count: 4, cursor });
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.next;
      pages++;
    } while (cursor);
    t.equal(pages, 3);
    t.same([...seen].sort(), [...created].sort(), `descending=${descending}`);
  }
});

t.test('paging stays consistent while others write: no repeats, nothing that existed is skipped', async (t) => {
  const tag = newId('tag');
  const created = await seed(tag, Array.from({ length: 10 }, () => ({ index: [] })));
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ types: ['Condition'], where: { param: 'tag', in: [tag] }, count: 3, cursor });
    seen.push(...page.entries.map((e) => e.id));
    cursor = page.next;
    // Another client adds matching resources between our pages.
    await seed(tag, [{ index: [] }]);
  } while (cursor);
  t.equal(new Set(seen).size, seen.length, 'no repeats');
  for (const id of created) t.ok(seen.includes(id), `${id} seen`);
});

t.test('total counts all matches when asked', async (t) => {
  const tag = newId('tag');
  await seed(tag, Array.from({ length: 5 }, () => ({ index: [] })));
  const page = await store.search({ types: ['Condition'], where: { param: 'tag', in: [tag] }, count: 2, total: true });
  t.equal(page.total, 5);
  t.equal(page.entries.length, 2);
  const without = await store.search({ types: ['Condition'], where: { param: 'tag', in: [tag] }, count: 2 });
  t.equal(without.total, undefined);
});

t.test('search over several types returns each type', async (t) => {
  const tag = newId('tag');
  const c = newId();
  const p = newId();
  await store.commit({
    writes: [
      { op: 'create', type: 'Condition', id: c, resource: { resourceType: 'Condition' }, index: [{ param: 'tag', value: tag }] },
      { op: 'create', type: 'Procedure', id: p, resource: { resourceType: 'Procedure' }, index: [{ param: 'tag', value: tag }] },
    ],
  });
  const page = await store.search({ types: ['Condition', 'Procedure'], where: { param: 'tag', in: [tag] }, count: 10 });
  t.same(page.entries.map((e) => `${e.type}/${e.id}`).sort(), [`Condition/${c}`, `Procedure/${p}`].sort());
});

t.test('a malformed cursor is a bad request', async (t) => {
  await expectStoreError(t, store.search({ types: ['Condition'], count: 2, cursor: 'not-a-cursor' }), 'bad-request');
});

// ---- blobs ------------------------------------------------------------------------------------

function bytes(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Splits a buffer into pieces of 64 KiB, as an HTTP body arrives. */
function pieces(buf: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 65536) parts.push(buf.subarray(i, i + 65536));
  return Readable.from(parts);
}

t.test('a blob is stored in chunks and read back whole with its digests', async (t) => {
  const data = bytes(3 * 1024 * 1024 + 17);
  const info = await store.putBlob(pieces(data), { contentType: 'application/pdf' });
  t.equal(info.size, data.length);
  t.equal(info.sha1, createHash('sha1').update(data).digest('hex'));
  t.equal(info.sha256, createHash('sha256').update(data).digest('hex'));
  t.same(await store.blobInfo(info.id), info);
  t.ok((await collect(await store.readBlob(info.id))).equals(data));
});

t.test('a byte range across chunk boundaries reads exactly those bytes', async (t) => {
  const data = bytes(600 * 1024);
  const info = await store.putBlob(pieces(data), { contentType: 'application/octet-stream' });
  const start = 255 * 1024 - 10;
  const end = 510 * 1024 + 5;
  t.ok((await collect(await store.readBlob(info.id, { start, end }))).equals(data.subarray(start, end + 1)));
  t.ok((await collect(await store.readBlob(info.id, { start: 0, end: 0 }))).equals(data.subarray(0, 1)));
});

t.test('an empty blob is stored and read back', async (t) => {
  const info = await store.putBlob(Readable.from([]), { contentType: 'text/plain' });
  t.equal(info.size, 0);
  t.equal((await collect(await store.readBlob(info.id))).length, 0);
});

t.test('a blob over the size limit is refused and not kept', async (t) => {
  await expectStoreError(t, store.putBlob(pieces(bytes(300 * 1024)), { contentType: 'application/pdf', maxBytes: 200 * 1024 }), 'too-large');
});

t.test('an unknown blob is absent', async (t) => {
  t.equal(await store.blobInfo('00000000-0000-0000-0000-000000000000'), undefined);
  t.equal(await store.readBlob('00000000-0000-0000-0000-000000000000'), undefined);
});

t.test('a commit naming an unknown blob is refused and writes nothing', async (t) => {
  const id = newId();
  await expectStoreError(t, store.commit({ writes: [obs(id, 'a')], blobs: ['00000000-0000-0000-0000-000000000000'] }), 'bad-request');
  t.equal(await store.read('Observation', id), undefined);
});

t.test('a commit keeps the blobs it names', async (t) => {
  const info = await store.putBlob(pieces(bytes(1000)), { contentType: 'application/pdf' });
  const id = newId();
  await store.commit({ writes: [{ op: 'create', type: 'Binary', id, resource: { resourceType: 'Binary', contentType: 'application/pdf' } }], blobs: [info.id] });
  t.same(await store.blobInfo(info.id), info);
});

// ---- log --------------------------------------------------------------------------------------

t.test('log entries get consecutive sequence numbers per stream', async (t) => {
  const stream = newId('log').replaceAll('-', '_');
  await store.commit({ writes: [], log: [{ stream, entry: { n: 1 } }, { stream, entry: { n: 2 } }] });
  await store.commit({ writes: [obs(newId(), 'a')], log: [{ stream, entry: { n: 3 } }] });
  const all = await store.readLog(stream, { limit: 10 });
  t.same(all.map((e) => [e.seq, e.entry.n]), [[1, 1], [2, 2], [3, 3]]);
  t.same((await store.readLog(stream, { afterSeq: 2, limit: 10 })).map((e) => e.seq), [3]);
  t.ok(all.every((e) => !Number.isNaN(Date.parse(e.at))));
});

// ---- outbox -----------------------------------------------------------------------------------

t.test('an outbox message is handed out once per lease, again after retry, never after completion', async (t) => {
  const topic = newId('topic');
  await store.commit({ writes: [], outbox: [{ topic, payload: { to: 'p1' } }] });
  const mine = async (now?: number) => (await store.claimOutbox({ limit: 50, leaseMs: 60_000, now })).filter((m) => m.topic === topic);
  const first = await mine();
  t.equal(first.length, 1);
  t.same(first[0].payload, { to: 'p1' });
  t.equal(first[0].attempts, 1);
  t.same(await mine(), [], 'not handed out again while leased');
  await store.retryOutbox(first[0].id, Date.now() - 1);
  const second = await mine();
  t.equal(second.length, 1);
  t.equal(second[0].attempts, 2);
  await store.completeOutbox(second[0].id);
  t.same(await mine(Date.now() + 3600_000), [], 'never after completion');
});

t.test('an outbox message is not handed out before its time', async (t) => {
  const topic = newId('topic');
  const later = Date.now() + 3600_000;
  await store.commit({ writes: [], outbox: [{ topic, payload: {}, notBefore: later }] });
  t.same((await store.claimOutbox({ limit: 50, leaseMs: 1000 })).filter((m) => m.topic === topic), []);
  t.equal((await store.claimOutbox({ limit: 50, leaseMs: 1000, now: later + 1 })).filter((m) => m.topic === topic).length, 1);
});

t.test('ping answers true on an open store', async (t) => {
  t.equal(await store.ping(), true);
});

// ---- concurrency across store instances (several server processes on one database) ----------

t.test('concurrent commits appending to one log stream all land, with distinct consecutive numbers', async (t) => {
  const stream = newId('conc').replaceAll('-', '_');
  const results = await Promise.allSettled(Array.from({ length: 12 }, (_, n) => store.commit({ writes: [], log: [{ stream, entry: { n } }] })));
  t.equal(results.filter((r) => r.status === 'rejected').length, 0, 'no commit failed');
  const seqs = (await store.readLog(stream, { limit: 100 })).map((e) => e.seq);
  t.equal(seqs.length, 12);
  t.equal(new Set(seqs).size, 12, 'no number given twice');
});

t.test('several store instances claiming at once hand each outbox message out once', async (t) => {
  const topic = newId('claim');
  await store.commit({ writes: [], outbox: Array.from({ length: 30 }, (_, n) => ({ topic, payload: { n } })) });
  const others = await Promise.all(Array.from({ length: 3 }, async () => {
    const s = createStore(settings);
    await s.open();
    return s;
  }));
  t.teardown(async () => {
    for (const s of others) await s.close();
  });
  const claims = await Promise.all([store, ...others].map((s) => s.claimOutbox({ limit: 30, leaseMs: 60_000 })));
  const mine = claims.flat().filter((m) => m.topic === topic);
  t.equal(mine.length, new Set(mine.map((m) => m.id)).size, 'no message handed out twice');
  t.equal(mine.length, 30, 'every message handed out');
});
