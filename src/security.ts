// Security from the configuration: who is calling (identity plugin over mutual TLS, assertions,
// patient tokens) and what they may do (the access engine as the FHIR gate). With
// ACCESS_CONTROL=off neither is installed and the FHIR API is open (conformance testing only).
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOfIdentity, modeOfIdentity, type AccessMode, type Actor, type Habilitations } from './access/index.ts';
import { AuditTrail } from './audit/index.ts';
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
import type { Store } from './store/index.ts';

export interface Security {
  gate: AccessEngineGate;
  auditor: AccessAuditor;
  trail: AuditTrail;
  /** The actor and mode of a request; throws a 401/403 OperationOutcome without a valid identity. */
  context(request: FastifyRequest): Partial<RequestContext>;
}

/** Installs the identity plug-in and builds the gate; undefined when access control is off. */
export function setUpSecurity(app: FastifyInstance, config: Config, store: Store, matrix: Habilitations): Security | undefined {
  if (config.accessControl === 'off') return undefined;
  const gate = new AccessEngineGate(store, matrix);
  const trail = new AuditTrail(store, { extraIndex: accessIndexWith(matrix), ...(store.kind === 'sqlite' ? { settleMs: 0 } : {}) });
  const auditor = trailAuditor(trail);
  const patientAuth = patientSignIn(config, store);
  // Patients sign in with a password and a one-time code, then carry a bearer token.
  void app.register(async (scope) => {
    await scope.register(patientSignInRoutes, { auth: await patientAuth });
  }, { prefix: '/auth/patient' });
  if (config.tlsCaFile) {
    const trust = loadTrust({ ca: readFileSync(config.tlsCaFile), ...(config.tlsCrlFile ? { crl: readFileSync(config.tlsCrlFile) } : {}) });
    void app.register(identityPlugin, { trust, audience: config.assertionAudience, patientAuth: { authenticate: async (token) => (await patientAuth).authenticate(token) } });
  }
  return {
    gate,
    auditor,
    trail,
    context(request) {
      const identity = request.identity;
      if (!identity || !identity.ok) {
        const status = identity ? refusalStatus(identity.reason) : 401;
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

/** Every FHIR access and write as an AuditEvent (src/audit), written with what it records. */
export function trailAuditor(trail: AuditTrail): AccessAuditor {
  const base = (ctx: RequestContext) => ({
    actor: ctx.actor as Actor | undefined,
    mode: (ctx.mode as AccessMode | undefined) ?? 'normal',
    channel: 'fhir' as const,
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
      return { writes: changes.flatMap((c) => c.writes), log: changes.flatMap((c) => c.log) };
    },
    async access(ctx, event) {
      await trail.recordAlone({
        ...base(ctx),
        action: event.action,
        resource: { type: event.type, ...(event.id ? { id: event.id } : {}) },
        ...(event.patientId ? { patientId: event.patientId } : {}),
        ...(event.searchParams ? { searchParams: event.searchParams.filter((p) => /^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/.test(p)) } : {}),
        outcome: event.outcome,
        ...(event.reason ? { reason: event.reason } : {}),
      });
    },
  };
}
