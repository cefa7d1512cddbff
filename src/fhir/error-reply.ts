// Errors under /fhir answer in the format the client asked for (Accept, _format), like every
// other FHIR answer; when that choice is itself the fault (406) or unreadable, JSON.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONTENT_TYPES, responseFormat, type FhirFormat } from './format.ts';
import { operationOutcome, type OperationOutcomeIssue } from './operation-outcome.ts';
import { toFhirXml } from './xml/index.ts';

function formatOfError(request: FastifyRequest): { format: FhirFormat; pretty: boolean } {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const single = (name: string) => {
    const value = query[name];
    return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
  };
  try {
    return { format: responseFormat(request.headers.accept, single('_format')), pretty: single('_pretty') === 'true' };
  } catch {
    return { format: 'json', pretty: false };
  }
}

/** Sends an OperationOutcome with `status` in the client's format. */
export function sendOperationOutcome(request: FastifyRequest, reply: FastifyReply, status: number, issues: OperationOutcomeIssue[]): FastifyReply {
  const { format, pretty } = formatOfError(request);
  const outcome = operationOutcome(issues);
  reply.code(status).type(CONTENT_TYPES[format]);
  if (format === 'xml') {
    try {
      return reply.send(toFhirXml(outcome, { pretty }));
    } catch {
      reply.type(CONTENT_TYPES.json);
    }
  }
  return reply.send(JSON.stringify(outcome, null, pretty ? 2 : undefined));
}
