// The XDS.b HTTP endpoints: POST /xds/registry (ITI-18, ITI-42, ITI-57, ITI-62) and
// POST /xds/repository (ITI-41, ITI-43), SOAP 1.2 with WS-Addressing, MTOM in both directions.
//
// Bodies are never buffered by Fastify: in this plugin scope every content type is handed over
// as the raw request stream, which readXdsRequest reads (the SOAP part bounded, attachments
// streamed to the blob area). Answers to MTOM requests are MTOM too; ITI-43 answers always are,
// their documents streamed from the blob area.
//
// Without an identity (access control on) the answer is a SOAP Sender fault with the
// WS-Security subcode wsse:FailedAuthentication and HTTP 401 (or 403); refusals of the access
// engine inside a transaction are RegistryErrors (service/errors.ts).
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../../fhir/index.ts';
import { OperationOutcomeError } from '../../fhir/index.ts';
import { buildMtomMessage } from './mtom.ts';
import type { XdsRequest } from './request.ts';
import { readXdsRequest } from './request.ts';
import type { Call, XdsAnswer, XdsDeps, XdsService } from './service/index.ts';
import { createXdsService, runTransaction } from './service/index.ts';
import { buildSoapEnvelope, buildSoapFault, classifyRequestContentType, FAULT_SUBCODES, soapContentType, SoapFault, toSoapFault } from './soap.ts';
import type { TransactionId, XdsEndpoint } from './transactions.ts';
import { NS } from './vocabulary.ts';

const FAILED_AUTHENTICATION = { ns: NS.wsse, prefix: 'wsse', name: 'FailedAuthentication' } as const;

function baseUrlOf(request: FastifyRequest, deps: XdsDeps): string {
  const base = deps.config.publicBaseUrl ?? `${request.protocol}://${request.host}`;
  return `${base.replace(/\/$/, '')}/fhir`;
}

/** The caller's context, or a fault when an identity is needed and missing. */
function callOf(request: FastifyRequest, deps: XdsDeps): Call {
  const baseUrl = baseUrlOf(request, deps);
  let identity: Partial<RequestContext> = {};
  try {
    identity = deps.security?.context(request) ?? {};
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    const reason = error.issues[0]?.diagnostics ?? 'authentication failed';
    throw new SoapFault('Sender', reason, { subcode: FAILED_AUTHENTICATION, httpStatus: error.status === 403 ? 403 : 401 });
  }
  return { ctx: { baseUrl, strict: true, channel: 'xds', ...identity }, system: { baseUrl, strict: true, channel: 'xds' } };
}

/**
 * The call of one decoded request, its IHE transaction named in both contexts so that the audit
 * trail records an XDS event type (ITI-41 Import, ITI-18 Query…) rather than FHIR interactions.
 */
function forTransaction(call: Call, transaction: TransactionId): Call {
  // RequestContext does not declare `transaction`: the audit side (security.ts) reads it where present.
  const tag = (ctx: RequestContext): RequestContext => Object.assign({}, ctx, { transaction });
  return { ctx: tag(call.ctx), system: tag(call.system) };
}

function sendMtom(reply: FastifyReply, contentType: string, body: AsyncIterable<Buffer>): FastifyReply {
  return reply.code(200).type(contentType).send(Readable.from(body));
}

function sendAnswer(reply: FastifyReply, request: XdsRequest, answer: XdsAnswer, mtomRequest: boolean): FastifyReply {
  if (answer.kind === 'mtom') return sendMtom(reply, answer.message.contentType, answer.message.body);
  const action = request.info.responseAction;
  const envelope = buildSoapEnvelope({ action, relatesTo: request.soap.messageId, body: answer.body });
  if (mtomRequest) {
    const message = buildMtomMessage(envelope, [], { action });
    return sendMtom(reply, message.contentType, message.body);
  }
  return reply.code(200).type(soapContentType(action)).send(envelope);
}

async function handle(svc: XdsService, deps: XdsDeps, endpoint: XdsEndpoint, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let relatesTo: string | undefined;
  const started = Date.now();
  try {
    const call = callOf(request, deps);
    const contentType = request.headers['content-type'];
    const body = (request.body ?? request.raw) as AsyncIterable<Uint8Array>;
    const xds = await readXdsRequest(contentType, body, endpoint);
    relatesTo = xds.soap.messageId;
    const answer = await runTransaction(svc, forTransaction(call, xds.transaction), xds);
    // Codes and timings only: never identifiers, names or content.
    request.log.info({ xds: { transaction: xds.transaction, errors: answer.errors.map((e) => e.code), ms: Date.now() - started } }, 'xds request');
    return sendAnswer(reply, xds, answer, classifyRequestContentType(contentType).kind === 'mtom');
  } catch (error) {
    const fault = toSoapFault(error);
    if (fault.subcode === FAULT_SUBCODES.internalError) request.log.error({ err: error }, 'xds internal error');
    else request.log.info({ xds: { fault: fault.code, subcode: fault.subcode?.name, status: fault.httpStatus } }, 'xds fault');
    return reply.code(fault.httpStatus).type(soapContentType()).send(buildSoapFault(fault, relatesTo));
  }
}

/** Registers the two XDS.b endpoints (own plugin scope: its body handling stays under /xds). */
export function registerXds(app: FastifyInstance, deps: XdsDeps): void {
  const svc = createXdsService(deps);
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Every body arrives as the raw stream: readXdsRequest decides what it is and how to read it.
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.setErrorHandler((error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode;
      const fault = error instanceof SoapFault
        ? error
        : status === 429
          ? new SoapFault('Receiver', 'too many requests: try again later', { httpStatus: 429 })
          : new SoapFault('Sender', 'the request could not be read', { subcode: FAULT_SUBCODES.malformedEnvelope, httpStatus: status ?? 400 });
      request.log.info({ xds: { fault: fault.code, status: fault.httpStatus } }, 'xds fault');
      return reply.code(fault.httpStatus).type(soapContentType()).send(buildSoapFault(fault));
    });
    scope.post('/xds/registry', (request, reply) => handle(svc, deps, 'registry', request, reply));
    scope.post('/xds/repository', (request, reply) => handle(svc, deps, 'repository', request, reply));
  });
}
