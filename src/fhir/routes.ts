// The FHIR REST interactions under /fhir (https://hl7.org/fhir/R4/http.html): read, vread,
// create, update, delete (plain and conditional), search, history, capabilities. Each route
// turns HTTP into repository calls and the results back into FHIR responses.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseJsonText, type ResourceBody, type StoredVersion } from '../store/index.ts';
import { binaryRoutes } from './binary-routes.ts';
import { validateRoutes } from './operations/validate.ts';
import { capabilityStatement } from './capability.ts';
import { CONTENT_TYPES, jsonDepthExceeds, MAX_JSON_DEPTH, requestFormat, responseFormat, type FhirFormat } from './format.ts';
import type { RequestContext } from './gate.ts';
import { OperationOutcomeError, operationOutcome, type OperationOutcomeIssue } from './operation-outcome.ts';
import { everythingRoutes } from './operations/everything.ts';
import { reindexRoutes } from './operations/reindex.ts';
import { notModified } from './conditional-read.ts';
import { careHistoryRoutes } from './operations/care-history.ts';
import { searchTextRoutes } from './operations/search-text.ts';
import { summaryRoutes } from './operations/summary.ts';
import { hasInlineDocument, isProvideBundle, simplifiedPublishBundle } from './mhd/index.ts';
import { historyBundle, publicResource, searchsetBundle, shapeResource } from './present.ts';
import type { FhirRepository } from './repository.ts';

/** Reads and writes FHIR XML; absent until the XML format is wired. */
export interface XmlCodec {
  parse(xml: string): ResourceBody;
  serialize(resource: Record<string, unknown>, pretty: boolean): string;
}

export interface FhirRouteDeps {
  repository: FhirRepository;
  publicBaseUrl?: string;
  xml?: XmlCodec | null;
  /** Who is asking (the identity layer); default: nobody in particular. */
  context?: (request: FastifyRequest) => Partial<RequestContext>;
  /** Transactions and batches (POST /fhir), when wired. */
  bundle?: (ctx: RequestContext, bundle: ResourceBody) => Promise<Record<string, unknown>>;
}

type Params = [string, string][];

function queryOf(request: FastifyRequest): Params {
  const q = request.url.indexOf('?');
  return q === -1 ? [] : [...new URLSearchParams(request.url.slice(q + 1)).entries()];
}

function paramOf(params: Params, name: string): string | undefined {
  return params.find(([n]) => n === name)?.[1];
}

function baseUrlOf(request: FastifyRequest, deps: FhirRouteDeps): string {
  if (deps.publicBaseUrl) return `${deps.publicBaseUrl.replace(/\/$/, '')}/fhir`;
  return `${request.protocol}://${request.host}/fhir`;
}

function preferOf(request: FastifyRequest, name: string): string | undefined {
  const prefer = String(request.headers.prefer ?? '');
  return new RegExp(`(?:^|[;,\\s])${name}=([\\w-]+)`).exec(prefer)?.[1];
}

/** W/"3" or "3" → 3. */
function versionFromETag(etag: string | undefined): number | undefined {
  if (!etag) return undefined;
  const m = /^(?:W\/)?"(\d+)"$/.exec(etag.trim());
  if (!m) throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: `If-Match must be an ETag like W/"3", got ${etag}` }]);
  return Number(m[1]);
}

