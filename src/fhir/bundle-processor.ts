// POST /fhir with a batch or transaction Bundle (https://hl7.org/fhir/R4/http.html#transaction).
// A transaction is prepared entry by entry, then committed as ONE store commit, so it lands
// whole or not at all (also if the process dies midway). Entries run in the order the
// specification sets: DELETE, POST, PUT/PATCH, then GET; urn:uuid and conditional references
// are rewritten to the ids they resolve to.
import type { ResourceBody, ResourceWrite, StoredVersion } from '../store/index.ts';
import type { RequestContext } from './gate.ts';
import { isProvideBundle, prepareProvideBundle } from './mhd/index.ts';
import { OperationOutcomeError, operationOutcome, type OperationOutcomeIssue } from './operation-outcome.ts';
import { publicResource } from './present.ts';
import type { FhirRepository } from './repository.ts';

/** More entries than this are refused with 413 (Azure's limit is 500; we choose 1000). */
export const MAX_BUNDLE_ENTRIES = 1000;

interface Entry {
  fullUrl?: string;
  resource?: ResourceBody;
  request?: { method?: string; url?: string; ifMatch?: string; ifNoneExist?: string };
}

const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

function invalid(message: string, expression?: string, status = 400): OperationOutcomeError {
  return new OperationOutcomeError(status, [{ severity: 'error', code: 'invalid', diagnostics: message, ...(expression ? { expression: [expression] } : {}) }]);
}

function splitUrl(url: string): { path: string[]; params: [string, string][] } {
  const [path, query] = url.replace(/^\//, '').split('?');
  return { path: path.split('/').filter(Boolean), params: query === undefined ? [] : [...new URLSearchParams(query).entries()] };
}

function etagVersion(etag: string | undefined): number | undefined {
  if (!etag) return undefined;
  const m = /^(?:W\/)?"(\d+)"$/.exec(etag.trim());
  if (!m) throw invalid(`ifMatch must be an ETag like W/"3", got ${etag}`);
  return Number(m[1]);
}

/**
 * Rewrites every Reference.reference in `value` that `map` knows (urn:uuid:…, conditional), and
 * urls naming an entry's urn:uuid (Attachment.url of an MHD DocumentReference points at its Binary).
 */
function rewriteReferences(value: unknown, map: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, map));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const linked = typeof v === 'string' && (k === 'reference' || (k === 'url' && v.startsWith('urn:uuid:'))) && map.has(v);
    out[k] = linked ? map.get(v) : rewriteReferences(v, map);
  }
  return out;
}

/** Conditional references (`Patient?identifier=…`) found anywhere in a resource. */
function conditionalReferences(value: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) conditionalReferences(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && /^[A-Z][A-Za-z]+\?/.test(v)) out.add(v);
      else conditionalReferences(v, out);
    }
  }
  return out;
}

interface Planned {
  index: number;
  method: string;
  write?: ResourceWrite;
  /** For a conditional create that found its match: the existing version. */
  existing?: StoredVersion;
  status: string;
  /** Reads run after the commit. */
  read?: { path: string[]; params: [string, string][] };
}

export class BundleProcessor {
  readonly #repo: FhirRepository;

  constructor(repository: FhirRepository) {
    this.#repo = repository;
  }

