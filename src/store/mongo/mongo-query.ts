// Compiles the store's query tree to a MongoDB filter over the `versions` collection.
// Keys are stored as `param=key` strings in three multikey arrays (k, lo, hi) indexed with the
// type, so one index serves every parameter; ranges use $elemMatch on scalars, which both
// MongoDB and FerretDB 1.x run (FerretDB has no $elemMatch on sub-documents).
import { StoreError } from '../errors.ts';
import { isPlainName, paramKey, paramRange, sortKey } from '../index-keys.ts';
import { keysetBranches, type SortColumn, type SortValue } from '../keyset.ts';
import type { Condition } from '../types.ts';

const OPERATOR = { gt: '$gt', ge: '$gte', lt: '$lt', le: '$lte' } as const;
/** A MongoDB filter document (typed loosely: its field names are built from parameter names). */
export type MongoFilter = Record<string, unknown>;

const NOTHING: MongoFilter = { _id: { $in: [] } };

function param(name: string): string {
  if (!isPlainName(name)) throw new StoreError('bad-request', 'invalid search parameter name');
  return name;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function anyKeyOf(p: string, field: 'k' | 'lo'): MongoFilter {
  return { [field]: { $regex: `^${escapeRegex(paramKey(p, ''))}` } };
}

const HEX = '0123456789abcdef';

/**
 * A regex matching fixed-width lowercase hex strings after (or before) `hex`. FerretDB 1.x
 * evaluates $elemMatch ranges on scalar arrays element by element but not jointly, so the
 * range alone could pair one parameter's key with another's; this regex pins the comparison
 * to one key of one parameter. Real MongoDB still uses the $elemMatch bounds on the index.
 */
export function hexCompareRegex(hex: string, cmp: 'gt' | 'ge' | 'lt' | 'le'): string {
  const greater = cmp === 'gt' || cmp === 'ge';
  const alternatives: string[] = [];
  for (let i = 0; i < hex.length; i++) {
    const at = HEX.indexOf(hex[i]);
    const chars = greater ? HEX.slice(at + 1) : HEX.slice(0, at);
    if (chars) alternatives.push(`${hex.slice(0, i)}[${chars}][0-9a-f]{${hex.length - i - 1}}`);
  }
  if (cmp === 'ge' || cmp === 'le') alternatives.push(hex);
  return alternatives.length ? `(?:${alternatives.join('|')})$` : '[^\\s\\S]';
}

export function compileCondition(cond: Condition): MongoFilter {
  if ('and' in cond) return cond.and.length ? { $and: cond.and.map(compileCondition) } : {};
  if ('or' in cond) return cond.or.length ? { $or: cond.or.map(compileCondition) } : NOTHING;
  if ('not' in cond) return { $nor: [compileCondition(cond.not)] };
  if ('ids' in cond) return { i: { $in: cond.ids } };
  if ('lastUpdated' in cond) return { ts: { [OPERATOR[cond.lastUpdated.cmp]]: cond.lastUpdated.value } };
  const p = param(cond.param);
  if ('in' in cond) return { k: { $in: cond.in.map((k) => paramKey(p, k)) } };
  if ('prefix' in cond) return { k: { $regex: `^${escapeRegex(paramKey(p, cond.prefix))}` } };
  if ('contains' in cond) {
    return { k: { $regex: `^${escapeRegex(paramKey(p, ''))}.*${escapeRegex(cond.contains)}`, $options: 's' } };
  }
  if ('bound' in cond) {
    const r = paramRange(p);
    const encoded = sortKey(cond.value);
    const key = paramKey(p, encoded);
    const field = cond.bound === 'low' ? 'lo' : 'hi';
    const upper = cond.cmp === 'lt' || cond.cmp === 'le';
    // Keep the comparison inside this parameter's keys: [param=, param=MAX).
    const range = upper ? { $gte: r.start, [OPERATOR[cond.cmp]]: key } : { [OPERATOR[cond.cmp]]: key, $lt: r.end };
    // sortKey gives 'n' + 16 hex digits for numbers.
    const regex = `^${escapeRegex(paramKey(p, 'n'))}${hexCompareRegex(encoded.slice(1), cond.cmp)}`;
    return { $and: [{ [field]: { $elemMatch: range } }, { [field]: { $regex: regex } }] };
  }
  if ('missing' in cond) {
    const has = [anyKeyOf(p, 'k'), anyKeyOf(p, 'lo')];
    return cond.missing ? { $nor: has } : { $or: has };
  }
  throw new StoreError('bad-request', 'unknown query condition');
}

export function baseFilter(types: string[]): MongoFilter {
  if (types.length === 0) throw new StoreError('bad-request', 'search without a resource type');
  return { t: { $in: types }, cur: true, del: false };
}

export function sortField(key: string): string {
  if (key === '_type') return 't';
  if (key === '_id') return 'i';
  if (!isPlainName(key)) throw new StoreError('bad-request', 'invalid sort key');
  return `sk.${key}`;
}

export function sortSpec(columns: SortColumn[]): Record<string, 1 | -1> {
  return Object.fromEntries(columns.map((c) => [sortField(c.key), c.descending ? -1 : 1]));
}

function after(field: string, value: SortValue, descending: boolean): MongoFilter {
  // A missing value sorts first ascending (and last descending), as MongoDB orders null.
  if (value === null) return descending ? NOTHING : { [field]: { $ne: null } };
  return descending ? { $or: [{ [field]: { $lt: value } }, { [field]: null }] } : { [field]: { $gt: value } };
}

export function compileKeyset(columns: SortColumn[], values: SortValue[]): MongoFilter {
  return {
    $or: keysetBranches(columns, values).map((b) => ({
      $and: [...b.equal.map((e) => ({ [sortField(e.column.key)]: e.value })), after(sortField(b.after.column.key), b.after.value, b.after.column.descending)],
    })),
  };
}
