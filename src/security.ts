// Security from the configuration: who is calling (identity plugin over mutual TLS, assertions,
// patient tokens) and what they may do (the access engine as the FHIR gate). With
// ACCESS_CONTROL=off neither is installed and the FHIR API is open (conformance testing only).
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOfIdentity, modeOfIdentity, type Habilitations } from './access/index.ts';
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
  /** The actor and mode of a request; throws a 401/403 OperationOutcome without a valid identity. */
  context(request: FastifyRequest): Partial<RequestContext>;
}

/** Installs the identity plug-in and builds the gate; undefined when access control is off. */
export function setUpSecurity(app: FastifyInstance, config: Config, store: Store, matrix: Habilitations): Security | undefined {
  if (config.accessControl === 'off') return undefined;
  const gate = new AccessEngineGate(store, matrix);
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
    context(request) {
      const identity = request.identity;
      if (!identity || !identity.ok) {
        const status = identity ? refusalStatus(identity.reason) : 401;
        const diagnostics = identity ? identity.message : 'a client certificate, an establishment assertion or a patient token is needed';
        throw new OperationOutcomeError(status, [{ severity: 'error', code: status === 401 ? 'login' : 'forbidden', diagnostics }]);
      }
      return { actor: actorOfIdentity(identity.identity), mode: modeOfIdentity(identity.mode) };
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
export function fhirSecurity(security: Security | undefined): Pick<FhirOptions, 'gate' | 'context'> {
  return security ? { gate: security.gate, context: (request) => security.context(request) } : {};
}
