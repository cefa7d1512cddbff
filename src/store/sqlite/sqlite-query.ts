// Compiles the store's query tree to SQL over `current` (alias c) and `search_keys`.
//
// A search is driven from its most selective criterion: one exact-key or range criterion of the
// top-level AND (the caller's estimate picks it, e.g. the patient reference rather than a
// document type shared by thousands) lists the candidate (type, id) pairs through the
// search_keys_lookup index; every other criterion is a correlated EXISTS probe on the
// candidate's own keys (an index seek per candidate). Before, every criterion was an IN
// subquery, and SQLite could materialise the least selective one (all documents not masked,
// say) on every request. Searches never scan the resources.
import type { SQLInputValue } from 'node:sqlite';
import { StoreError } from '../errors.ts';
import { isPlainName, KEY_MAX, paramKey, paramRange, sortKey } from '../index-keys.ts';
import { keysetBranches, type SortColumn, type SortValue } from '../keyset.ts';
import type { Condition } from '../types.ts';

export interface Sql {
  sql: string;
  params: SQLInputValue[];
}

const COMPARE = { gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

function param(name: string): string {
  if (!isPlainName(name)) throw new StoreError('bad-request', 'invalid search parameter name');
  return name;
}

/** A criterion on one parameter's stored keys: which field(s), and a test on `key`. */
interface KeyTest {
  fields: ('k' | 'lo' | 'hi')[];
  test: string;
  params: SQLInputValue[];
  /** Exact keys: probed through search_keys_lookup (field, key, type, id); ranges through the owner index. */
  exact: boolean;
}

type Leaf = Extract<Condition, { param: string }>;

function keyTest(cond: Leaf): KeyTest {
  const p = param(cond.param);
  if ('in' in cond) return { fields: ['k'], test: `key IN (${placeholders(cond.in.length)})`, params: cond.in.map((k) => paramKey(p, k)), exact: true };
  if ('prefix' in cond) {
    const start = paramKey(p, cond.prefix);
    return { fields: ['k'], test: 'key >= ? AND key < ?', params: [start, start + KEY_MAX], exact: false };
  }
  if ('contains' in cond) {
    const r = paramRange(p);
    return { fields: ['k'], test: 'key >= ? AND key < ? AND instr(substr(key, ?), ?) > 0', params: [r.start, r.end, r.start.length + 1, cond.contains], exact: false };
  }
  if ('bound' in cond) {
    const r = paramRange(p);
    // keys are `param=<sortKey>`: compare inside this parameter's range only.
    return { fields: [cond.bound === 'low' ? 'lo' : 'hi'], test: `key ${COMPARE[cond.cmp]} ? AND key >= ? AND key < ?`, params: [paramKey(p, sortKey(cond.value)), r.start, r.end], exact: false };
  }
  if ('missing' in cond) {
    const r = paramRange(p);
    return { fields: ['k', 'lo'], test: 'key >= ? AND key < ?', params: [r.start, r.end], exact: false };
  }
  throw new StoreError('bad-request', 'unknown query condition');
}

function fieldTest(fields: KeyTest['fields']): string {
  return fields.length === 1 ? `field = '${fields[0]}'` : `field IN (${fields.map((f) => `'${f}'`).join(', ')})`;
}

/** Does candidate c have a key passing this test? One index seek (unqualified columns are search_keys'). */
function exists(t: KeyTest): Sql {
  const index = t.exact ? 'search_keys_lookup' : 'search_keys_by_owner';
  return {
    sql: `EXISTS (SELECT 1 FROM search_keys INDEXED BY ${index} WHERE ${fieldTest(t.fields)} AND ${t.test} AND type = c.type AND id = c.id)`,
    params: t.params,
  };
}

function compileCondition(cond: Condition): Sql {
  if ('and' in cond || 'or' in cond) {
    const parts = ('and' in cond ? cond.and : cond.or).map((c) => compileCondition(c));
    if (parts.length === 0) return { sql: 'and' in cond ? '1' : '0', params: [] };
    return { sql: `(${parts.map((p) => p.sql).join('and' in cond ? ' AND ' : ' OR ')})`, params: parts.flatMap((p) => p.params) };
  }
  if ('not' in cond) {
    const inner = compileCondition(cond.not);
    return { sql: `NOT ${inner.sql}`, params: inner.params };
  }
  if ('ids' in cond) return { sql: `c.id IN (${placeholders(cond.ids.length)})`, params: cond.ids };
  if ('lastUpdated' in cond) return { sql: `c.ts ${COMPARE[cond.lastUpdated.cmp]} ?`, params: [cond.lastUpdated.value] };
  if ('in' in cond && cond.in.length === 0) return { sql: '0', params: [] };
  if ('missing' in cond) {
    const has = exists(keyTest(cond));
    return cond.missing ? { sql: `NOT ${has.sql}`, params: has.params } : has;
  }
  return exists(keyTest(cond));
}

/** The conditions ANDed at the top of the tree (nested ANDs flattened). */
function conjuncts(cond: Condition): Condition[] {
  return 'and' in cond ? cond.and.flatMap(conjuncts) : [cond];
}

/** A criterion that can list candidates by itself: exact keys, a prefix or a range. */
function canDrive(cond: Condition): cond is Leaf {
  return 'param' in cond && ('in' in cond ? cond.in.length > 0 : 'prefix' in cond || 'bound' in cond);
}

/** The candidates a driving criterion lists: (type, id) of current keys passing its test. */
function candidates(types: string[], t: KeyTest): Sql {
  return {
    sql: `SELECT type, id FROM search_keys WHERE ${fieldTest(t.fields)} AND ${t.test} AND type IN (${placeholders(types.length)})`,
    params: [...t.params, ...types],
  };
}

/** A capped count of a criterion's candidates, for picking the driver (bounded cost). */
export const ESTIMATE_CAP = 256;
export function estimateSql(types: string[], cond: Leaf): Sql {
  const c = candidates(types, keyTest(cond));
  return { sql: `SELECT count(*) AS n FROM (${c.sql} LIMIT ${ESTIMATE_CAP})`, params: c.params };
}

/** How many candidates a criterion lists (capped); the adapter asks the database. */
export type Estimate = (probe: Sql) => number;

/** WHERE clause for current, non-deleted resources of these types matching `where`. */
export function compileWhere(types: string[], where: Condition | undefined, estimate?: Estimate): Sql {
  if (types.length === 0) throw new StoreError('bad-request', 'search without a resource type');
  const base = `c.type IN (${placeholders(types.length)}) AND c.deleted = 0`;
  if (!where) return { sql: base, params: [...types] };
  const all = conjuncts(where);
  // A list of ids is as selective as it gets: the primary key answers it.
  const drivers = all.some((c) => 'ids' in c) ? [] : all.filter(canDrive);
  let driver: Leaf | undefined;
  if (drivers.length === 1 || (drivers.length > 1 && !estimate)) driver = drivers[0];
  else if (drivers.length > 1 && estimate) {
    let best = Infinity;
    for (const d of drivers) {
      const n = estimate(estimateSql(types, d));
      if (n < best) [best, driver] = [n, d];
      if (n === 0) break;
    }
  }
  const parts: Sql[] = [{ sql: base, params: [...types] }];
  if (driver) {
    const c = candidates(types, keyTest(driver));
    parts.push({ sql: `(c.type, c.id) IN (${c.sql})`, params: c.params });
  }
  for (const cond of all) if (cond !== driver) parts.push(compileCondition(cond));
  return { sql: parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => p.params) };
}

