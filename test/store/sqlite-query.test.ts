// The embedded store's search compiler (issue 7, W2): a search is driven from its most selective
// criterion and the others are probes on each candidate; checked on the compiled SQL (a pure
// function) and on SQLite's own plan for a search shaped like W2 with consent filtering.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileWhere, type Sql } from '../../src/store/sqlite/sqlite-query.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Condition } from '../../src/store/index.ts';

const PATIENT: Condition = { param: 'patient', in: ['r:Patient/p1'] };
const TYPE: Condition = { param: 'type', in: ['c:11502-2'] };
const NOT_MASKED: Condition = { not: { param: '_flag', in: ['c:masked'] } };

/** The parameter keys the driving subquery lists candidates for (its placeholders come right after the types). */
function driverKeys(sql: Sql, types: string[]): unknown[] {
  const match = /\(c\.type, c\.id\) IN \(SELECT type, id FROM search_keys WHERE field = 'k' AND key IN \(([?, ]+)\)/.exec(sql.sql);
  if (!match) return [];
  return sql.params.slice(types.length, types.length + match[1].split(',').length);
}

t.test('the criterion with the fewest candidates drives the search, whatever its place in the tree', async (t) => {
  const counts: Record<string, number> = { 'type=c:11502-2': 256, 'patient=r:Patient/p1': 12 };
  const estimate = (probe: Sql) => counts[String(probe.params[0])] ?? 0;
  const sql = compileWhere(['DocumentReference'], { and: [TYPE, { and: [PATIENT, NOT_MASKED] }] }, estimate);
  t.same(driverKeys(sql, ['DocumentReference']), ['patient=r:Patient/p1']);
  t.match(sql.sql, /EXISTS \(SELECT 1 FROM search_keys INDEXED BY search_keys_lookup WHERE field = 'k' AND key IN \(\?\) AND type = c\.type AND id = c\.id\)/, 'the type is a probe on the candidate');
  t.match(sql.sql, /NOT EXISTS/, 'the negation is a probe too');
});

t.test('estimates are capped queries over the lookup index, so picking a driver costs little', async (t) => {
  const probes: string[] = [];
  compileWhere(['DocumentReference'], { and: [TYPE, PATIENT] }, (probe) => (probes.push(probe.sql), 1));
  t.equal(probes.length, 2);
  for (const p of probes) t.match(p, /LIMIT 256\)$/);
});

t.test('a list of ids drives by primary key: no other criterion is listed', async (t) => {
  const sql = compileWhere(['DocumentReference'], { and: [TYPE, { ids: ['a', 'b'] }] }, () => t.fail('no estimate needed') as never);
  t.notMatch(sql.sql, /IN \(SELECT/);
  t.match(sql.sql, /c\.id IN \(\?, \?\)/);
});

t.test('without an exact or range criterion at the top, nothing drives and every criterion is a probe', async (t) => {
  const sql = compileWhere(['DocumentReference'], { or: [TYPE, PATIENT] });
  t.notMatch(sql.sql, /IN \(SELECT/);
  t.equal(sql.sql.match(/EXISTS/g)?.length, 2);
});

t.test('on a real database the W2-shaped search lists candidates once, probes the rest, and scans nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-plan-'));
  const store = new SqliteStore({ dataDir: dir });
  await store.open();
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const where: Condition = {
    and: [
      PATIENT,
      TYPE,
      { param: 'date', bound: 'low', cmp: 'ge', value: 0 },
      { and: [{ param: '_dossier', in: ['r:Patient/p1'] }, { or: [{ param: '_author', in: ['r:1'] }, { and: [{ param: '_class', in: ['c:10', 'c:11'] }, NOT_MASKED] }] }] },
    ],
  };
  const plan = store.explainSearch({ types: ['DocumentReference'], where, count: 20, sort: [{ key: 'date', descending: true }] });
  t.comment(plan.join('\n'));
  t.same(plan.filter((line) => /\bSCAN\b/.test(line)), [], 'no SCAN');
  t.ok(plan.some((line) => /^SEARCH c USING PRIMARY KEY \(type=\? AND id=\?\)/.test(line)), 'candidates are fetched by primary key');
  t.ok(plan.some((line) => /USING COVERING INDEX search_keys_by_owner \(type=\? AND id=\? AND field=\? AND key>\? AND key<\?\)/.test(line)), 'the range is a probe on the candidate\'s own keys');
  t.notOk(plan.some((line) => /AUTOMATIC/.test(line)), 'no automatic index built per query');
});
