// One generic resource service for every type (never one copied per type): validation, index
// extraction, access through the gate, and the store. Routes (HTTP) and transactions call it;
// it knows nothing of HTTP beyond the OperationOutcomeError it throws.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Resource } from '@medplum/fhirtypes';
import { accessIndex, defaultHabilitations, keepHiddenMembers, memberReferences, resourceFacts, withoutHiddenMembers, type Habilitations } from '../access/index.ts';
import {
  isStoreError,
  type IndexValue,
  type LogAppend,
  type OutboxAppend,
  plainJson,
  type Condition,
  type ResourceBody,
  type ResourceWrite,
  type SearchPage,
  type Store,
  type StoredVersion,
} from '../store/index.ts';
import type { AccessGate, RequestContext } from './gate.ts';
import { OperationOutcomeError, type IssueType, type OperationOutcomeIssue } from './operation-outcome.ts';
import { dossierHints } from './access-gate.ts';
import { INTERNAL_EXTENSION_PREFIX } from './present.ts';
import { isSupportedType, READ_ONLY_TYPES } from './resource-types.ts';
import { compileSearch } from './search/compile.ts';
import { extractIndex, extractParams, referenceKeys } from './search/extract.ts';
import { parseSearch, type ParsedSearch } from './search/parse.ts';
import type { SearchRegistry } from './search/registry.ts';

const NO_MEMBERS: ReadonlySet<string> = new Set();

/** A write ready to commit, with the staged blobs (document bytes) it makes permanent. */
export type PreparedWrite = ResourceWrite & { blobs?: string[] };

/** Where a Binary's stored resource notes the blob holding its bytes (never shown to clients). */
export const BLOB_EXTENSION = `${INTERNAL_EXTENSION_PREFIX}blob`;

/** The blob id a stored Binary points at. */
export function blobOf(resource: ResourceBody | undefined): string | undefined {
  const ext = (resource?.meta as { extension?: { url: string; valueString?: string }[] } | undefined)?.extension;
  return ext?.find((e) => e.url === BLOB_EXTENSION)?.valueString;
}

/** What the repository tells the audit trail (implemented over src/audit by the app). */
export interface AccessAuditor {
  /** The audit changes to commit together with these writes (no change happens unaudited). */
  forWrites(ctx: RequestContext, writes: { op: string; type: string; id: string; patientId?: string; isNew: boolean }[]): { writes: ResourceWrite[]; log: LogAppend[]; outbox?: OutboxAppend[] };
  /** Records a read, search or history answer (or its refusal) on its own. */
  access(ctx: RequestContext, event: { action: 'read' | 'vread' | 'history' | 'search'; type: string; id?: string; patientId?: string; searchParams?: string[]; outcome: 'success' | 'refused'; reason?: string }): Promise<void>;
}

/** Validates a resource before it is written; returns every issue found. */
export type Validator = (resource: ResourceBody) => OperationOutcomeIssue[];

export interface RepositoryOptions {
  store: Store;
  registry: SearchRegistry;
  gate: AccessGate;
  validate?: Validator;
  /** Records every access and write (absent: nothing is audited, e.g. with access control off). */
  auditor?: AccessAuditor;
  /** Index values the access engine's search constraints rely on (default: the shipped matrix). */
  accessIndex?: (resource: ResourceBody) => IndexValue[];
  /** Largest document (Binary) in bytes. */
  documentLimitBytes?: number;
  defaultCount?: number;
  maxCount?: number;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function error(status: number, code: IssueType, diagnostics: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(status, [{ severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) }]);
}

/** Maps store errors to FHIR answers; anything else goes up as it is (a 500). */
export function fromStoreError(e: unknown): unknown {
  if (isStoreError(e, 'version-conflict')) return error(412, 'conflict', 'the resource was changed by someone else: read it again (version conflict)');
  if (isStoreError(e, 'already-exists')) return error(409, 'duplicate', 'a resource with this id already exists');
  if (isStoreError(e, 'bad-request')) return error(400, 'invalid', e.message);
  if (isStoreError(e, 'too-large')) return error(413, 'too-long', e.message);
  if (isStoreError(e, 'unavailable')) return error(503, 'transient', 'the database is unavailable; try again');
  return e;
}

