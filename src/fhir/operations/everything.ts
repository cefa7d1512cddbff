// Patient/{id}/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html): the
// patient and every resource of their compartment, as the R4 patient CompartmentDefinition
// names it (which reference parameters of each type put a resource in it).
//
// Each (type, parameter) pair is one search through repository.search (unaudited: the page is
// recorded once, as $everything), so the access gate
// constrains every one of them, and paging is the store's keyset paging: the cursor of a page is
// "which search we are in" plus that search's own keyset cursor, never an offset. A resource in
// the compartment through two parameters (an Observation whose subject and performer are the
// patient) is returned by the first search that finds it only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResourceBody, StoredVersion } from '../../store/index.ts';
import { readR4Definition } from '../definitions.ts';
import type { RequestContext } from '../gate.ts';
import { OperationOutcomeError, type OperationOutcomeIssue } from '../operation-outcome.ts';
import { searchsetBundle } from '../present.ts';
import type { FhirRepository } from '../repository.ts';
import { SUPPORTED_TYPES } from '../resource-types.ts';
import { dateRange } from '../search/normalize.ts';

/** The route helpers of routes.ts that operations share. */
export interface OperationHttp {
  contextOf(request: FastifyRequest): RequestContext;
  send(request: FastifyRequest, reply: FastifyReply, status: number, body: Record<string, unknown> | undefined): FastifyReply;
  parseBody(request: FastifyRequest): unknown;
}

export const EVERYTHING_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';
const DEFAULT_COUNT = 50;
const MAX_COUNT = 1000;

interface CompartmentDefinition {
  resource: { code: string; param?: string[] }[];
}

/** One search of the compartment: a type and the parameter that points at the patient. */
interface Segment {
  type: string;
  /** A reference parameter, or '_id' for the patient itself. */
  param: string;
}

let compartment: Map<string, string[]> | undefined;

/** The supported types of the patient compartment and their parameters, Patient first. */
export function patientCompartment(): Map<string, string[]> {
  if (!compartment) {
    const definition = readR4Definition<CompartmentDefinition>('compartmentdefinition-patient.json');
    const params = new Map(definition.resource.filter((r) => r.param?.length).map((r) => [r.code, r.param as string[]]));
    compartment = new Map([['Patient', ['_id', ...(params.get('Patient') ?? [])]]]);
    for (const type of SUPPORTED_TYPES) if (type !== 'Patient' && params.has(type)) compartment.set(type, params.get(type) as string[]);
  }
  return compartment;
}

function invalid(message: string, expression: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: message, expression: [expression] }]);
}

interface EverythingRequest {
  count: number;
  since?: string;
  types?: string[];
  cursor?: { segment: number; cursor?: string };
  /** The parameters to repeat in the next link (without the cursor). */
  linkParams: [string, string][];
  warnings: OperationOutcomeIssue[];
}

function decodeCursor(raw: string): { segment: number; cursor?: string } {
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { s?: unknown; c?: unknown };
    if (Number.isInteger(value.s) && (value.s as number) >= 0 && (value.c === undefined || typeof value.c === 'string')) {
      return { segment: value.s as number, cursor: value.c as string | undefined };
    }
  } catch {
    // falls through to the error below
  }
  throw invalid('invalid paging cursor', '_cursor');
}

function encodeCursor(segment: number, cursor: string | undefined): string {
  return Buffer.from(JSON.stringify({ s: segment, ...(cursor ? { c: cursor } : {}) })).toString('base64url');
}

/** Reads the operation's parameters (query string, and a Parameters body for POST). */
export function everythingRequest(params: [string, string][], strict: boolean): EverythingRequest {
  const request: EverythingRequest = { count: DEFAULT_COUNT, linkParams: [], warnings: [] };
  for (const [name, value] of params) {
    switch (name) {
      case '_count': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) throw invalid(`_count must be a whole number above 0, got "${value}"`, '_count');
        request.count = Math.min(n, MAX_COUNT);
        break;
      }
      case '_since':
        if (!dateRange(value) || !/T/.test(value)) throw invalid(`_since must be an instant, got "${value}"`, '_since');
        request.since = value;
        break;
      case '_type': {
        const types = value.split(',').map((t) => t.trim()).filter(Boolean);
        for (const type of types) if (!patientCompartment().has(type)) throw invalid(`_type: ${type} is not a type of the patient compartment served here`, '_type');
        request.types = [...(request.types ?? []), ...types];
        break;
      }
      case '_cursor':
        request.cursor = decodeCursor(value);
        continue;
      case '_format':
      case '_pretty':
        break;
      default:
        // start/end (care dates) and others are not supported: refused under strict handling.
        if (strict) throw invalid(`parameter ${name} is not supported by $everything`, name);
        request.warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: `parameter ${name} was ignored`, expression: [name] });
        continue;
    }
    request.linkParams.push([name, value]);
  }
  return request;
}