export function fhirRoutes(app: FastifyInstance, deps: FhirRouteDeps): void {
  const repo = deps.repository;

  // Bodies arrive as text; each route parses them in the format they say they are.
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json', 'application/json+fhir', 'application/fhir+xml', 'application/xml', 'application/xml+fhir', 'text/xml', 'application/x-www-form-urlencoded'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
  // Anything else (a PDF sent to /fhir/Binary) stays a stream for the route to consume.
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  function contextOf(request: FastifyRequest): RequestContext {
    return {
      baseUrl: baseUrlOf(request, deps),
      strict: preferOf(request, 'handling') === 'strict',
      ...deps.context?.(request),
    };
  }

  function parseBody(request: FastifyRequest): unknown {
    const format = requestFormat(request.headers['content-type']);
    const text = typeof request.body === 'string' ? request.body : '';
    if (format === 'xml') {
      if (!deps.xml) throw new OperationOutcomeError(415, [{ severity: 'error', code: 'not-supported', diagnostics: 'FHIR XML is not supported yet: send JSON' }]);
      return deps.xml.parse(text);
    }
    // Deep nesting would exhaust the stack of every recursive walk after the parse.
    if (jsonDepthExceeds(text)) throw new OperationOutcomeError(400, [{ severity: 'error', code: 'structure', diagnostics: `the body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep` }]);
    try {
      return parseJsonText(text);
    } catch {
      throw new OperationOutcomeError(400, [{ severity: 'error', code: 'structure', diagnostics: 'the body is not valid JSON' }]);
    }
  }

  function formatOf(request: FastifyRequest): { format: FhirFormat; pretty: boolean } {
    const params = queryOf(request);
    const format = responseFormat(request.headers.accept, paramOf(params, '_format'));
    if (format === 'xml' && !deps.xml) throw new OperationOutcomeError(406, [{ severity: 'error', code: 'not-supported', diagnostics: 'FHIR XML is not supported yet: ask for JSON' }]);
    return { format, pretty: paramOf(params, '_pretty') === 'true' };
  }

  function send(request: FastifyRequest, reply: FastifyReply, status: number, body: Record<string, unknown> | undefined): FastifyReply {
    const { format, pretty } = formatOf(request);
    reply.code(status);
    if (body === undefined) return reply.send();
    reply.type(CONTENT_TYPES[format]);
    if (format === 'xml' && deps.xml) return reply.send(deps.xml.serialize(body, pretty));
    return reply.send(JSON.stringify(body, null, pretty ? 2 : undefined));
  }

  function versionHeaders(reply: FastifyReply, v: StoredVersion): void {
    reply.header('etag', `W/"${v.versionId}"`);
    reply.header('last-modified', new Date(v.lastUpdated).toUTCString());
  }

  /** The answer to a write, as Prefer: return asks (representation by default). */
  function sendWritten(request: FastifyRequest, reply: FastifyReply, status: number, v: StoredVersion, ctx: RequestContext, issues: OperationOutcomeIssue[] = []): FastifyReply {
    versionHeaders(reply, v);
    if (status === 201) reply.header('location', `${ctx.baseUrl}/${v.type}/${v.id}/_history/${v.versionId}`);
    const ret = preferOf(request, 'return');
    if (ret === 'minimal') return send(request, reply, status, undefined);
    if (ret === 'OperationOutcome') {
      return send(request, reply, status, operationOutcome(issues.length ? issues : [{ severity: 'information', code: 'informational', diagnostics: `${v.type}/${v.id} version ${v.versionId} stored` }]) as unknown as Record<string, unknown>);
    }
    return send(request, reply, status, publicResource(v.resource as ResourceBody));
  }

  function selfUrl(request: FastifyRequest, ctx: RequestContext): string {
    const path = request.url.split('?')[0].replace(/^\/fhir/, '');
    const q = request.url.indexOf('?');
    return `${ctx.baseUrl}${path}${q === -1 ? '' : request.url.slice(q)}`;
  }

  function pageUrl(request: FastifyRequest, ctx: RequestContext, cursor: string): string {
    const path = request.url.split('?')[0].replace(/^\/fhir/, '').replace(/\/_search$/, '');
    const params = new URLSearchParams(queryOf(request).filter(([n]) => n !== '_cursor'));
    params.append('_cursor', cursor);
    return `${ctx.baseUrl}${path}?${params.toString()}`;
  }

  const ignoredWarnings = (ignored: string[]): OperationOutcomeIssue[] =>
    ignored.map((name) => ({ severity: 'warning', code: 'not-supported', diagnostics: `search parameter ${name} was ignored`, expression: [name] }));

  async function search(request: FastifyRequest, reply: FastifyReply, type: string, params: Params): Promise<FastifyReply> {
    const ctx = contextOf(request);
    const result = await repo.search(ctx, type, params);
    const bundle = searchsetBundle({
      baseUrl: ctx.baseUrl,
      selfUrl: selfUrl(request, ctx),
      nextUrl: result.next ? pageUrl(request, ctx, result.next) : undefined,
      total: result.total,
      matches: result.matches,
      included: result.included,
      shape: { summary: result.search.summary, elements: result.search.elements },
      warnings: ignoredWarnings(result.ignored),
    });
    return send(request, reply, 200, bundle);
  }

  /** Resolves a conditional interaction's criteria to the matching resources (at most 2 needed). */
  async function matchesOf(ctx: RequestContext, type: string, params: Params): Promise<StoredVersion[]> {
    if (params.filter(([n]) => !n.startsWith('_') || n === '_id').length === 0) {
      throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: 'a conditional interaction needs search criteria' }]);
    }
    const result = await repo.search({ ...ctx, strict: true }, type, [...params.filter(([n]) => n !== '_count'), ['_count', '2']]);
    return result.matches;
  }

  validateRoutes(app, repo, { contextOf, send, parseBody });
  binaryRoutes(app, repo, { contextOf, send, sendWritten: (request, reply, status, v, ctx) => sendWritten(request, reply, status, v, ctx), versionHeaders, parseBody });
  everythingRoutes(app, repo, { contextOf, send, parseBody });
  summaryRoutes(app, repo, { contextOf, send, parseBody });
  searchTextRoutes(app, repo, { contextOf, send, parseBody });
  careHistoryRoutes(app, repo, { contextOf, send, parseBody });
  reindexRoutes(app, repo, { contextOf, send, parseBody });

  // The CapabilityStatement is public: no identity needed to learn what the server does.
  app.get('/fhir/metadata', async (request, reply) => send(request, reply, 200, capabilityStatement(repo.registry, { baseUrl: baseUrlOf(request, deps), xml: Boolean(deps.xml) })));

  // Clients post to the base URL with or without its trailing slash (fhir-kit-client sends `/fhir/`).
  for (const base of ['/fhir', '/fhir/']) {
    app.post(base, async (request, reply) => {
      const ctx = contextOf(request);
      const body = parseBody(request) as ResourceBody;
      if (body?.resourceType !== 'Bundle' || !deps.bundle) {
        throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: 'POST /fhir takes a batch or transaction Bundle' }]);
      }
      // An MHD ITI-65 is audited as such.
      return send(request, reply, 200, await deps.bundle(isProvideBundle(body) ? { ...ctx, channel: 'mhd', transaction: 'ITI-65' } : ctx, body));
    });
  }

  app.get('/fhir/_history', async (request, reply) => {
    const ctx = contextOf(request);
    const page = await repo.history(ctx, {}, queryOf(request));
    return send(request, reply, 200, historyBundle({ baseUrl: ctx.baseUrl, selfUrl: selfUrl(request, ctx), nextUrl: page.next ? pageUrl(request, ctx, page.next) : undefined, entries: page.entries }));
  });

  app.get<{ Params: { type: string } }>('/fhir/:type', async (request, reply) => search(request, reply, request.params.type, queryOf(request)));

  app.post<{ Params: { type: string } }>('/fhir/:type/_search', async (request, reply) => {
    // Parameters may come in the URL and in an x-www-form-urlencoded body.
    const body = typeof request.body === 'string' ? [...new URLSearchParams(request.body).entries()] : [];
    return search(request, reply, request.params.type, [...queryOf(request), ...body]);
  });

  app.post<{ Params: { type: string } }>('/fhir/:type', async (request, reply) => {
    const ctx = contextOf(request);
    const { type } = request.params;
    repo.checkType(type);
    const ifNoneExist = request.headers['if-none-exist'];
    if (typeof ifNoneExist === 'string' && ifNoneExist) {
      const found = await matchesOf(ctx, type, [...new URLSearchParams(ifNoneExist.replace(/^[^?]*\?/, '')).entries()]);
      if (found.length > 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: 'If-None-Exist matches several resources' }]);
      if (found.length === 1) return sendWritten(request, reply, 200, found[0], ctx);
    }
    const body = parseBody(request);
    if (type === 'DocumentReference' && deps.bundle && hasInlineDocument(body)) return simplifiedPublish(request, reply, ctx, body);
    const id = repo.newId();
    const write = await repo.prepareWrite(ctx, 'create', type, id, body);
    const [v] = await repo.commit([write], ctx);
    return sendWritten(request, reply, 201, v as StoredVersion, ctx);
  });

  /** ITI-105: the DocumentReference is published as the Provide Document Bundle it stands for. */
  async function simplifiedPublish(request: FastifyRequest, reply: FastifyReply, ctx: RequestContext, doc: ResourceBody): Promise<FastifyReply> {
    const { bundle, documentEntry } = simplifiedPublishBundle(doc, new Date());
    let response: Record<string, unknown>;
    try {
      response = await (deps.bundle as NonNullable<FhirRouteDeps['bundle']>)({ ...ctx, channel: 'mhd', transaction: 'ITI-105' }, bundle);
    } catch (error) {
      if (error instanceof OperationOutcomeError) throw new OperationOutcomeError(error.status, error.issues.map((i) => relocateIssue(i, documentEntry)));
      throw error;
    }
    const entries = (response.entry ?? []) as { response?: { location?: string } }[];
    const id = /^DocumentReference\/([^/]+)/.exec(entries[documentEntry]?.response?.location ?? '')?.[1];
    if (!id) throw new Error('the Simplified Publish transaction did not report the DocumentReference it created');
    return sendWritten(request, reply, 201, await repo.read(ctx, 'DocumentReference', id), ctx);
  }

  app.put<{ Params: { type: string } }>('/fhir/:type', async (request, reply) => {
    // Conditional update: the criteria pick the resource.
    const ctx = contextOf(request);
    const { type } = request.params;
    repo.checkType(type);
    const found = await matchesOf(ctx, type, queryOf(request));
    if (found.length > 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: 'the criteria match several resources' }]);
    const body = parseBody(request) as ResourceBody;
    const id = found[0]?.id ?? (typeof body?.id === 'string' ? body.id : repo.newId());
    if (found[0] && body?.id !== undefined && body.id !== found[0].id) {
      throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: 'the body id differs from the resource the criteria found', expression: [`${type}.id`] }]);
    }
    repo.checkId(id);
    const write = await repo.prepareWrite(ctx, 'update', type, id, body, found[0] ? found[0].versionId : 0);
    const [v] = await repo.commit([write], ctx);
    return sendWritten(request, reply, found[0] ? 200 : 201, v as StoredVersion, ctx);
  });

  app.delete<{ Params: { type: string } }>('/fhir/:type', async (request, reply) => {
    const ctx = contextOf(request);
    const { type } = request.params;
    repo.checkType(type);
    const found = await matchesOf(ctx, type, queryOf(request));
    if (found.length > 1) throw new OperationOutcomeError(412, [{ severity: 'error', code: 'multiple-matches', diagnostics: 'the criteria match several resources' }]);
    if (found[0]) {
      const write = await repo.prepareDelete(ctx, type, found[0].id, found[0].versionId);
      if (write) await repo.commit([write], ctx);
    }
    return send(request, reply, 204, undefined);
  });

  app.get<{ Params: { type: string } }>('/fhir/:type/_history', async (request, reply) => {
    const ctx = contextOf(request);
    const page = await repo.history(ctx, { type: request.params.type }, queryOf(request));
    return send(request, reply, 200, historyBundle({ baseUrl: ctx.baseUrl, selfUrl: selfUrl(request, ctx), nextUrl: page.next ? pageUrl(request, ctx, page.next) : undefined, entries: page.entries }));
  });

  app.get<{ Params: { type: string; id: string } }>('/fhir/:type/:id', async (request, reply) => {
    const ctx = contextOf(request);
    const v = await repo.read(ctx, request.params.type, request.params.id);
    versionHeaders(reply, v);
    if (notModified(request.headers, v.versionId, v.lastUpdated)) return reply.code(304).send();
    const params = queryOf(request);
    const summary = paramOf(params, '_summary') as 'true' | 'text' | 'data' | undefined;
    const elements = paramOf(params, '_elements')?.split(',').map((e) => e.trim()).filter(Boolean);
    return send(request, reply, 200, shapeResource(v.resource as ResourceBody, { summary, elements }));
  });

  app.put<{ Params: { type: string; id: string } }>('/fhir/:type/:id', async (request, reply) => {
    const ctx = contextOf(request);
    const { type, id } = request.params;
    repo.checkType(type);
    repo.checkId(id);
    const body = parseBody(request) as ResourceBody;
    if (body && typeof body === 'object' && body.id !== id) {
      throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: `the body's id (${String(body.id)}) must be the id in the URL (${id})`, expression: [`${type}.id`] }]);
    }
    const ifVersion = versionFromETag(request.headers['if-match'] as string | undefined);
    const existed = await repo.store.read(type, id);
    const write = await repo.prepareWrite(ctx, 'update', type, id, body, ifVersion);
    const [v] = await repo.commit([write], ctx);
    return sendWritten(request, reply, existed && !existed.deleted ? 200 : 201, v as StoredVersion, ctx);
  });

  app.delete<{ Params: { type: string; id: string } }>('/fhir/:type/:id', async (request, reply) => {
    const ctx = contextOf(request);
    const { type, id } = request.params;
    const ifVersion = versionFromETag(request.headers['if-match'] as string | undefined);
    const write = await repo.prepareDelete(ctx, type, id, ifVersion);
    if (write) await repo.commit([write], ctx);
    return send(request, reply, 204, undefined);
  });

  app.get<{ Params: { type: string; id: string } }>('/fhir/:type/:id/_history', async (request, reply) => {
    const ctx = contextOf(request);
    const page = await repo.history(ctx, { type: request.params.type, id: request.params.id }, queryOf(request));
    return send(request, reply, 200, historyBundle({ baseUrl: ctx.baseUrl, selfUrl: selfUrl(request, ctx), nextUrl: page.next ? pageUrl(request, ctx, page.next) : undefined, entries: page.entries }));
  });

  app.get<{ Params: { type: string; id: string; vid: string } }>('/fhir/:type/:id/_history/:vid', async (request, reply) => {
    const ctx = contextOf(request);
    const v = await repo.readVersion(ctx, request.params.type, request.params.id, request.params.vid);
    versionHeaders(reply, v);
    return send(request, reply, 200, publicResource(v.resource as ResourceBody));
  });
}

/** An OperationOutcome as a plain record, for send(). */
export function outcomeBody(issues: OperationOutcomeIssue[]): Record<string, unknown> {
  return operationOutcome(issues) as unknown as Record<string, unknown>;
}

/** An issue about the bundle a Simplified Publish became, pointed back at the DocumentReference sent. */
function relocateIssue(issue: OperationOutcomeIssue, documentEntry: number): OperationOutcomeIssue {
  if (!issue.expression) return issue;
  const expression = issue.expression.map((e) =>
    e
      .replace(new RegExp(`^Bundle\\.entry\\[${documentEntry}\\]\\.resource`), 'DocumentReference')
      .replace(/^Bundle\.entry\[(\d+)\](?:\.resource(?:\.data)?)?$/, (whole, i: string) => (Number(i) < documentEntry ? `DocumentReference.content[${i}].attachment.data` : whole)),
  );
  return { ...issue, expression };
}