export interface SearchResult {
  matches: StoredVersion[];
  included: StoredVersion[];
  next?: string;
  total?: number;
  ignored: string[];
  search: ParsedSearch;
}

/** The access index of a resource under a habilitation matrix (its class tables). */
export function accessIndexWith(matrix: Habilitations): (resource: ResourceBody) => IndexValue[] {
  return (resource) => accessIndex(resourceFacts(resource as unknown as Resource, matrix));
}

function patientOfIndex(index: IndexValue[] | undefined): string | undefined {
  const key = index?.find((v) => v.param === '_dossier')?.value;
  return key?.startsWith('r:Patient/') ? key.slice('r:Patient/'.length) : undefined;
}

function withBlob(resource: ResourceBody, blobId: string): ResourceBody {
  const meta = (resource.meta ?? {}) as { extension?: { url: string }[] };
  const extension = [...(meta.extension ?? []).filter((e) => e.url !== BLOB_EXTENSION), { url: BLOB_EXTENSION, valueString: blobId }];
  return { ...resource, meta: { ...meta, extension } };
}

export class FhirRepository {
  readonly store: Store;
  readonly registry: SearchRegistry;
  readonly #gate: AccessGate;
  readonly #validate: Validator | undefined;
  readonly #accessIndex: (resource: ResourceBody) => IndexValue[];
  readonly #auditor: AccessAuditor | undefined;
  readonly documentLimitBytes: number;
  readonly #defaultCount: number;
  readonly #maxCount: number;

  constructor(options: RepositoryOptions) {
    this.store = options.store;
    this.registry = options.registry;
    this.#gate = options.gate;
    this.#validate = options.validate;
    this.#accessIndex = options.accessIndex ?? accessIndexWith(defaultHabilitations());
    this.#auditor = options.auditor;
    this.documentLimitBytes = options.documentLimitBytes ?? 64 * 1024 * 1024;
    this.#defaultCount = options.defaultCount ?? 20;
    this.#maxCount = options.maxCount ?? 1000;
  }

  checkType(type: string): void {
    if (!isSupportedType(type)) throw error(404, 'not-supported', `resource type ${type} is not supported`, type);
  }

