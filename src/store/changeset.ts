// Checks and shapes a Changeset the same way for every adapter, before anything is written.
import { StoreError } from './errors.ts';
import { isPlainName, paramKey, sortKey } from './index-keys.ts';
import type { Changeset, IndexValue, ResourceBody, StoredVersion } from './types.ts';

const TYPE = /^[A-Z][A-Za-z]{1,63}$/;
/** FHIR id: [A-Za-z0-9\-\.]{1,64}. Also keeps path characters and operators out of keys. */
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function checkTypeAndId(type: string, id: string): void {
  if (!TYPE.test(type)) throw new StoreError('bad-request', 'invalid resource type');
  if (!ID.test(id)) throw new StoreError('bad-request', 'invalid resource id');
}

export function checkChangeset(changes: Changeset): void {
  const seen = new Set<string>();
  for (const w of changes.writes) {
    checkTypeAndId(w.type, w.id);
    const key = `${w.type}/${w.id}`;
    if (seen.has(key)) throw new StoreError('bad-request', `${key} is written twice in one commit`);
    seen.add(key);
    if (w.op !== 'delete') {
      if (!w.resource || w.resource.resourceType !== w.type) {
        throw new StoreError('bad-request', `${key}: resource body missing or of another type`);
      }
    }
    for (const v of w.index ?? []) {
      if (!isPlainName(v.param)) throw new StoreError('bad-request', `invalid index parameter name`);
    }
    for (const k of Object.keys(w.sortKeys ?? {})) {
      if (!isPlainName(k)) throw new StoreError('bad-request', `invalid sort key name`);
    }
  }
  for (const l of changes.log ?? []) if (!isPlainName(l.stream)) throw new StoreError('bad-request', 'invalid log stream');
}

/** The stored keys of an index: exact keys, range lows and range highs, each `param=key`. */
export interface StoredKeys {
  k: string[];
  lo: string[];
  hi: string[];
}

export function storedKeys(index: IndexValue[] | undefined): StoredKeys {
  const k = new Set<string>();
  const lo = new Set<string>();
  const hi = new Set<string>();
  for (const v of index ?? []) {
    if (v.value !== undefined) k.add(paramKey(v.param, v.value));
    if (v.low !== undefined) lo.add(paramKey(v.param, sortKey(v.low)));
    if (v.high !== undefined) hi.add(paramKey(v.param, sortKey(v.high)));
  }
  return { k: [...k], lo: [...lo], hi: [...hi] };
}

/** Sort keys as stored, with the built-in `_lastUpdated` added. */
export function storedSortKeys(sortKeys: Record<string, string> | undefined, ts: number): Record<string, string> {
  return { ...sortKeys, _lastUpdated: sortKey(ts) };
}

/** The resource as stored and returned: id and meta.versionId / meta.lastUpdated set. */
export function stampResource(resource: ResourceBody, id: string, versionId: number, lastUpdated: string): ResourceBody {
  const { resourceType, id: _given, meta, ...rest } = resource;
  return { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated }, ...rest };
}

export function versionOf(type: string, id: string, versionId: number, ts: number, body: ResourceBody | undefined): StoredVersion {
  const v: StoredVersion = { type, id, versionId, lastUpdated: new Date(ts).toISOString(), deleted: body === undefined };
  if (body) v.resource = body;
  return v;
}

/**
 * Commit times are strictly increasing per process for commits that write resources, so history
 * order matches commit order. Commits without resource writes (an audited read: only a log
 * entry) take the clock as it is, never earlier than the last time: otherwise, beyond 1000
 * commits a second (group commit allows it), every time would run ahead of the clock.
 */
let lastTs = 0;
export function nextTimestamp(writesResources = true): number {
  const now = Date.now();
  if (now > lastTs) lastTs = now;
  else if (writesResources) lastTs += 1;
  return lastTs;
}
