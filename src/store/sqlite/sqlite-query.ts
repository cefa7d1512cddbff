// Compiles the store's query tree to SQL over `current` (alias c) and `search_keys`.
// Every parameter condition is a `(c.type, c.id) IN (SELECT ... FROM search_keys ...)` that the
// search_keys_lookup index answers, so searches never scan the resources.
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

function keysOf(types: string[], field: 'k' | 'lo' | 'hi', test: string, params: SQLInputValue[]): Sql {
  return {
    sql: `(c.type, c.id) IN (SELECT type, id FROM search_keys WHERE field = '${field}' AND ${test} AND type IN (${placeholders(types.length)}))`,
    params: [...params, ...types],
  };
}

function compileCondition(types: string[], cond: Condition): Sql {
  if ('and' in cond || 'or' in cond) {
    const parts = ('and' in cond ? cond.and : cond.or).map((c) => compileCondition(types, c));
    if (parts.length === 0) return { sql: 'and' in cond ? '1' : '0', params: [] };
    return { sql: `(${parts.map((p) => p.sql).join('and' in cond ? ' AND ' : ' OR ')})`, params: parts.flatMap((p) => p.params) };
  }
  if ('not' in cond) {
    const inner = compileCondition(types, cond.not);
    return { sql: `NOT ${inner.sql}`, params: inner.params };
  }
  if ('ids' in cond) return { sql: `c.id IN (${placeholders(cond.ids.length)})`, params: cond.ids };
  if ('lastUpdated' in cond) return { sql: `c.ts ${COMPARE[cond.lastUpdated.cmp]} ?`, params: [cond.lastUpdated.value] };
  const p = param(cond.param);
  if ('in' in cond) {
    if (cond.in.length === 0) return { sql: '0', params: [] };
    return keysOf(types, 'k', `key IN (${placeholders(cond.in.length)})`, cond.in.map((k) => paramKey(p, k)));
  }
  if ('prefix' in cond) {
    const start = paramKey(p, cond.prefix);
    return keysOf(types, 'k', 'key >= ? AND key < ?', [start, start + KEY_MAX]);
  }
  if ('contains' in cond) {
    const r = paramRange(p);
    return keysOf(types, 'k', 'key >= ? AND key < ? AND instr(substr(key, ?), ?) > 0', [r.start, r.end, r.start.length + 1, cond.contains]);
  }
  if ('bound' in cond) {
    const r = paramRange(p);
    const op = COMPARE[cond.cmp];
    // keys are `param=<sortKey>`: compare inside this parameter's range only.
    return keysOf(types, cond.bound === 'low' ? 'lo' : 'hi', `key ${op} ? AND key >= ? AND key < ?`, [paramKey(p, sortKey(cond.value)), r.start, r.end]);
  }
  if ('missing' in cond) {
    const r = paramRange(p);
    const has = keysOf(types, 'k', 'key >= ? AND key < ?', [r.start, r.end]);
    const hasRange = keysOf(types, 'lo', 'key >= ? AND key < ?', [r.start, r.end]);
    const sql = `(${has.sql} OR ${hasRange.sql})`;
    return { sql: cond.missing ? `NOT ${sql}` : sql, params: [...has.params, ...hasRange.params] };
  }
  throw new StoreError('bad-request', 'unknown query condition');
}

/** WHERE clause for current, non-deleted resources of these types matching `where`. */
export function compileWhere(types: string[], where: Condition | undefined): Sql {
  if (types.length === 0) throw new StoreError('bad-request', 'search without a resource type');
  const base = `c.type IN (${placeholders(types.length)}) AND c.deleted = 0`;
  if (!where) return { sql: base, params: [...types] };
  const cond = compileCondition(types, where);
  return { sql: `${base} AND ${cond.sql}`, params: [...types, ...cond.params] };
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
