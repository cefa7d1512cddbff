// Binary: document bytes live in the store's blob area and are streamed in and out. A client
// asking for FHIR (application/fhir+json|xml) gets the Binary resource with base64 data; any
// other client gets the raw bytes with their own content type, with HTTP Range support
// (IHE MHD ITI-68 Retrieve Document). Raw uploads stream into the blob area.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { ResourceBody, StoredVersion } from '../store/index.ts';
import type { RequestContext } from './gate.ts';
import { OperationOutcomeError } from './operation-outcome.ts';
import { publicResource } from './present.ts';
import { blobOf, type FhirRepository } from './repository.ts';

/** The route helpers of routes.ts that Binary shares. */
export interface BinaryHttp {
  contextOf(request: FastifyRequest): RequestContext;
  send(request: FastifyRequest, reply: FastifyReply, status: number, body: Record<string, unknown> | undefined): FastifyReply;
  sendWritten(request: FastifyRequest, reply: FastifyReply, status: number, v: StoredVersion, ctx: RequestContext): FastifyReply;
  versionHeaders(reply: FastifyReply, v: StoredVersion): void;
  parseBody(request: FastifyRequest): unknown;
}

/** Base64 inside a JSON or XML answer costs memory: past this, clients must take the raw bytes. */
const MAX_INLINE_BYTES = 16 * 1024 * 1024;
const FHIR_BODY = /^application\/(fhir\+json|fhir\+xml|json\+fhir|xml\+fhir)\b/i;
const FHIR_ACCEPT = /application\/(fhir\+json|fhir\+xml|json\+fhir|xml\+fhir|json|xml)\b/i;

function wantsResource(request: FastifyRequest): boolean {
  const q = request.url.indexOf('?');
  if (q !== -1 && new URLSearchParams(request.url.slice(q + 1)).has('_format')) return true;
  return FHIR_ACCEPT.test(String(request.headers.accept ?? ''));
}

/** Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

export function binaryRoutes(app: FastifyInstance, repo: FhirRepository, http: BinaryHttp): void {
  async function sendBinary(request: FastifyRequest, reply: FastifyReply, v: StoredVersion): Promise<FastifyReply> {
    const resource = v.resource as ResourceBody & { contentType?: string };
    const blobId = blobOf(resource);
    const info = blobId ? await repo.store.blobInfo(blobId) : undefined;
    if (!blobId || !info) throw new OperationOutcomeError(500, [{ severity: 'error', code: 'exception', diagnostics: 'the document bytes are missing' }]);
    http.versionHeaders(reply, v);
    if (wantsResource(request)) {
      if (info.size > MAX_INLINE_BYTES) {
        throw new OperationOutcomeError(413, [{ severity: 'error', code: 'too-costly', diagnostics: `this document is ${info.size} bytes: retrieve it raw (Accept: ${resource.contentType})` }]);
      }
      const data = await readAll((await repo.store.readBlob(blobId)) as Readable);
      return http.send(request, reply, 200, { ...publicResource(resource), data: data.toString('base64') });
    }
    reply.header('accept-ranges', 'bytes');
    reply.type(resource.contentType ?? 'application/octet-stream');
    const rangeHeader = request.headers.range;
    if (typeof rangeHeader === 'string') {
      const range = parseRange(rangeHeader, info.size);
      if (range === null) {
        reply.header('content-range', `bytes */${info.size}`);
        return reply.code(416).send();
      }
      if (range) {
        reply.header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
        reply.header('content-length', String(range.end - range.start + 1));
        return reply.code(206).send(await repo.store.readBlob(blobId, range));
      }
    }
    reply.header('content-length', String(info.size));
    return reply.code(200).send(await repo.store.readBlob(blobId));
  }

  /** A raw upload: the body streams into a staged blob, then the Binary is committed. */
  async function storeRaw(request: FastifyRequest, reply: FastifyReply, id: string, op: 'create' | 'update'): Promise<FastifyReply> {
    const ctx = http.contextOf(request);
    const contentType = String(request.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim();
    const body = request.body;
    const source = body instanceof Readable ? body : Readable.from([Buffer.from(typeof body === 'string' ? body : '')]);
    const blob = await repo.store.putBlob(source, { contentType, maxBytes: repo.documentLimitBytes }).catch((e: unknown) => {
      throw (e as { code?: string }).code === 'too-large'
        ? new OperationOutcomeError(413, [{ severity: 'error', code: 'too-long', diagnostics: `documents are limited to ${repo.documentLimitBytes} bytes` }])
        : e;
    });
    const securityContext = request.headers['x-security-context'];
    const resource: ResourceBody = {
      resourceType: 'Binary',
      id,
      contentType,
      ...(typeof securityContext === 'string' ? { securityContext: { reference: securityContext } } : {}),
    };
    const existed = op === 'update' ? await repo.store.read('Binary', id) : undefined;
    const write = await repo.prepareWrite(ctx, op, 'Binary', id, repo.binaryWithBlob(resource, blob.id));
    const [v] = await repo.commit([{ ...write, blobs: [blob.id] }], ctx);
    return http.sendWritten(request, reply, existed && !existed.deleted ? 200 : 201, v as StoredVersion, ctx);
  }

  const isFhirBody = (request: FastifyRequest) => FHIR_BODY.test(String(request.headers['content-type'] ?? ''));

  app.get<{ Params: { id: string } }>('/fhir/Binary/:id', async (request, reply) => sendBinary(request, reply, await repo.read(http.contextOf(request), 'Binary', request.params.id)));

  app.get<{ Params: { id: string; vid: string } }>('/fhir/Binary/:id/_history/:vid', async (request, reply) =>
    sendBinary(request, reply, await repo.readVersion(http.contextOf(request), 'Binary', request.params.id, request.params.vid)),
  );

  app.post('/fhir/Binary', async (request, reply) => {
    if (isFhirBody(request)) {
      const ctx = http.contextOf(request);
      const write = await repo.prepareWrite(ctx, 'create', 'Binary', repo.newId(), http.parseBody(request));
      const [v] = await repo.commit([write], ctx);
      return http.sendWritten(request, reply, 201, v as StoredVersion, ctx);
    }
    return storeRaw(request, reply, repo.newId(), 'create');
  });

  app.put<{ Params: { id: string } }>('/fhir/Binary/:id', async (request, reply) => {
    repo.checkId(request.params.id);
    if (isFhirBody(request)) {
      const ctx = http.contextOf(request);
      const body = http.parseBody(request) as ResourceBody;
      if (body?.id !== request.params.id) throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: "the body's id must be the id in the URL", expression: ['Binary.id'] }]);
      const existed = await repo.store.read('Binary', request.params.id);
      const write = await repo.prepareWrite(ctx, 'update', 'Binary', request.params.id, body);
      const [v] = await repo.commit([write], ctx);
      return http.sendWritten(request, reply, existed && !existed.deleted ? 200 : 201, v as StoredVersion, ctx);
    }
    return storeRaw(request, reply, request.params.id, 'update');
  });
}
