// Front door of the dossier module: the lifecycle of a patient's dossier (create with consent,
// close, reactivate, purge after retention; minors and their legal representatives; the support
// desk; operator statistics) and what the patient adds (uploads, declarations, devices).
//
//   const dossier = registerDossier(app, { store, repository, matrix, context, credentials, events });
//   await dossierStatus(store, patientId)          // 'active' | 'closed' | undefined, for the access gate
//   await authenticateDevice(store, bearerToken)   // { kind: 'device', patientId, deviceId } | undefined
//   await dossier.purge.run()                      // what the scheduled job does
//   events: dossierEvents({ trail, credentials })  // each change's AuditEvent and notification, in its commit
//   provisionDossier(...)                          // a test patient's dossier and password (scripts/)
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Habilitations } from '../access/index.ts';
import type { FhirRepository, RequestContext } from '../fhir/index.ts';
import type { Store } from '../store/index.ts';
import { PatientContent } from './content.ts';
import type { DossierCredentials } from './credentials.ts';
import { systemRepository } from './fhir-port.ts';
import { dossierRoutes } from './http.ts';
import { DossierLifecycle, TEN_YEARS_MS } from './lifecycle.ts';
import { DossierPurge, schedulePurge, type PurgeLog } from './purge.ts';
import { NO_DOSSIER_EVENTS, type AccessStatistics, type DossierEvents, type HardDelete } from './types.ts';

export { authenticateDevice, DECLARABLE_TYPES, PatientContent } from './content.ts';
export { credentialsOver, type DossierCredentials } from './credentials.ts';
export { CREATE_DOSSIER_CODE, LIFECYCLE_SYSTEM } from './consent.ts';
export { departmentOf, departmentOfIns, departmentOfPostalCode } from './department.ts';
export { CLOSE_REASONS, DossierLifecycle, IDENTITY_CHECKS, REPRESENTATIVE_RELATIONSHIPS, TEN_YEARS_MS } from './lifecycle.ts';
export { UPLOAD_KINDS, sniff } from './magic.ts';
export { DossierPurge, dossierContents, hardDeleteOf, schedulePurge } from './purge.ts';
export { AUDIT_ACTIVITIES, auditRecordsOf, dossierEvents, notificationsOf, type DossierEventsOptions } from './event-records.ts';
export { dossierRecipients, type DossierRecipient } from './recipients.ts';
export { provisionDossier, testIns, TEST_INS_SYSTEM, type ProvisionRequest, type ProvisionResult } from './provision.ts';
export { dossierStatus, RECORD_TYPES } from './records.ts';
export { CHANNEL_RULES, creationChannel, isMinor } from './rules.ts';
export { ACCESS_MODE_PARAM, accessModeIndex, auditAccessStatistics, dossierRows, statistics } from './statistics.ts';
export type * from './types.ts';
export { CHANNELS, NO_DOSSIER_EVENTS } from './types.ts';

export interface DossierOptions {
  store: Store;
  /** The FHIR API's repository (what registerFhir returns): the gate applies to its writes. */
  repository: FhirRepository;
  matrix: Habilitations;
  /** The identity of a request (security.ts); absent when ACCESS_CONTROL=off. */
  context?: (request: FastifyRequest) => Partial<RequestContext>;
  /** The sign-in credentials; a function is called at first use (and again if it failed). */
  credentials: DossierCredentials | Promise<DossierCredentials> | (() => Promise<DossierCredentials>);
  events?: DossierEvents;
  accessStatistics?: AccessStatistics;
  hardDelete?: HardDelete;
  publicBaseUrl?: string;
  clock?: () => number;
  /** How long a closed dossier is kept before it is purged (default 10 years). */
  retentionMs?: number;
  ageOfMajority?: number;
  /** Largest document a patient uploads (default 20 MiB). */
  uploadLimitBytes?: number;
  activationCodeLifetimeMs?: number;
  /** How often the purge job runs; 0 (the default) leaves it to the caller (main.ts). */
  purgeIntervalMs?: number;
  log?: PurgeLog;
}