/** Query parameters from a FHIR Parameters body (POST). */
function parametersOf(body: unknown): [string, string][] {
  if (body === undefined || body === null || body === '') return [];
  const resource = body as { resourceType?: string; parameter?: Record<string, unknown>[] };
  if (resource.resourceType !== 'Parameters') throw invalid('the body of POST $everything must be a Parameters resource', 'Parameters');
  const out: [string, string][] = [];
  for (const p of resource.parameter ?? []) {
    const value = Object.entries(p).find(([k]) => k.startsWith('value'))?.[1];
    if (typeof p.name === 'string' && (typeof value === 'string' || typeof value === 'number')) out.push([p.name, String(value)]);
  }
  return out;
}

/** One page of the patient's compartment. */
export async function everythingPage(
  repository: FhirRepository,
  ctx: RequestContext,
  patientId: string,
  request: EverythingRequest,
): Promise<{ entries: StoredVersion[]; next?: string }> {
  // The patient must exist and be readable, whatever the rest holds (404, 410 or 403 otherwise).
  await repository.read(ctx, 'Patient', patientId);
  const segments: Segment[] = [];
  for (const [type, params] of patientCompartment()) {
    if (request.types && !request.types.includes(type)) continue;
    for (const param of params) segments.push({ type, param });
  }
  const target = `Patient/${patientId}`;
  /** Whether an earlier segment of the same type already returned this resource. */
  const seenBefore = (segment: number, v: StoredVersion): boolean =>
    segments.slice(0, segment).some((s) => s.type === v.type && (s.param === '_id' ? v.id === patientId : repository.referencesOf(v, s.param).includes(target)));

  const entries: StoredVersion[] = [];
  let segment = request.cursor?.segment ?? 0;
  let cursor = request.cursor?.cursor;
  while (segment < segments.length && entries.length < request.count) {
    const { type, param } = segments[segment];
    const params: [string, string][] = [
      [param, param === '_id' ? patientId : target],
      ['_count', String(request.count - entries.length)],
      ...(request.since ? [['_lastUpdated', `ge${request.since}`] as [string, string]] : []),
      ...(cursor ? [['_cursor', cursor] as [string, string]] : []),
    ];
    let result: Awaited<ReturnType<FhirRepository['search']>>;
    try {
      result = await repository.search({ ...ctx, strict: true }, type, params, { audited: false });
    } catch (error) {
      // A type the actor may not search at all (a professional and the audit trail): not part of
      // what they may see. The dossier itself was let in by the Patient read above.
      if (!(error instanceof OperationOutcomeError && error.status === 403)) throw error;
      segment++;
      cursor = undefined;
      continue;
    }
    entries.push(...result.matches.filter((v) => !seenBefore(segment, v)));
    if (result.next) cursor = result.next;
    else {
      segment++;
      cursor = undefined;
    }
  }
  // One record in the patient's access history for the page, not one per type searched.
  await repository.recordSearch(ctx, { type: 'Patient', patientId, operation: '$everything' });
  return { entries, next: segment < segments.length ? encodeCursor(segment, cursor) : undefined };
}

function queryOf(request: FastifyRequest): [string, string][] {
  const q = request.url.indexOf('?');
  return q === -1 ? [] : [...new URLSearchParams(request.url.slice(q + 1)).entries()];
}

export function everythingRoutes(app: FastifyInstance, repository: FhirRepository, http: OperationHttp): void {
  async function run(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, params: [string, string][]): Promise<FastifyReply> {
    const ctx = http.contextOf(request);
    const { id } = request.params;
    repository.checkId(id);
    const parsed = everythingRequest(params, ctx.strict);
    const page = await everythingPage(repository, ctx, id, parsed);
    const self = `${ctx.baseUrl}/Patient/${id}/$everything`;
    const query = (extra: [string, string][]) => {
      const all = new URLSearchParams([...parsed.linkParams, ...extra]).toString();
      return all ? `${self}?${all}` : self;
    };
    const bundle = searchsetBundle({
      baseUrl: ctx.baseUrl,
      selfUrl: query(parsed.cursor ? [['_cursor', encodeCursor(parsed.cursor.segment, parsed.cursor.cursor)]] : []),
      nextUrl: page.next ? query([['_cursor', page.next]]) : undefined,
      matches: page.entries,
      included: [],
      shape: {},
      warnings: parsed.warnings,
    });
    return http.send(request, reply, 200, bundle);
  }

  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$everything', async (request, reply) => run(request, reply, queryOf(request)));

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$everything', async (request, reply) => {
    const body = typeof request.body === 'string' && request.body.trim() !== '' ? (http.parseBody(request) as ResourceBody) : undefined;
    return run(request, reply, [...queryOf(request), ...parametersOf(body)]);
  });
}
