// Security from the configuration: who is calling (identity plugin over mutual TLS, assertions,
// patient tokens) and what they may do (the access engine as the FHIR gate). With
// ACCESS_CONTROL=off neither is installed and the FHIR API is open (conformance testing only).
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOfIdentity, modeOfIdentity, type AccessMode, type Actor, type Habilitations } from './access/index.ts';
import { AccessMarkers, AuditTrail, RefusalAudit, SEARCH_PARAM_NAME, accessNotice, commitWithNotice, type AuditChannel } from './audit/index.ts';
import { accessModeIndex, authenticateDevice, dossierStatus } from './dossier/index.ts';
import { accessIndexWith, type AccessAuditor } from './fhir/repository.ts';
import type { Config } from './config.ts';
import { AccessEngineGate } from './fhir/access-gate.ts';
import type { FhirOptions, RequestContext } from './fhir/index.ts';
import { OperationOutcomeError } from './fhir/operation-outcome.ts';
import { join } from 'node:path';
import {
  createPatientAuth,
  identityPlugin,
  loadOrCreateSecret,
  loadTrust,
  otpOutboxMessage,
  patientSignInRoutes,
  refusalStatus,
  type PatientAuth,
} from './identity/index.ts';
import { StoreCredentialStore } from './identity/store-credential-store.ts';
import type { OutboxAppend, Store } from './store/index.ts';
import { notificationOutbox } from './notify/index.ts';

export interface Security {
  gate: AccessEngineGate;
  auditor: AccessAuditor;
  trail: AuditTrail;
  /** Requests refused for their identity, audited (coalesced per client address). */
  refusals: RefusalAudit;
  /**
   * The actor and mode of a request; throws a 401/403 OperationOutcome without a valid identity.
   * The refusal is audited once the answer is sent, if it still is a refusal (a route may let an
   * anonymous request through, as the online opening of a dossier does).
   */
  context(request: FastifyRequest): Partial<RequestContext>;
}

/** The door a refused request came through, from its path. */
function channelOf(url: string): AuditChannel {
  if (url === '/fhir' || url.startsWith('/fhir/') || url.startsWith('/fhir?')) return 'fhir';
  if (url.startsWith('/xds/')) return 'xds';
  return 'api';
}

/** Installs the identity plug-in and builds the gate; undefined when access control is off. */
export function setUpSecurity(app: FastifyInstance, config: Config, store: Store, matrix: Habilitations): Security | undefined {
  if (config.accessControl === 'off') return undefined;
  // The dossier record holds the lifecycle status: a closed dossier is closed to everyone.
  const gate = new AccessEngineGate(store, matrix, { dossierStatus: (patientId) => dossierStatus(store, patientId) });
  // AuditEvents are indexed for access (which dossier) and for statistics (accesses per mode).
  const accessIndex = accessIndexWith(matrix);
  const trail = new AuditTrail(store, { extraIndex: (r) => [...accessIndex(r), ...accessModeIndex(r)], ...(store.kind === 'sqlite' ? { settleMs: 0 } : {}) });
  const auditor = trailAuditor(trail, new AccessMarkers(store));
  const refusals = new RefusalAudit(trail, { onError: (error) => app.log.error({ err: error }, 'audit of a refused identity failed') });
  const refused = new WeakMap<FastifyRequest, { reason: string; channel: AuditChannel; status: number }>();
  app.addHook('onResponse', async (request, reply) => {
    const refusal = refused.get(request);
    // Only when the answer is the refusal: a route may have let the request in anonymously.
    if (!refusal || reply.statusCode !== refusal.status) return;
    refusals.refused({ reason: refusal.reason, channel: refusal.channel, address: request.ip, requestId: request.id });
  });
  app.addHook('onClose', async () => refusals.stop());
  const patientAuth = patientSignIn(config, store);
  // Patients sign in with a password and a one-time code, then carry a bearer token.
  void app.register(async (scope) => {
    await scope.register(patientSignInRoutes, { auth: await patientAuth });
  }, { prefix: '/auth/patient' });
  if (config.tlsCaFile) {
    const trust = loadTrust({ ca: readFileSync(config.tlsCaFile), ...(config.tlsCrlFile ? { crl: readFileSync(config.tlsCrlFile) } : {}) });
    void app.register(identityPlugin, { trust, audience: config.assertionAudience, patientAuth: { authenticate: async (token) => (await patientAuth).authenticate(token) }, deviceAuth: (token) => authenticateDevice(store, token) });
  }
  return {
    gate,
    auditor,
    trail,
    refusals,
    context(request) {
      const identity = request.identity;
      if (!identity || !identity.ok) {
        const status = identity ? refusalStatus(identity.reason) : 401;
        refused.set(request, { reason: identity ? identity.reason : 'no-credentials', channel: channelOf(request.url), status });
        const diagnostics = identity ? identity.message : 'a client certificate, an establishment assertion or a patient token is needed';
        throw new OperationOutcomeError(status, [{ severity: 'error', code: status === 401 ? 'login' : 'forbidden', diagnostics }]);
      }
      return { actor: actorOfIdentity(identity.identity), mode: modeOfIdentity(identity.mode), requestId: request.id, clientAddress: request.ip };
    },
  };
}

