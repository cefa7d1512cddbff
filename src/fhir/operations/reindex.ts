// $reindex, for the server's operators: recomputes the search and access index of resources
// already stored, after profiles/search-parameters.json or the habilitation matrix's class
// tables changed (new rules apply to new writes only until then). In the manner of HAPI FHIR's
// and Medplum's $reindex, on the whole server (POST /fhir/$reindex) or one type
// (POST /fhir/{type}/$reindex); it runs to the end before answering, with how many resources of
// each type it reindexed. Resources keep their versions and content.
import type { FastifyInstance, FastifyRequest, FastifyReply } from 'fastify';
import { OperationOutcomeError } from '../operation-outcome.ts';
import type { FhirRepository } from '../repository.ts';
import { READ_ONLY_TYPES, SUPPORTED_TYPES } from '../resource-types.ts';
import type { OperationHttp } from './everything.ts';

export const REINDEX_DEFINITION = 'urn:carnet:fhir:OperationDefinition:reindex';

/** With access control on, only operators; with it off there is no actor, and the server is a development one. */
function checkOperator(actor: unknown): void {
  const kind = (actor as { kind?: string } | undefined)?.kind;
  if (actor !== undefined && kind !== 'operator') {
    throw new OperationOutcomeError(403, [{ severity: 'error', code: 'forbidden', diagnostics: '$reindex is for the server operators' }]);
  }
}

export function reindexRoutes(app: FastifyInstance, repository: FhirRepository, http: OperationHttp): void {
  async function run(request: FastifyRequest, reply: FastifyReply, types: string[]): Promise<FastifyReply> {
    checkOperator(http.contextOf(request).actor);
    const counts = await repository.reindex(types);
    return http.send(request, reply, 200, {
      resourceType: 'Parameters',
      parameter: counts.map((c) => ({
        name: 'type',
        part: [
          { name: 'type', valueCode: c.type },
          { name: 'resources', valueInteger: c.resources },
          { name: 'reindexed', valueInteger: c.reindexed },
        ],
      })),
    });
  }
  // AuditEvents are indexed by the audit trail's own extraction (src/audit), not by this one.
  app.post('/fhir/$reindex', async (request, reply) => run(request, reply, SUPPORTED_TYPES.filter((t) => !READ_ONLY_TYPES.has(t))));
  app.post<{ Params: { type: string } }>('/fhir/:type/$reindex', async (request, reply) => {
    repository.checkType(request.params.type);
    if (READ_ONLY_TYPES.has(request.params.type)) {
      throw new OperationOutcomeError(400, [{ severity: 'error', code: 'not-supported', diagnostics: `${request.params.type} is indexed by the server itself`, expression: ['type'] }]);
    }
    return run(request, reply, [request.params.type]);
  });
}