export function sortExpression(key: string): string {
  if (key === '_type') return 'c.type';
  if (key === '_id') return 'c.id';
  if (!isPlainName(key)) throw new StoreError('bad-request', 'invalid sort key');
  return `json_extract(c.sort, '$."${key}"')`;
}

function compare(expr: string, value: SortValue, descending: boolean): Sql {
  // NULL (no value) sorts first ascending, last descending, as in MongoDB.
  if (value === null) return descending ? { sql: '0', params: [] } : { sql: `${expr} IS NOT NULL`, params: [] };
  return descending ? { sql: `(${expr} < ? OR ${expr} IS NULL)`, params: [value] } : { sql: `${expr} > ?`, params: [value] };
}

export function compileKeyset(columns: SortColumn[], values: SortValue[]): Sql {
  const branches = keysetBranches(columns, values).map((b) => {
    const parts: Sql[] = b.equal.map((e) => (e.value === null ? { sql: `${sortExpression(e.column.key)} IS NULL`, params: [] } : { sql: `${sortExpression(e.column.key)} = ?`, params: [e.value] }));
    parts.push(compare(sortExpression(b.after.column.key), b.after.value, b.after.column.descending));
    return { sql: `(${parts.map((p) => p.sql).join(' AND ')})`, params: parts.flatMap((p) => p.params) };
  });
  return { sql: `(${branches.map((b) => b.sql).join(' OR ')})`, params: branches.flatMap((b) => b.params) };
}