export interface Dossier {
  /** The sign-in credentials, made at first use. */
  credentials: DossierCredentials;
  lifecycle: DossierLifecycle;
  content: PatientContent;
  purge: DossierPurge;
}

export const DEFAULT_UPLOAD_LIMIT_BYTES = 20 * 1024 * 1024;
export const DEFAULT_ACTIVATION_CODE_LIFETIME_MS = 90 * 24 * 3600_000;

/**
 * Credentials made at first use, so that the sign-in secret file the security set-up creates at
 * start-up exists by then (two creators at once would race on it); a failed attempt is retried.
 */
function lazyCredentials(source: DossierOptions['credentials']): DossierCredentials {
  if (typeof source !== 'function') {
    const ready = Promise.resolve(source);
    ready.catch(() => undefined); // a failure shows where the credentials are used
    return deferred(() => ready);
  }
  let made: Promise<DossierCredentials> | undefined;
  const get = (): Promise<DossierCredentials> => {
    made ??= source().catch(() => source());
    made.catch(() => {
      made = undefined;
    });
    return made;
  };
  return deferred(get);
}

function deferred(get: () => Promise<DossierCredentials>): DossierCredentials {
  return {
    subjectOf: async (login) => (await get()).subjectOf(login),
    otpOf: async (login) => (await get()).otpOf(login),
    set: async (credential) => (await get()).set(credential),
    addRepresented: async (login, patientId) => (await get()).addRepresented(login, patientId),
    withdraw: async (login, patientId) => (await get()).withdraw(login, patientId),
    unblock: async (login) => (await get()).unblock(login),
    verify: async (login, password) => (await get()).verify(login, password),
  };
}

/** Builds the dossier services (no HTTP): for jobs, scripts and tests. */
export function dossierServices(options: DossierOptions): Dossier {
  const clock = options.clock ?? Date.now;
  const events = options.events ?? NO_DOSSIER_EVENTS;
  const open = !options.context;
  const credentials = lazyCredentials(options.credentials);
  const system = systemRepository(options.repository, options.matrix);
  const lifecycle = new DossierLifecycle({
    store: options.store,
    repository: options.repository,
    system,
    credentials,
    events,
    clock,
    retentionMs: options.retentionMs ?? TEN_YEARS_MS,
    ageOfMajority: options.ageOfMajority ?? 18,
    activationCodeLifetimeMs: options.activationCodeLifetimeMs ?? DEFAULT_ACTIVATION_CODE_LIFETIME_MS,
    open,
  });
  const content = new PatientContent({ lifecycle, repository: options.repository, system, uploadLimitBytes: options.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES, open });
  const purge = new DossierPurge({ store: options.store, credentials, events, hardDelete: options.hardDelete, clock, log: options.log });
  return { credentials, lifecycle, content, purge };
}

/** Registers the dossier operations under /fhir (their own plugin scope) and, if asked, the purge job. */
export function registerDossier(app: FastifyInstance, options: DossierOptions): Dossier {
  const dossier = dossierServices({ log: app.log, ...options });
  void app.register(async (scope) => {
    dossierRoutes(scope, {
      lifecycle: dossier.lifecycle,
      content: dossier.content,
      context: options.context,
      publicBaseUrl: options.publicBaseUrl,
      classes: options.matrix.classes,
      accessStatistics: options.accessStatistics,
    });
  });
  if (options.purgeIntervalMs) {
    let job: { stop(): Promise<void> } | undefined;
    app.addHook('onReady', async () => {
      job = schedulePurge(dossier.purge, options.purgeIntervalMs as number, (error) => app.log.error({ err: error }, 'dossier purge failed'));
    });
    app.addHook('onClose', async () => job?.stop());
  }
  return dossier;
}
