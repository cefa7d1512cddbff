// What every XDS transaction works with: two views of the one FHIR repository, the affinity
// domain, this repository's OID, and the access engine's label rule.
//
// - `user` is the FHIR API's repository: reads, searches and writes as the caller, through the
//   access gate (the gate's search constraint is added to every query, reads of hidden resources
//   answer 404). Everything an answer shows comes through it.
// - `system` is the same store without a gate. It only answers registry-internal questions that
//   must not depend on who asks (is this uniqueId already used? where is the object with this
//   entryUUID?) and never puts content in an answer; and it writes what the XDS layer decided
//   itself with the access engine: a document's Binary, which follows its DocumentReference (the
//   gate cannot judge it before the DocumentReference is stored, and both go in one commit), and
//   a visibility label change, decided by the engine's label rule (the patient masking a
//   document they did not write).
import type { Resource } from '@medplum/fhirtypes';
import type { FastifyRequest } from 'fastify';
import type { AccessMode, Actor, DossierFacts, Habilitations, VisibilityLabel } from '../../../access/index.ts';
import { accessIndex, decideLabelChange, resourceFacts } from '../../../access/index.ts';
import type { Config } from '../../../config.ts';
import type { RequestContext } from '../../../fhir/index.ts';
import { FhirRepository, OPEN_GATE, validateOnWrite } from '../../../fhir/index.ts';
import type { ResourceBody } from '../../../store/index.ts';
import type { AffinityDomain } from '../affinity-domain.ts';
import { loadAffinityDomain } from '../affinity-domain.ts';

/** The access engine's dossier facts, as the FHIR gate loads them (AccessEngineGate.dossier). */
export interface DossierSource {
  dossier(ctx: RequestContext, patientId: string): Promise<DossierFacts | undefined>;
}

/** The registry's limits: data, set by the deployment (XdsDeps.limits) over these defaults. */
export interface XdsLimits {
  /**
   * The most objects one stored query may gather or answer; more is XDSTooManyResults (ITI TF-2a
   * 3.18.4.1.3), so that a broad query is narrowed by its sender instead of loading a dossier whole.
   */
  readonly maxQueryResults: number;
}

export const DEFAULT_XDS_LIMITS: XdsLimits = { maxQueryResults: 1000 };

export interface XdsDeps {
  config: Pick<Config, 'affinityDomain' | 'ihePatientIdAuthorities' | 'xdsRepositoryUniqueId' | 'publicBaseUrl'>;
  /** The repository registerFhir returned: XDS and FHIR share it, and its gate. */
  repository: FhirRepository;
  /** The habilitation matrix the access engine runs on. */
  matrix: Habilitations;
  /** Identities and the access engine (src/security.ts); undefined with ACCESS_CONTROL=off. */
  security?: {
    gate: DossierSource;
    context(request: FastifyRequest): Partial<RequestContext>;
  };
  /** Over DEFAULT_XDS_LIMITS. */
  limits?: Partial<XdsLimits>;
}

/** One XDS request: the caller's context and the registry's own. */
export interface Call {
  readonly ctx: RequestContext;
  readonly system: RequestContext;
}

export interface XdsService {
  readonly user: FhirRepository;
  readonly system: FhirRepository;
  readonly domain: AffinityDomain;
  readonly repositoryUniqueId: string;
  readonly limits: XdsLimits;
  /**
   * May the caller set or lift this visibility label on this stored resource? Undefined when
   * access control is off (everything is allowed then).
   */
  readonly mayChangeLabel?: (call: Call, resource: ResourceBody, label: VisibilityLabel) => Promise<boolean>;
}

export function createXdsService(deps: XdsDeps): XdsService {
  const { repository, matrix, security, config } = deps;
  const system = new FhirRepository({
    store: repository.store,
    registry: repository.registry,
    gate: OPEN_GATE,
    validate: validateOnWrite,
    documentLimitBytes: repository.documentLimitBytes,
    // The same access index the FHIR repository writes, so searches through the gate find these.
    accessIndex: (resource) => accessIndex(resourceFacts(resource as unknown as Resource, matrix)),
  });
  const domain = config.affinityDomain === 'ihe'
    ? loadAffinityDomain('ihe', config.ihePatientIdAuthorities ? { patientIdAuthorities: config.ihePatientIdAuthorities } : {})
    : loadAffinityDomain('fr-dmp');
  const mayChangeLabel = security
    ? async (call: Call, resource: ResourceBody, label: VisibilityLabel): Promise<boolean> => {
      const actor = call.ctx.actor as Actor | undefined;
      const facts = resourceFacts(resource as unknown as Resource, matrix);
      if (!actor || !facts.dossier) return false;
      const dossier = await security.gate.dossier(call.ctx, facts.dossier);
      if (!dossier) return false;
      const mode = (call.ctx.mode as AccessMode | undefined) ?? 'normal';
      return decideLabelChange({ actor, dossier, resource: facts, label, mode, matrix }).allowed;
    }
    : undefined;
  const limits = { ...DEFAULT_XDS_LIMITS, ...deps.limits };
  if (!Number.isInteger(limits.maxQueryResults) || limits.maxQueryResults < 1) throw new RangeError('XDS limits: maxQueryResults must be a positive integer');
  return { user: repository, system, domain, repositoryUniqueId: config.xdsRepositoryUniqueId, limits, ...(mayChangeLabel ? { mayChangeLabel } : {}) };
}
