// The MHD ITI-67 search (DocumentReference by patient, type, date and status) on indexes, not
// scans: the store query is built as the repository builds it (parse + compile), then each
// adapter explains it. The embedded store must answer every criterion from its search_keys
// index. FerretDB 1.24 (our MongoDB in CI, SQLite backend) pushes no filter down at all, so on
// that pass the test checks what holds there: a filter on indexed fields only, the indexes
// present, and FerretDB's own report that it did not push the filter down. On a real MongoDB
// the winning plan must be an index scan.
import t from 'tap';
import { MongoClient } from 'mongodb';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { searchRegistry } from '../../src/fhir/search/registry.ts';
import { storeQuery } from '../../src/fhir/search/store-query.ts';
import type { SearchQuery } from '../../src/store/index.ts';
import type { MongoStore } from '../../src/store/mongo/mongo-store.ts';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { openTestStore, testStoreKind, type TestStoreSettings } from '../support/store.ts';

let close: () => Promise<void>;
let store: SqliteStore | MongoStore;
let settings: TestStoreSettings;
let query: SearchQuery;
let patient: string;
let expectedMatch: string;

const ITI_67 = (patientId: string): [string, string][] => [
  ['patient', `Patient/${patientId}`],
  ['type', 'http://loinc.org|11488-4'],
  ['date', 'ge2024-01-01'],
  ['status', 'current'],
];