  async process(ctx: RequestContext, bundle: ResourceBody): Promise<Record<string, unknown>> {
    const type = bundle.type;
    if (type !== 'transaction' && type !== 'batch') throw invalid(`Bundle.type must be transaction or batch, got ${String(type)}`, 'Bundle.type');
    const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as Entry[];
    if (entries.length > MAX_BUNDLE_ENTRIES) throw invalid(`a Bundle may hold at most ${MAX_BUNDLE_ENTRIES} entries`, 'Bundle.entry', 413);
    if (isProvideBundle(bundle)) {
      // IHE MHD ITI-65: the MHD rules first, then one transaction; entries Carnet added (a replaced
      // document set to superseded) are committed with the others but not answered.
      const provide = await prepareProvideBundle(this.#repo, ctx, bundle);
      const response = await this.#transaction(ctx, provide.bundle.entry as Entry[]);
      return { ...response, entry: (response.entry as unknown[]).slice(0, provide.requestEntries) };
    }
    return type === 'transaction' ? this.#transaction(ctx, entries) : this.#batch(ctx, entries);
  }

  async #batch(ctx: RequestContext, entries: Entry[]): Promise<Record<string, unknown>> {
    const responses: Record<string, unknown>[] = [];
    for (const [i, entry] of entries.entries()) {
      try {
        // Each batch entry is its own small transaction.
        const [response] = (await this.#run(ctx, [entry], `Bundle.entry[${i}]`)) as Record<string, unknown>[];
        responses.push(response);
      } catch (e) {
        const status = e instanceof OperationOutcomeError ? e.status : 500;
        const issues: OperationOutcomeIssue[] = e instanceof OperationOutcomeError ? e.issues : [{ severity: 'error', code: 'exception', diagnostics: 'internal error' }];
        responses.push({ response: { status: String(status), outcome: operationOutcome(issues) } });
      }
    }
    return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
  }

  async #transaction(ctx: RequestContext, entries: Entry[]): Promise<Record<string, unknown>> {
    return { resourceType: 'Bundle', type: 'transaction-response', entry: await this.#run(ctx, entries, 'Bundle.entry') };
  }

  /** Prepares every entry, commits the writes at once, then runs the reads. */
  async #run(ctx: RequestContext, entries: Entry[], where: string): Promise<Record<string, unknown>[]> {
    const repo = this.#repo;
    // Ids for new resources first, so urn:uuid references anywhere can be rewritten.
    const references = new Map<string, string>();
    const newIds = new Map<number, string>();
    /** Conditional creates whose criteria found the resource: nothing is written for them. */
    const existing = new Map<number, StoredVersion>();
    for (const [i, e] of entries.entries()) {
      const method = e.request?.method?.toUpperCase();
      if (!method || !(method in ORDER)) throw invalid(`entry ${i}: request.method is missing or unknown`, `${where}[${i}].request.method`);
      const type = e.resource?.resourceType;
      if (method === 'POST' && e.request?.ifNoneExist && type) {
        const found = await repo.search({ ...ctx, strict: true }, type, [...new URLSearchParams(e.request.ifNoneExist.replace(/^[^?]*\?/, '')).entries(), ['_count', '2']]);
        if (found.matches.length > 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: `entry ${i}: ifNoneExist matches several resources` }]);
        if (found.matches.length === 1) {
          existing.set(i, found.matches[0]);
          if (e.fullUrl?.startsWith('urn:uuid:')) references.set(e.fullUrl, `${type}/${found.matches[0].id}`);
          continue;
        }
      }
      if (method === 'POST') {
        const id = repo.newId();
        newIds.set(i, id);
        if (e.fullUrl?.startsWith('urn:uuid:') && type) references.set(e.fullUrl, `${type}/${id}`);
      }
      if (method === 'PUT' && e.fullUrl?.startsWith('urn:uuid:') && e.request?.url) references.set(e.fullUrl, splitUrl(e.request.url).path.slice(0, 2).join('/'));
    }
    // Conditional references resolve to exactly one existing resource.
    const conditionals = new Set<string>();
    for (const e of entries) conditionalReferences(e.resource, conditionals);
    for (const ref of conditionals) {
      const [type, query] = ref.split('?');
      const found = await repo.search({ ...ctx, strict: true }, type, [...new URLSearchParams(query).entries(), ['_count', '2']]);
      if (found.matches.length !== 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: `conditional reference ${type}?… matches ${found.matches.length} resources, not one` }]);
      references.set(ref, `${type}/${found.matches[0].id}`);
    }

    // What this transaction writes, by its final Type/id, for the gate's rules that look at it.
    const pending = new Map<string, ResourceBody>();
    for (const [i, e] of entries.entries()) {
      const method = e.request?.method?.toUpperCase();
      const type = e.resource?.resourceType;
      if (!e.resource || !type) continue;
      const key = method === 'POST' && newIds.has(i) ? `${type}/${newIds.get(i) as string}` : method === 'PUT' ? splitUrl(e.request?.url ?? '').path.slice(0, 2).join('/') : undefined;
      if (key && key.includes('/')) pending.set(key, rewriteReferences(e.resource, references) as ResourceBody);
    }
    const writeCtx: RequestContext = { ...ctx, pending };

    const order = [...entries.keys()].sort((a, b) => ORDER[entries[a].request?.method?.toUpperCase() ?? 'GET'] - ORDER[entries[b].request?.method?.toUpperCase() ?? 'GET'] || a - b);
    const planned: Planned[] = [];
    const touched = new Set<string>();
    for (const i of order) {
      const e = entries[i];
      const method = (e.request?.method ?? '').toUpperCase();
      const url = e.request?.url ?? '';
      const { path, params } = splitUrl(url);
      const body = e.resource ? (rewriteReferences(e.resource, references) as ResourceBody) : undefined;
      const at = `${where}[${i}]`;
      const claim = (key: string) => {
        if (touched.has(key)) throw invalid(`${key} appears in more than one entry`, at);
        touched.add(key);
      };
      if (method === 'GET' || method === 'HEAD') {
        planned.push({ index: i, method, status: '200', read: { path, params } });
      } else if (method === 'POST') {
        const type = path[0] ?? body?.resourceType;
        if (!type || path.length > 1) throw invalid(`entry ${i}: POST url must be the resource type`, `${at}.request.url`);
        const found = existing.get(i);
        if (found) {
          planned.push({ index: i, method, status: '200', existing: found });
          continue;
        }
        const id = newIds.get(i) as string;
        claim(`${type}/${id}`);
        planned.push({ index: i, method, status: '201', write: await repo.prepareWrite(writeCtx, 'create', type, id, body) });
      } else if (method === 'PUT') {
        const [type, id] = path;
        if (!type) throw invalid(`entry ${i}: PUT needs a url`, `${at}.request.url`);
        repo.checkType(type);
        let target = id;
        let ifVersion = etagVersion(e.request?.ifMatch);
        if (!id) {
          const found = await repo.search({ ...ctx, strict: true }, type, [...params, ['_count', '2']]);
          if (found.matches.length > 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: `entry ${i}: the criteria match several resources` }]);
          target = found.matches[0]?.id ?? (typeof body?.id === 'string' ? body.id : repo.newId());
          ifVersion = found.matches[0]?.versionId ?? 0;
        }
        repo.checkId(target);
        if (body && body.id !== undefined && body.id !== target) throw invalid(`entry ${i}: the resource id differs from the url`, `${at}.resource.id`);
        claim(`${type}/${target}`);
        const existed = await repo.store.read(type, target);
        planned.push({ index: i, method, status: existed && !existed.deleted ? '200' : '201', write: await repo.prepareWrite(writeCtx, 'update', type, target, { ...body, id: target }, ifVersion) });
      } else if (method === 'DELETE') {
        const [type, id] = path;
        let targets: { id: string; versionId?: number }[] = id ? [{ id }] : [];
        if (!id) {
          const found = await repo.search({ ...ctx, strict: true }, type, [...params, ['_count', '2']]);
          if (found.matches.length > 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: `entry ${i}: the criteria match several resources` }]);
          targets = found.matches.map((m) => ({ id: m.id, versionId: m.versionId }));
        }
        const write = targets[0] ? await repo.prepareDelete(ctx, type, targets[0].id, etagVersion(e.request?.ifMatch) ?? targets[0].versionId) : undefined;
        if (write) claim(`${type}/${write.id}`);
        planned.push({ index: i, method, status: '204', write });
      } else {
        throw invalid(`entry ${i}: ${method} is not supported in a Bundle`, `${at}.request.method`);
      }
    }

    const writes = planned.filter((p) => p.write).map((p) => p.write as ResourceWrite);
    const versions = writes.length ? await repo.commit(writes, ctx) : [];
    const byWrite = new Map(writes.map((w, k) => [w, versions[k]]));
    const responses: Record<string, unknown>[] = new Array(entries.length);
    for (const p of planned) {
      if (p.read) {
        responses[p.index] = await this.#read(ctx, p.read);
        continue;
      }
      const v = p.existing ?? (p.write ? byWrite.get(p.write) : undefined);
      const response: Record<string, unknown> = { status: p.status };
      if (v && !v.deleted) {
        response.location = `${v.type}/${v.id}/_history/${v.versionId}`;
        response.etag = `W/"${v.versionId}"`;
        response.lastModified = v.lastUpdated;
      }
      responses[p.index] = {
        ...(v && !v.deleted ? { fullUrl: `${ctx.baseUrl}/${v.type}/${v.id}`, resource: publicResource(v.resource as ResourceBody) } : {}),
        response,
      };
    }
    return responses;
  }

  async #read(ctx: RequestContext, read: { path: string[]; params: [string, string][] }): Promise<Record<string, unknown>> {
    const [type, id, history, vid] = read.path;
    if (id && history === '_history' && vid) {
      const v = await this.#repo.readVersion(ctx, type, id, vid);
      return { resource: publicResource(v.resource as ResourceBody), response: { status: '200', etag: `W/"${v.versionId}"` } };
    }
    if (id) {
      const v = await this.#repo.read(ctx, type, id);
      return { resource: publicResource(v.resource as ResourceBody), response: { status: '200', etag: `W/"${v.versionId}"` } };
    }
    const result = await this.#repo.search(ctx, type, read.params);
    return {
      resource: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: result.matches.map((m) => ({ fullUrl: `${ctx.baseUrl}/${m.type}/${m.id}`, resource: publicResource(m.resource as ResourceBody), search: { mode: 'match' } })),
      },
      response: { status: '200' },
    };
  }
}
