// $validate (https://hl7.org/fhir/R4/resource-operation-validate.html) on a type or an instance:
// the resource comes as the body or inside Parameters (resource, mode, profile); the answer is
// an OperationOutcome with every issue, or one "All OK" information issue. Nothing is stored.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { plainJson, type ResourceBody } from '../../store/index.ts';
import type { RequestContext } from '../gate.ts';
import { OperationOutcomeError } from '../operation-outcome.ts';
import type { FhirRepository } from '../repository.ts';
import { validateForOperation } from '../validation/index.ts';

export interface ValidateHttp {
  contextOf(request: FastifyRequest): RequestContext;
  send(request: FastifyRequest, reply: FastifyReply, status: number, body: Record<string, unknown> | undefined): FastifyReply;
  parseBody(request: FastifyRequest): unknown;
}

type Parameter = { name?: string; resource?: ResourceBody; valueCode?: string; valueUri?: string; valueCanonical?: string; valueString?: string };

/** The resource, mode and profile of a $validate request body. */
function readRequest(body: unknown, query: URLSearchParams): { resource: unknown; mode?: string; profile?: string } {
  const b = body as { resourceType?: string; parameter?: Parameter[] } | undefined;
  if (b?.resourceType === 'Parameters') {
    const p = b.parameter ?? [];
    const value = (name: string) => {
      const found = p.find((x) => x.name === name);
      return found?.valueCode ?? found?.valueUri ?? found?.valueCanonical ?? found?.valueString;
    };
    return { resource: p.find((x) => x.name === 'resource')?.resource, mode: value('mode') ?? query.get('mode') ?? undefined, profile: value('profile') ?? query.get('profile') ?? undefined };
  }
  return { resource: body, mode: query.get('mode') ?? undefined, profile: query.get('profile') ?? undefined };
}

export function validateRoutes(app: FastifyInstance, repo: FhirRepository, http: ValidateHttp): void {
  async function handle(request: FastifyRequest<{ Params: { type: string; id?: string } }>, reply: FastifyReply): Promise<FastifyReply> {
    const { type, id } = request.params;
    repo.checkType(type);
    const ctx = http.contextOf(request);
    const q = request.url.indexOf('?');
    const query = new URLSearchParams(q === -1 ? '' : request.url.slice(q + 1));
    const { resource, mode, profile } = readRequest(http.parseBody(request), query);
    if (mode !== undefined && !['create', 'update', 'delete'].includes(mode)) {
      throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: 'mode must be create, update or delete', expression: ['mode'] }]);
    }
    if (id) await repo.read(ctx, type, id);
    if (mode === 'delete') return http.send(request, reply, 200, validateForOperation({ resourceType: type }, {}) as unknown as Record<string, unknown>);
    if (!resource || (resource as ResourceBody).resourceType !== type) {
      throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: `$validate needs a ${type} resource`, expression: ['resource'] }]);
    }
    const outcome = validateForOperation(plainJson(resource), { ...(mode ? { mode: mode as 'create' | 'update' } : {}), ...(profile ? { profile } : {}) });
    return http.send(request, reply, 200, outcome as unknown as Record<string, unknown>);
  }
  app.post<{ Params: { type: string } }>('/fhir/:type/$validate', handle);
  app.post<{ Params: { type: string; id: string } }>('/fhir/:type/:id/$validate', handle);
}
