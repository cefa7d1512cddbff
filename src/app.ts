// buildApp: the Fastify instance with its routes, logging and error answers. It does not listen
// (main.ts does), so tests drive it with app.inject().
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fastify } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { isStoreError, type Store } from './store/index.ts';
import { fromStoreError } from './fhir/repository.ts';
import { OperationOutcomeError, issueTypeForStatus } from './fhir/operation-outcome.ts';
import type { OperationOutcomeIssue } from './fhir/operation-outcome.ts';
import { RequestLogController, createLogger, pathOf } from './logging.ts';
import { registerFhir, type FhirOptions } from './fhir/index.ts';
import { sendOperationOutcome } from './fhir/error-reply.ts';
import { fhirSecurity, patientSignIn, setUpSecurity } from './security.ts';
import {
  accessModeIndex, auditAccessStatistics, credentialsOver, dossierEvents, dossierRecipients, hardDeleteOf, registerDossier, type Dossier, type DossierOptions,
} from './dossier/index.ts';
import { AuditTrail } from './audit/index.ts';
import { addSecurityHeaders } from './security-headers.ts';
import { registerRateLimit } from './rate-limit.ts';
import { addCorsHeaders, answerPreflight } from './cors.ts';
import { accessIndexWith } from './fhir/repository.ts';
import type { RecipientResolver } from './notify/index.ts';
import { StoreCredentialStore } from './identity/store-credential-store.ts';
import { loadHabilitations } from './access/index.ts';
import { registerXds } from './ihe/xds/index.ts';

export interface AppDeps {
  config: Config;
  store: Store;
  /** Default: a pino logger at config.logLevel on standard output (see logging.ts). */
  logger?: FastifyBaseLogger;
  /** The access gate and codecs of the FHIR API (default: open gate, JSON only). */
  fhir?: Omit<FhirOptions, 'store' | 'publicBaseUrl' | 'documentLimitBytes'>;
  /** Dossier lifecycle settings over the defaults (clock, retention, events…). */
  dossier?: Partial<DossierOptions>;
}

/** What the server's background jobs (main.ts) work with, built once with the app. */
export interface CarnetServices {
  /** The audit trail every path records into (the sealer seals it). */
  trail: AuditTrail;
  dossier: Dossier;
  /** The notification worker's recipients: a dossier's holders at their sign-in addresses. */
  recipients: RecipientResolver;
}

declare module 'fastify' {
  interface FastifyInstance {
    carnet: CarnetServices;
  }
}

const DAY_MS = 24 * 3600_000;

/** How long /ready waits for the store before saying it is unavailable. */
const READY_TIMEOUT_MS = 2000;