t.before(async () => {
  const opened = await openTestStore();
  settings = opened.settings;
  store = opened.store as SqliteStore | MongoStore;
  const app = buildApp({ config: loadConfig({ DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' }), store: opened.store, fhir: { validate: null } });
  close = async () => {
    await app.close();
    await opened.cleanup();
  };
  const create = async (body: Record<string, unknown>) => {
    const r = await app.inject({ method: 'POST', url: `/fhir/${body.resourceType}`, headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify(body) });
    if (r.statusCode !== 201) throw new Error(`create: ${r.statusCode} ${r.body}`);
    return JSON.parse(r.body).id as string;
  };
  patient = await create({ resourceType: 'Patient', name: [{ family: 'Index' }] });
  const doc = (type: string, date: string, status = 'current') => ({
    resourceType: 'DocumentReference',
    status,
    type: { coding: [{ system: 'http://loinc.org', code: type }] },
    subject: { reference: `Patient/${patient}` },
    date,
    content: [{ attachment: { contentType: 'application/pdf' } }],
  });
  expectedMatch = await create(doc('11488-4', '2024-03-12T10:00:00Z'));
  await create(doc('11488-4', '2023-03-12T10:00:00Z'));
  await create(doc('11490-0', '2024-03-12T10:00:00Z'));
  await create(doc('11488-4', '2024-03-12T10:00:00Z', 'superseded'));
  query = await storeQuery(searchRegistry(), 'DocumentReference', ITI_67(patient));
});
t.teardown(() => close());

t.test('the query the plan is about finds exactly the matching document', async (t) => {
  const page = await store.search(query);
  t.same(page.entries.map((e) => e.id), [expectedMatch]);
});

t.test('on the embedded store every criterion is looked up in the search_keys indexes and nothing is scanned', { skip: testStoreKind() === 'sqlite' ? false : 'MongoDB pass' }, async (t) => {
  const plan = (store as SqliteStore).explainSearch(query);
  t.comment(plan.join('\n'));
  const lookups = plan.filter((line) => /SEARCH search_keys (EXISTS )?USING COVERING INDEX search_keys_(lookup|by_owner)/.test(line));
  // One per criterion (patient, type, date, status), plus the one SQLite drives the loop with.
  t.ok(lookups.length >= 4, `an index lookup per criterion (${lookups.length})`);
  t.ok(plan.some((line) => /^SEARCH c USING PRIMARY KEY/.test(line)), 'resources are fetched by primary key');
  t.same(plan.filter((line) => /\bSCAN\b/.test(line)), [], 'no SCAN of current, versions or search_keys');
});

t.test('several values of one token become one list of keys, not an OR of lists', async (t) => {
  const q = await storeQuery(searchRegistry(), 'DocumentReference', [['identifier', 'urn:oid:1.2.3|a,urn:oid:1.2.3|b']]);
  t.match(q.where, { param: 'identifier', in: [/a$/, /b$/] });
  t.notOk(q.where && 'or' in q.where);
});

t.test('on the embedded store a search for several identifiers is driven by the index, without a scan', { skip: testStoreKind() === 'sqlite' ? false : 'MongoDB pass' }, async (t) => {
  const q = await storeQuery(searchRegistry(), 'DocumentReference', [['identifier', 'urn:oid:1.2.3|a,urn:oid:1.2.3|b']]);
  const plan = (store as SqliteStore).explainSearch(q);
  t.comment(plan.join('\n'));
  t.ok(plan.some((line) => /SEARCH search_keys USING COVERING INDEX search_keys_lookup/.test(line)), 'the keys are looked up in the index');
  t.ok(plan.some((line) => /^SEARCH c USING PRIMARY KEY \(type=\? AND id=\?\)/.test(line)), 'and resources fetched by (type, id) from them, not walked by type');
  t.same(plan.filter((line) => /\bSCAN\b/.test(line)), [], 'no SCAN');
});

/** Field paths a MongoDB filter tests (operators left out). */
function fieldsOf(filter: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(filter)) for (const f of filter) fieldsOf(f, out);
  else if (typeof filter === 'object' && filter !== null) {
    for (const [key, value] of Object.entries(filter)) {
      if (key.startsWith('$')) fieldsOf(value, out);
      else out.add(key);
    }
  }
  return out;
}

t.test('on MongoDB the search indexes {t,k}, {t,lo} and {t,hi} exist', { skip: testStoreKind() === 'mongo' ? false : 'embedded store pass' }, async (t) => {
  const client = await MongoClient.connect(settings.mongodbUri as string);
  t.teardown(() => client.close());
  const indexes = await client.db(settings.mongodbDatabase).collection('versions').listIndexes().toArray();
  const keys = indexes.map((i) => JSON.stringify(i.key));
  for (const wanted of [{ t: 1, k: 1 }, { t: 1, lo: 1 }, { t: 1, hi: 1 }]) t.ok(keys.includes(JSON.stringify(wanted)), `index ${JSON.stringify(wanted)}`);
});

t.test('on MongoDB the filter tests only indexed fields, and the plan is an index scan where the server can push it down', { skip: testStoreKind() === 'mongo' ? false : 'embedded store pass' }, async (t) => {
  const explain = (await (store as MongoStore).explainSearch(query)) as Record<string, any>;
  t.equal(explain.ok, 1);
  const filter = explain.command?.filter ?? explain.queryPlanner?.parsedQuery;
  // t (type), cur/del (current, not deleted) and the multikey index arrays k (exact keys) and hi (range bounds).
  t.same([...fieldsOf(filter)].sort(), ['cur', 'del', 'hi', 'k', 't']);
  if (explain.serverInfo?.ferretdbVersion) {
    // FerretDB 1.24 with its SQLite backend: no filter pushdown, whatever the indexes (its own report).
    t.comment(`FerretDB ${explain.serverInfo.ferretdbVersion}: ${JSON.stringify(explain.queryPlanner)}`);
    t.equal(explain.filterPushdown, false, 'FerretDB 1.24 reports that it filters after reading');
    t.match(JSON.stringify(explain.queryPlanner), /SCAN versions_/, 'and its SQLite plan scans the collection table');
  } else {
    const plan = JSON.stringify(explain.queryPlanner?.winningPlan);
    t.match(plan, /IXSCAN/, 'an index scan');
    t.notMatch(plan, /COLLSCAN/, 'no collection scan');
  }
});