  checkId(id: string): void {
    if (!FHIR_ID.test(id)) throw error(400, 'invalid', `"${id}" is not a valid FHIR id`);
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** The current version, refused as the gate says; 404 when absent, 410 when deleted. */
  async read(ctx: RequestContext, type: string, id: string): Promise<StoredVersion> {
    this.checkType(type);
    this.checkId(id);
    const current = await this.#guard(this.store.read(type, id));
    if (!current) throw error(404, 'not-found', `${type}/${id} is not known`);
    if (current.deleted) {
      // A deleted resource's last live version decides whether its deletion may be told.
      const last = await this.#guard(this.store.readVersion(type, id, current.versionId - 1));
      if (last) await this.#checkRead(ctx, last, `${type}/${id}`);
      throw error(410, 'deleted', `${type}/${id} was deleted`);
    }
    await this.#checkRead(ctx, current, `${type}/${id}`);
    return this.#shown(ctx, current);
  }

  async readVersion(ctx: RequestContext, type: string, id: string, versionId: string): Promise<StoredVersion> {
    this.checkType(type);
    this.checkId(id);
    const n = Number(versionId);
    if (!Number.isInteger(n) || n < 1) throw error(404, 'not-found', `version ${versionId} of ${type}/${id} is not known`);
    const version = await this.#guard(this.store.readVersion(type, id, n));
    if (!version) throw error(404, 'not-found', `version ${versionId} of ${type}/${id} is not known`);
    if (version.deleted) {
      const last = await this.#guard(this.store.readVersion(type, id, n - 1));
      if (last) await this.#checkRead(ctx, last, `${type}/${id}`, 'vread');
      throw error(410, 'deleted', `version ${versionId} of ${type}/${id} is a deletion`);
    }
    await this.#checkRead(ctx, version, `${type}/${id}`, 'vread');
    return this.#shown(ctx, version);
  }

  /** The patient whose dossier a resource belongs to, from its access index. */
  dossierOf(resource: ResourceBody | undefined): string | undefined {
    if (!resource) return undefined;
    const key = this.#accessIndex(plainJson(resource)).find((v) => v.param === '_dossier')?.value;
    return key?.startsWith('r:Patient/') ? key.slice('r:Patient/'.length) : undefined;
  }

  async #checkRead(ctx: RequestContext, version: StoredVersion, label: string, action: 'read' | 'vread' | 'history' = 'read'): Promise<void> {
    const answer = await this.#gate.canRead(ctx, version);
    await this.#auditor?.access(ctx, {
      action,
      type: version.type,
      id: version.id,
      patientId: this.dossierOf(version.resource),
      outcome: answer.allowed ? 'success' : 'refused',
      ...(answer.allowed ? {} : { reason: answer.reason }),
    });
    if (answer.allowed) return;
    // A refused read of one resource answers as if it did not exist, whatever the reason (hidden
    // content or a dossier closed to the actor): a 403 would tell that the id exists. Searches
    // refused as a whole still answer 403.
    throw error(404, 'not-found', `${label} is not known`);
  }

  /** The version as the actor is shown it: without members they may not see (members.ts). */
  async #shown(ctx: RequestContext, version: StoredVersion): Promise<StoredVersion> {
    const hidden = await this.#hiddenMembers(ctx, version.resource);
    return hidden.size ? { ...version, resource: withoutHiddenMembers(version.resource as ResourceBody, hidden) } : version;
  }

  #allShown(ctx: RequestContext, versions: StoredVersion[]): Promise<StoredVersion[]> {
    return Promise.all(versions.map((v) => this.#shown(ctx, v)));
  }

  async #hiddenMembers(ctx: RequestContext, resource: ResourceBody | undefined): Promise<ReadonlySet<string>> {
    if (!resource || !this.#gate.hiddenMembers || memberReferences(resource).length === 0) return NO_MEMBERS;
    return this.#gate.hiddenMembers(ctx, resource);
  }

  async #guard<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (e) {
      throw fromStoreError(e);
    }
  }

  /**
   * Parses, constrains and runs a search; includes follow the same gate. `audited: false` for the
   * inner searches of an operation, which records itself once (recordSearch).
   */
  async search(ctx: RequestContext, type: string, params: [string, string][], options: { audited?: boolean } = {}): Promise<SearchResult> {
    this.checkType(type);
    const search = parseSearch(type, params, this.registry, { strict: ctx.strict, defaultCount: this.#defaultCount, maxCount: this.#maxCount });
    const where = await compileSearch(search, {
      registry: this.registry,
      baseUrl: ctx.baseUrl,
      resolve: (t, p) => this.#resolveAll(ctx, t, p),
      referencedBy: (r, param) => this.referencesOf(r, param),
    });
    const page = await this.#constrainedSearch(ctx, [type], where, {
      count: search.summary === 'count' ? 0 : search.count,
      cursor: search.cursor,
      total: search.total === 'accurate' || search.summary === 'count',
      sort: search.sort.map((s) => ({ key: s.param === '_id' ? '_id' : s.param, descending: s.descending })),
    });
    const included = await this.#includes(ctx, search, page.entries);
    if (options.audited !== false) {
      await this.#auditor?.access(ctx, {
        action: 'search',
        type,
        patientId: dossierHints([type], where)[0],
        searchParams: [...new Set(params.map(([name]) => name))],
        outcome: 'success',
      });
    }
    return { matches: await this.#allShown(ctx, page.entries), included: await this.#allShown(ctx, included), next: page.next, total: page.total, ignored: search.ignored, search };
  }

  /** Records an operation made of unaudited searches (see search) as one search of the dossier. */
  async recordSearch(ctx: RequestContext, event: { type: string; patientId: string; operation: string }): Promise<void> {
    await this.#auditor?.access(ctx, { action: 'search', type: event.type, patientId: event.patientId, searchParams: [event.operation], outcome: 'success' });
  }

  /** A search with the gate's constraint added before the store runs it. */
  async #constrainedSearch(
    ctx: RequestContext,
    types: string[],
    where: Condition | undefined,
    page: { count: number; cursor?: string; total?: boolean; sort?: { key: string; descending: boolean }[] },
    dossiers: string[] = [],
  ): Promise<SearchPage> {
    // The dossiers a search is about, when its own criteria do not name them (an include's ids):
    // told to the gate only, whose constraint keeps the answer inside them.
    const named = dossiers.length ? { and: [...(where ? [where] : []), { param: '_dossier', in: dossiers.map((id) => `r:Patient/${id}`) }] } : where;
    const constraint = await this.#gate.searchConstraint(ctx, types, named);
    if (constraint === 'deny') {
      await this.#auditor?.access(ctx, { action: 'search', type: types[0], patientId: dossierHints(types, where)[0], outcome: 'refused', reason: 'search-denied' });
      throw error(403, 'forbidden', 'this search is not allowed');
    }
    const all = [where, constraint].filter((c): c is Condition => c !== undefined);
    const condition = all.length === 0 ? undefined : all.length === 1 ? all[0] : { and: all };
    const result = await this.#guard(
      this.store.search({ types, where: condition, count: Math.max(page.count, 0), cursor: page.cursor, total: page.total, sort: page.sort }),
    );
    return result;
  }

  /** Every match of an inner search (chains, _has), bounded so a runaway chain is refused. */
  async #resolveAll(ctx: RequestContext, type: string, params: [string, string][]): Promise<StoredVersion[]> {
    this.checkType(type);
    const search = parseSearch(type, params, this.registry, { strict: true, defaultCount: 1001, maxCount: 1001 });
    const where = await compileSearch(search, {
      registry: this.registry,
      baseUrl: ctx.baseUrl,
      resolve: (t, p) => this.#resolveAll(ctx, t, p),
      referencedBy: (r, param) => this.referencesOf(r, param),
    });
    const page = await this.#constrainedSearch(ctx, [type], where, { count: 1001 });
    return page.entries;
  }

  /** `Type/id` references a resource holds in a reference search parameter. */
  referencesOf(version: StoredVersion, param: string): string[] {
    const def = this.registry.get(version.type, param);
    if (!def || !version.resource) return [];
    const { index } = extractParams(version.resource, [def]);
    return index.filter((v) => v.value?.startsWith('r:')).map((v) => (v.value as string).slice(2));
  }

  async #includes(ctx: RequestContext, search: ParsedSearch, matches: StoredVersion[]): Promise<StoredVersion[]> {
    if (search.include.length === 0 && search.revinclude.length === 0) return [];
    const seen = new Set(matches.map((m) => `${m.type}/${m.id}`));
    const dossiers = [...new Set(matches.map((m) => this.dossierOf(m.resource)).filter((d): d is string => d !== undefined))];
    const included: StoredVersion[] = [];
    let frontier = matches;
    for (let round = 0; round < 4 && frontier.length > 0; round++) {
      const next: StoredVersion[] = [];
      const add = (found: StoredVersion[]) => {
        for (const f of found) {
          const key = `${f.type}/${f.id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          included.push(f);
          next.push(f);
        }
      };
      for (const inc of search.include) {
        if (round > 0 && !inc.iterate) continue;
        const refs = frontier.filter((r) => r.type === inc.sourceType).flatMap((r) => this.referencesOf(r, inc.param));
        const byType = new Map<string, string[]>();
        for (const ref of refs) {
          const [t, id] = ref.split('/');
          if (!id || !isSupportedType(t) || (inc.targetType && inc.targetType !== t)) continue;
          byType.set(t, [...(byType.get(t) ?? []), id]);
        }
        for (const [t, ids] of byType) {
          // Through the gate, like any search: an included resource the actor may not see stays out.
          add((await this.#constrainedSearch(ctx, [t], { ids: [...new Set(ids)] }, { count: 1000 }, dossiers)).entries);
        }
      }
      for (const rev of search.revinclude) {
        if (round > 0 && !rev.iterate) continue;
        const targets = frontier.filter((r) => !rev.targetType || r.type === rev.targetType).map((r) => `r:${r.type}/${r.id}`);
        if (targets.length === 0) continue;
        add((await this.#constrainedSearch(ctx, [rev.sourceType], { param: rev.param, in: targets }, { count: 1000 }, dossiers)).entries);
      }
      frontier = next;
    }
    return included;
  }

  async history(ctx: RequestContext, scope: { type?: string; id?: string }, params: [string, string][]): Promise<{ entries: StoredVersion[]; next?: string }> {
    if (scope.type) this.checkType(scope.type);
    if (scope.id) await this.read(ctx, scope.type as string, scope.id).catch((e: unknown) => {
      // A deleted resource still has a history.
      if (!(e instanceof OperationOutcomeError && e.status === 410)) throw e;
    });
    let count = this.#defaultCount;
    let since: number | undefined;
    let cursor: string | undefined;
    for (const [name, value] of params) {
      if (name === '_count') {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) throw error(400, 'invalid', `_count must be a whole number`, '_count');
        count = Math.min(n, this.#maxCount);
      } else if (name === '_since') {
        since = Date.parse(value);
        if (Number.isNaN(since)) throw error(400, 'invalid', `_since must be an instant`, '_since');
      } else if (name === '_cursor') cursor = value;
    }
    // The store pages versions; each is passed through the gate (history has no index to constrain).
    const out: StoredVersion[] = [];
    let next: string | undefined = cursor;
    do {
      const page = await this.#guard(this.store.history({ type: scope.type, id: scope.id, since, count: count - out.length || 1, cursor: next }));
      for (const v of page.entries) {
        const visible = v.deleted ? await this.#previousVisible(ctx, v) : (await this.#gate.canRead(ctx, v)).allowed;
        if (visible) out.push(v);
      }
      next = page.next;
    } while (next && out.length < count);
    return { entries: await this.#allShown(ctx, out.slice(0, count)), next };
  }

  async #previousVisible(ctx: RequestContext, marker: StoredVersion): Promise<boolean> {
    const last = await this.#guard(this.store.readVersion(marker.type, marker.id, marker.versionId - 1));
    return last ? (await this.#gate.canRead(ctx, last)).allowed : false;
  }

  // ---- writes ---------------------------------------------------------------------------------

  /** Checks a body for create/update and builds the store write (not yet committed). */
  async prepareWrite(ctx: RequestContext, op: 'create' | 'update', type: string, id: string, body: unknown, ifVersion?: number): Promise<PreparedWrite> {
    this.checkType(type);
    if (READ_ONLY_TYPES.has(type)) throw error(405, 'not-supported', `${type} is written by the server only`);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw error(400, 'structure', 'the body is not a FHIR resource');
    const resource = body as ResourceBody;
    if (resource.resourceType !== type) throw error(400, 'invalid', `the body is a ${String(resource.resourceType)}, not a ${type}`, 'resourceType');
    // Decimals may be kept as written (JSON.rawJSON); checks and the index compute on plain numbers.
    // With its id: a Patient's access index names its own dossier (a POST body has no id yet).
    const plain = plainJson({ ...resource, id });
    const issues = this.#validate?.(plain) ?? [];
    if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) throw new OperationOutcomeError(422, issues);
    const previous = op === 'update' ? await this.#guard(this.store.read(type, id)) : undefined;
    const live = previous && !previous.deleted ? previous : undefined;
    const answer = await this.#gate.canWrite(ctx, live ? 'update' : 'create', plain, live);
    if (!answer.allowed) throw error(403, 'forbidden', 'this write is not allowed');
    // Members the writer was not shown stay: leaving them out of the new content removes nothing.
    const hidden = live ? await this.#hiddenMembers(ctx, live.resource) : NO_MEMBERS;
    if (hidden.size) return this.#finishWrite(op, type, id, keepHiddenMembers(resource, live?.resource as ResourceBody, hidden), ifVersion);
    return this.#finishWrite(op, type, id, resource, ifVersion, plain);
  }

  async #finishWrite(op: 'create' | 'update', type: string, id: string, resource: ResourceBody, ifVersion: number | undefined, checked?: ResourceBody): Promise<PreparedWrite> {
    const plain = checked ?? plainJson({ ...resource, id });
    const { index, sortKeys } = extractIndex(plain, this.registry);
    // Written whether or not access control is on now, so that it can be turned on later.
    index.push(...this.#accessIndex(plain));
    if (type === 'Binary') return this.#binaryWrite({ op, type, id, resource, index, sortKeys, ifVersion });
    return { op, type, id, resource, index, sortKeys, ifVersion };
  }

  /** A Binary's bytes go to the blob area; the stored resource keeps only a pointer to them. */
  async #binaryWrite(write: PreparedWrite): Promise<PreparedWrite> {
    const { data, ...rest } = write.resource as ResourceBody & { data?: unknown; contentType?: unknown };
    if (typeof rest.contentType !== 'string') throw error(400, 'required', 'Binary.contentType is required', 'Binary.contentType');
    if (data === undefined) {
      if (blobOf(rest)) return write;
      throw error(400, 'required', 'Binary.data is required', 'Binary.data');
    }
    if (typeof data !== 'string' || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data)) throw error(400, 'value', 'Binary.data must be base64', 'Binary.data');
    const bytes = Buffer.from(data, 'base64');
    const blob = await this.#guard(this.store.putBlob(Readable.from([bytes]), { contentType: rest.contentType, maxBytes: this.documentLimitBytes }));
    return { ...write, resource: withBlob(rest, blob.id), blobs: [blob.id] };
  }

  /** A Binary whose bytes are already in a staged blob (streamed upload). */
  binaryWithBlob(resource: ResourceBody, blobId: string): ResourceBody {
    return withBlob(resource, blobId);
  }

  async prepareDelete(ctx: RequestContext, type: string, id: string, ifVersion?: number): Promise<ResourceWrite | undefined> {
    this.checkType(type);
    this.checkId(id);
    if (READ_ONLY_TYPES.has(type)) throw error(405, 'not-supported', `${type} is written by the server only`);
    const current = await this.#guard(this.store.read(type, id));
    if (!current || current.deleted) return undefined;
    const answer = await this.#gate.canWrite(ctx, 'delete', undefined, current);
    if (!answer.allowed) {
      if (answer.visibleAs === 'absent' && !(await this.#gate.canRead(ctx, current)).allowed) throw error(404, 'not-found', `${type}/${id} is not known`);
      throw error(403, 'forbidden', 'this deletion is not allowed');
    }
    return { op: 'delete', type, id, ifVersion };
  }

  /**
   * Recomputes the search and access index of every current resource of these types, in place
   * (Store.reindex): after the search parameters (profiles/search-parameters.json) or the
   * matrix's class tables changed, resources written before are found by the new rules too.
   * Unconstrained by the gate: the caller decides who may run it (operators).
   */
  async reindex(types: string[], pageSize = 200): Promise<{ type: string; resources: number; reindexed: number }[]> {
    for (const type of types) this.checkType(type);
    const out: { type: string; resources: number; reindexed: number }[] = [];
    for (const type of types) {
      let resources = 0;
      let reindexed = 0;
      let cursor: string | undefined;
      do {
        const page = await this.#guard(this.store.search({ types: [type], count: pageSize, cursor }));
        const entries = page.entries.filter((v) => v.resource).map((v) => {
          const plain = plainJson(v.resource as ResourceBody);
          const { index, sortKeys } = extractIndex(plain, this.registry);
          index.push(...this.#accessIndex(plain));
          return { type: v.type, id: v.id, versionId: v.versionId, index, sortKeys };
        });
        resources += entries.length;
        if (entries.length) reindexed += await this.#guard(this.store.reindex(entries));
        cursor = page.next;
      } while (cursor);
      out.push({ type, resources, reindexed });
    }
    return out;
  }

  /** Commits the writes at once, with their audit records when `ctx` says who wrote them. */
  async commit(writes: PreparedWrite[], ctx?: RequestContext): Promise<(StoredVersion | undefined)[]> {
    const blobs = writes.flatMap((w) => w.blobs ?? []);
    const plain = writes.map(({ blobs: _b, ...w }) => w);
    const audit = ctx && this.#auditor
      ? this.#auditor.forWrites(ctx, plain.map((w) => ({ op: w.op, type: w.type, id: w.id, patientId: patientOfIndex(w.index), isNew: w.op === 'create' || w.ifVersion === 0 })))
      : { writes: [], log: [] };
    const outbox = audit.outbox ?? [];
    const result = await this.#guard(this.store.commit({ writes: [...plain, ...audit.writes], log: audit.log, blobs, ...(outbox.length ? { outbox } : {}) }));
    const versions = result.versions.slice(0, plain.length);
    // What the writer is answered is what they may be shown.
    return ctx ? Promise.all(versions.map((v) => (v ? this.#shown(ctx, v) : v))) : versions;
  }

  newId(): string {
    return randomUUID();
  }

  /** References a resource's body holds anywhere (for transactions). */
  static referencesIn(value: unknown): string[] {
    return referenceKeys(value);
  }
}