export function buildApp(deps: AppDeps): FastifyInstance {
  const { config, store } = deps;
  const app = fastify({
    loggerInstance: deps.logger ?? createLogger(config.logLevel),
    logController: new RequestLogController(),
    // Random ids: unique across restarts and instances; a client-sent id is not trusted.
    genReqId: () => randomUUID(),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    ...(config.tlsCertFile && config.tlsKeyFile ? { https: tlsOptions(config) } : {}),
  });

  const https = Boolean(config.tlsCertFile && config.tlsKeyFile);
  const corsOrigins = config.corsOrigins ?? [];
  app.addHook('onSend', async (request, reply, payload) => {
    addSecurityHeaders(reply, https);
    if (corsOrigins.length) addCorsHeaders(request, reply, corsOrigins);
    return payload;
  });
  if (corsOrigins.length) {
    app.addHook('onRequest', async (request, reply) => {
      if (answerPreflight(request, reply, corsOrigins)) return reply;
    });
  }

  app.get('/health', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/ready', async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    if (await pingWithin(store, READY_TIMEOUT_MS, request.log)) return { status: 'ready', store: store.kind };
    return reply.code(503).send({ status: 'unavailable' });
  });

  // The matrix is read even with access control off: its class tables shape the access index.
  const matrix = loadHabilitations(config.habilitationsFile);
  const security = setUpSecurity(app, config, store, matrix);
  // After the identity hook (registered by setUpSecurity): requests count against who sent them.
  if (security) registerRateLimit(app, { perMinute: config.rateLimitPerMinute });
  const repository = registerFhir(app, { store, matrix, publicBaseUrl: config.publicBaseUrl, documentLimitBytes: config.documentLimitBytes, ...fhirSecurity(security), ...deps.fhir });
  registerXds(app, { config, repository, matrix, security });
  const credentials = async () => credentialsOver(await patientSignIn(config, store), new StoreCredentialStore(store));
  // One trail for the FHIR gate, the dossier events and the sealer; with access control off the
  // dossier's changes are still audited.
  const accessIndex = accessIndexWith(matrix);
  const trail = security?.trail ?? new AuditTrail(store, { extraIndex: (resource) => [...accessIndex(resource), ...accessModeIndex(resource)] });
  const otpOf = (login: string) => dossier.credentials.otpOf(login);
  const dossier: Dossier = registerDossier(app, {
    store,
    repository,
    matrix,
    context: fhirSecurity(security).context,
    publicBaseUrl: config.publicBaseUrl,
    credentials,
    events: dossierEvents({ trail, credentials: { otpOf } }),
    hardDelete: hardDeleteOf(store),
    accessStatistics: auditAccessStatistics(store),
    ...(config.dossierRetentionDays !== undefined ? { retentionMs: config.dossierRetentionDays * DAY_MS } : {}),
    ...deps.dossier,
  });
  app.decorate('carnet', { trail, dossier, recipients: (patientId: string) => dossierRecipients(store, dossier.credentials, patientId) } satisfies CarnetServices);

  app.setNotFoundHandler((request, reply) => {
    const message = `No route for ${request.method} ${pathOf(request.url)}`;
    return sendError(request, reply, 404, [{ severity: 'error', code: 'not-found', diagnostics: message }]);
  });

  app.setErrorHandler((error: FastifyError | OperationOutcomeError, request, reply) => {
    if (error instanceof OperationOutcomeError) return sendError(request, reply, error.status, error.issues);
    // A store error that no route mapped (a database gone away, a version conflict) still gets
    // its own answer (503, 412…), never a 500.
    if (isStoreError(error)) {
      const mapped = fromStoreError(error) as OperationOutcomeError;
      return sendError(request, reply, mapped.status, mapped.issues);
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode <= 599
      ? error.statusCode
      : 500;
    if (status >= 500) {
      // The details stay in the log; the client gets a generic message, never internals.
      request.log.error({ err: error }, 'internal error');
      const message = status === 503 ? 'Service unavailable' : 'Internal server error';
      return sendError(request, reply, status, [{ severity: 'error', code: issueTypeForStatus(status), diagnostics: message }]);
    }
    // Client errors carry messages written for the client (Fastify's, or ours); log the code only,
    // as a message may quote what the client sent.
    request.log.info({ err: { code: error.code, statusCode: status } }, 'request refused');
    return sendError(request, reply, status, [{ severity: 'error', code: issueTypeForStatus(status), diagnostics: error.message }]);
  });

  return app;
}

/** Under /fhir errors are OperationOutcomes; elsewhere a small JSON object. */
function sendError(request: FastifyRequest, reply: FastifyReply, status: number, issues: OperationOutcomeIssue[]): FastifyReply {
  const path = pathOf(request.url);
  if (path === '/fhir' || path.startsWith('/fhir/')) {
    return sendOperationOutcome(request, reply, status, issues);
  }
  const message = issues.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ');
  return reply.code(status).send({ error: message });
}

/** True when the store answers a ping in time; a failure or a timeout means not ready. */
async function pingWithin(store: Store, ms: number, log: FastifyBaseLogger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const ping = store.ping().catch((error: unknown) => {
    log.warn({ err: error }, 'store ping failed');
    return false;
  });
  try {
    const ok = await Promise.race([ping, timeout]);
    if (!ok) log.warn({ store: store.kind }, 'store not ready');
    return ok;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * HTTPS settings. With a CA, clients are asked for a certificate but may come without one
 * (patients use passwords); the identity layer decides what an unauthenticated socket may do.
 */
function tlsOptions(config: Config) {
  return {
    cert: readFileSync(config.tlsCertFile as string),
    key: readFileSync(config.tlsKeyFile as string),
    // Node's default too, said here so that no environment setting lowers it.
    minVersion: 'TLSv1.2' as const,
    ...(config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile), requestCert: true, rejectUnauthorized: false } : {}),
    ...(config.tlsCrlFile ? { crl: readFileSync(config.tlsCrlFile) } : {}),
  };
}