/**
 * Patient sign-in over the store: credentials and sessions as internal records, one-time codes
 * handed to the outbox (the notification worker sends them), the codes' HMAC secret in DATA_DIR.
 */
export async function patientSignIn(config: Config, store: Store): Promise<PatientAuth> {
  const secret = await loadOrCreateSecret(join(config.dataDir, 'sign-in.secret'));
  return createPatientAuth({
    store: new StoreCredentialStore(store),
    secret,
    sender: {
      async send(delivery) {
        await store.commit({ writes: [], outbox: [otpOutboxMessage(delivery)] });
      },
    },
  });
}

/** The FHIR options security adds: the gate and the per-request identity. */
export function fhirSecurity(security: Security | undefined): Pick<FhirOptions, 'gate' | 'context' | 'auditor'> {
  return security ? { gate: security.gate, auditor: security.auditor, context: (request) => security.context(request) } : {};
}

/**
 * The patient is told of documents others add to the dossier (one message per dossier and
 * commit, however many documents it holds); what the patient adds themselves is not notified.
 */
export function documentAddedNotices(ctx: RequestContext, writes: { type: string; patientId?: string; isNew: boolean }[]): OutboxAppend[] {
  const actor = ctx.actor as Actor | undefined;
  const own = actor?.kind === 'patient' ? [actor.patientId] : actor?.kind === 'representative' ? actor.patientIds : [];
  const dossiers = new Set(writes.filter((w) => w.type === 'DocumentReference' && w.isNew && w.patientId && !own.includes(w.patientId)).map((w) => w.patientId as string));
  const at = new Date().toISOString();
  return [...dossiers].map((patientId) => notificationOutbox({ kind: 'document-added', patientId, at }));
}

/**
 * Every FHIR access and write as an AuditEvent (src/audit), written with what it records; an
 * access the patient is told about (a professional's first, every emergency one) puts its
 * message in the outbox in the same commit.
 */
export function trailAuditor(trail: AuditTrail, markers: AccessMarkers = new AccessMarkers(trail.store)): AccessAuditor {
  const base = (ctx: RequestContext) => ({
    actor: ctx.actor as Actor | undefined,
    mode: (ctx.mode as AccessMode | undefined) ?? 'normal',
    channel: ctx.channel ?? 'fhir',
    ...(ctx.transaction ? { transaction: ctx.transaction } : {}),
    ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
    ...(ctx.clientAddress ? { client: { address: ctx.clientAddress } } : {}),
  });
  return {
    forWrites(ctx, writes) {
      const changes = writes.map((w) =>
        trail.record({
          ...base(ctx),
          action: w.op === 'delete' ? 'delete' : w.op === 'create' ? 'create' : 'update',
          resource: { type: w.type, id: w.id },
          ...(w.patientId ? { patientId: w.patientId } : {}),
          outcome: 'success',
        }),
      );
      return { writes: changes.flatMap((c) => c.writes), log: changes.flatMap((c) => c.log), outbox: documentAddedNotices(ctx, writes) };
    },
    async access(ctx, event) {
      const at = new Date().toISOString();
      const record = {
        ...base(ctx),
        recorded: at,
        action: event.action,
        resource: { type: event.type, ...(event.id ? { id: event.id } : {}) },
        ...(event.patientId ? { patientId: event.patientId } : {}),
        ...(event.searchParams ? { searchParams: event.searchParams.filter((p) => SEARCH_PARAM_NAME.test(p)) } : {}),
        outcome: event.outcome,
        ...(event.reason ? { reason: event.reason } : {}),
      };
      const { actor, mode } = base(ctx);
      const notice = event.outcome === 'success' ? accessNotice(actor, mode) : undefined;
      // A new AuditEvent (id) on each attempt: a commit that lost the marker race is retried.
      await commitWithNotice(markers, notice, { patientId: event.patientId, at }, (changes) => trail.recordAlone(record, changes));
    },
  };
}
