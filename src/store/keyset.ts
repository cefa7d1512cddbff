// Keyset paging shared by both adapters: a page ends with the sort values of its last row;
// the next page starts strictly after them. Unlike offsets, concurrent writes never shift or
// repeat rows, and a deep page costs the same as the first (Medplum #5005).
import { StoreError } from './errors.ts';
import type { SortKey } from './types.ts';

/** One sort column as the adapters see it: a stored sort key, or the (type, id) tie-breakers. */
export interface SortColumn {
  key: string;
  descending: boolean;
}

/** The columns a search orders by: the requested keys, then type and id to make rows unique. */
export function sortColumns(sort: SortKey[] | undefined): SortColumn[] {
  const columns = (sort ?? []).map((s) => ({ key: s.key, descending: s.descending === true }));
  // A tie-breaker already sorted on keeps its requested direction (MongoDB's sort document has
  // one entry per field: a second `_id` would silently turn `_sort=-_id` ascending).
  const ties = ['_type', '_id'].filter((key) => !columns.some((c) => c.key === key)).map((key) => ({ key, descending: false }));
  return [...columns, ...ties];
}

/** null stands for "no value", which sorts before every value. */
export type SortValue = string | null;

export function encodeCursor(values: SortValue[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, columns: number): SortValue[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new StoreError('bad-request', 'invalid paging cursor');
  }
  if (!Array.isArray(values) || values.length !== columns || !values.every((v) => v === null || typeof v === 'string')) {
    throw new StoreError('bad-request', 'invalid paging cursor');
  }
  return values as SortValue[];
}

/**
 * "Rows after this one" as a disjunction of branches: branch i says columns 0..i-1 are equal
 * to the cursor's values and column i is strictly after its value (in that column's direction).
 */
export interface KeysetBranch {
  equal: { column: SortColumn; value: SortValue }[];
  after: { column: SortColumn; value: SortValue };
}

export function keysetBranches(columns: SortColumn[], values: SortValue[]): KeysetBranch[] {
  return columns.map((column, i) => ({
    equal: columns.slice(0, i).map((c, j) => ({ column: c, value: values[j] })),
    after: { column, value: values[i] },
  }));
}
