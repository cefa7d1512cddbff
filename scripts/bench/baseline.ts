// The baseline: a bare Fastify server answering, from memory, the bytes Carnet answered to the
// same kind of request, over the same transport (plain HTTP, or TLS asking for a client
// certificate as Carnet does). What it reaches is what this machine's HTTP stack can do at all;
// each Carnet result is reported as a ratio to it. Usage (a child process of index.ts):
//   node scripts/bench/baseline.ts <config.json>      prints `listening <port>` when ready
import { readFileSync } from 'node:fs';
import { fastify, type FastifyRequest } from 'fastify';
import type { HttpRequest } from './workloads.ts';

export interface CannedAnswer {
  status: number;
  contentType: string;
  /** The body, base64. */
  body: string;
}

export interface BaselineConfig {
  host: string;
  port: number;
  bodyLimit: number;
  /** The kinds of the workloads run (the others answer 501). */
  answers: Partial<Record<HttpRequest['kind'], CannedAnswer>>;
  tls?: { certFile: string; keyFile: string; caFile: string };
}

function kindOf(request: FastifyRequest): HttpRequest['kind'] {
  // XDS: the registry answers queries; the repository, by the SOAP action (in the MTOM start-info
  // of ITI-41, in the content type's action of ITI-43).
  if (request.url.startsWith('/xds/registry')) return 'query';
  if (request.url.startsWith('/xds/repository')) return String(request.headers['content-type']).includes('RetrieveDocumentSet') ? 'retrieve' : 'provide';
  if (request.method === 'POST') return 'write';
  if (request.url.includes('/$everything')) return 'everything';
  if (request.url.includes('?')) return 'search';
  return 'read';
}

if (import.meta.main) {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as BaselineConfig;
  const answers = Object.fromEntries(
    Object.entries(config.answers).map(([kind, a]) => [kind, { ...a, bytes: Buffer.from(a.body, 'base64') }]),
  ) as Partial<Record<HttpRequest['kind'], CannedAnswer & { bytes: Buffer }>>;
  const app = fastify({
    bodyLimit: config.bodyLimit,
    ...(config.tls
      ? { https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), ca: readFileSync(config.tls.caFile), requestCert: true, rejectUnauthorized: false } }
      : {}),
  });
  app.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  // SOAP and MTOM (XDS): read whole, as bytes.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.route({
    method: ['GET', 'POST'],
    url: '/*',
    handler: async (request, reply) => {
      const kind = kindOf(request);
      const answer = answers[kind];
      if (!answer) return reply.code(501).send(`no answer captured for ${kind}`);
      return reply.code(answer.status).type(answer.contentType).send(answer.bytes);
    },
  });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : config.port}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
