// The access engine (src/access) as the FHIR repository's gate: the pure decisions, fed with
// facts read from the store (the resource's own facts, its dossier's Consents). Every read,
// search, include, chain and write of the repository asks it (see gate.ts).
import type { Consent, Resource } from '@medplum/fhirtypes';
import {
  consentControl,
  decideAccess,
  decideSelfAuthorisation,
  dossierFacts,
  dossierRefusal,
  isDirectoryType,
  memberReferences,
  resourceFacts,
  searchConstraint as accessConstraint,
  type AccessMode,
  type Actor,
  type Decision,
  type DossierFacts,
  type Habilitations,
  type ResourceFacts,
} from '../access/index.ts';
import { AUDITED_DOSSIER_PARAM, auditedDossier, auditedDossierKey } from '../audit/index.ts';
import { indexKey, type Condition, type ResourceBody, type Store, type StoredVersion } from '../store/index.ts';
import type { AccessGate, GateAnswer, RequestContext } from './gate.ts';

const DOSSIER_PARAMS = new Set(['patient', 'subject']);
const ADULT_AGE_MS = 18 * 365.25 * 24 * 3600_000;

/**
 * Who reads the audit trail through the FHIR API: patients and legal representatives the access
 * history of their own dossiers (as long as they may enter them), operators everything (the
 * export: AuditEvents hold ids and codes, no health data), nobody else, professionals included.
 */
const AUDIT_READERS: Readonly<Record<Actor['kind'], 'own-dossiers' | 'all' | 'none'>> = {
  patient: 'own-dossiers',
  representative: 'own-dossiers',
  operator: 'all',
  professional: 'none',
  regulator: 'none',
  device: 'none',
  'care-history-feed': 'none',
};

const AUDIT_TYPE = 'AuditEvent';

function answer(decision: Decision): GateAnswer {
  return decision.allowed ? { allowed: true } : { allowed: false, visibleAs: decision.visibleAs, reason: decision.reason };
}

/** `Type/id` for a reference to this server (relative, or absolute under its FHIR base). */
function localReference(ref: string, baseUrl: string): string | undefined {
  const path = ref.startsWith(`${baseUrl}/`) ? ref.slice(baseUrl.length + 1) : ref;
  return /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(path) ? path : undefined;
}

/** Patient ids a search is limited to, read off its top-level AND conditions. */
export function dossierHints(types: string[], where: Condition | undefined): string[] {
  const conditions = !where ? [] : 'and' in where ? where.and : [where];
  const ids = new Set<string>();
  for (const c of conditions) {
    if ('param' in c && 'in' in c && DOSSIER_PARAMS.has(c.param)) {
      for (const key of c.in) if (key.startsWith('r:Patient/')) ids.add(key.slice('r:Patient/'.length));
    }
    if ('param' in c && 'in' in c && c.param === '_dossier') {
      for (const key of c.in) if (key.startsWith('r:Patient/')) ids.add(key.slice('r:Patient/'.length));
    }
    if ('ids' in c && types.length === 1 && types[0] === 'Patient') for (const id of c.ids) ids.add(id);
  }
  return [...ids];
}

interface RequestCache {
  dossiers: Map<string, Promise<DossierFacts | undefined>>;
}

/**
 * The dossier's lifecycle status as the dossier module keeps it (src/dossier dossierStatus):
 * 'active', 'closed', or undefined when the patient has no dossier record (a Patient fed by FHIR
 * or XDS without the lifecycle). Passed in, so the FHIR layer does not import the dossier module.
 */
export type DossierStatusSource = (patientId: string) => Promise<'active' | 'closed' | undefined>;

export interface AccessEngineGateOptions {
  dossierStatus?: DossierStatusSource;
}

export class AccessEngineGate implements AccessGate {
  readonly #store: Store;
  readonly #matrix: Habilitations;
  readonly #caches = new WeakMap<RequestContext, RequestCache>();
  readonly #status: DossierStatusSource | undefined;

  constructor(store: Store, matrix: Habilitations, options: AccessEngineGateOptions = {}) {
    this.#store = store;
    this.#matrix = matrix;
    this.#status = options.dossierStatus;
  }

  #actor(ctx: RequestContext): Actor | undefined {
    return ctx.actor as Actor | undefined;
  }

  #mode(ctx: RequestContext): AccessMode {
    return (ctx.mode as AccessMode | undefined) ?? 'normal';
  }

  /** The dossier's facts, read once per request: its Patient and the patient's Consents. */
  dossier(ctx: RequestContext, patientId: string): Promise<DossierFacts | undefined> {
    let cache = this.#caches.get(ctx);
    if (!cache) {
      cache = { dossiers: new Map() };
      this.#caches.set(ctx, cache);
    }
    let facts = cache.dossiers.get(patientId);
    if (!facts) {
      facts = this.#loadDossier(patientId);
      cache.dossiers.set(patientId, facts);
    }
    return facts;
  }

  async #loadDossier(patientId: string): Promise<DossierFacts | undefined> {
    const [patient, recorded] = await Promise.all([
      this.#store.read('Patient', patientId).catch(() => undefined),
      this.#status ? this.#status(patientId) : Promise.resolve(undefined),
    ]);
    if (!patient?.resource) return undefined;
    const consents: Consent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.search({ types: ['Consent'], where: { param: 'patient', in: [indexKey('ref', `Patient/${patientId}`)] }, count: 500, cursor });
      consents.push(...page.entries.map((e) => e.resource as unknown as Consent));
      cursor = page.next;
    } while (cursor && consents.length < 5000);
    const body = patient.resource as { active?: boolean; birthDate?: string };
    // The dossier record decides; a Patient without one (fed outside the lifecycle) is closed
    // when inactive. Patient.active alone never reopens a dossier the record says is closed.
    const status = recorded ?? (body.active === false ? 'closed' : 'active');
    const minor = typeof body.birthDate === 'string' ? Date.now() - Date.parse(body.birthDate) < ADULT_AGE_MS : undefined;
    return dossierFacts(patientId, status, consents, minor === undefined ? {} : { minor });
  }

  /** Facts of a resource; a Binary takes those of the DocumentReference it belongs to. */
  async #facts(ctx: RequestContext, resource: ResourceBody): Promise<ResourceFacts> {
    if (resource.resourceType === 'Binary') {
      const context = (resource as { securityContext?: { reference?: string } }).securityContext?.reference;
      const [type, id] = context?.split('/') ?? [];
      // The owner may be written by the same transaction (an MHD provide bundle).
      const owner = type && id ? (ctx.pending?.get(`${type}/${id}`) ?? (await this.#store.read(type, id).catch(() => undefined))?.resource) : undefined;
      if (owner) return resourceFacts(owner as unknown as Resource, this.#matrix);
    }
    return resourceFacts(resource as unknown as Resource, this.#matrix);
  }

  async #decide(ctx: RequestContext, resource: ResourceBody, action: 'read' | 'create' | 'update' | 'delete'): Promise<Decision> {
    const actor = this.#actor(ctx);
    if (!actor) return { allowed: false, reason: 'no-read-rights', visibleAs: 'forbidden' };
    const facts = await this.#facts(ctx, resource);
    const dossier = facts.dossier ? await this.dossier(ctx, facts.dossier) : undefined;
    return decideAccess({ actor, dossier, resource: facts, action, mode: this.#mode(ctx), matrix: this.#matrix });
  }

  async canRead(ctx: RequestContext, version: StoredVersion): Promise<GateAnswer> {
    if (!version.resource) return { allowed: false, visibleAs: 'absent', reason: 'deleted' };
    if (version.type === AUDIT_TYPE) return this.#canReadAudit(ctx, version.resource);
    return answer(await this.#decide(ctx, version.resource, 'read'));
  }

  /** The dossiers whose access history the actor reads ('all' for operators). */
  async #auditScope(ctx: RequestContext): Promise<'all' | string[]> {
    const actor = this.#actor(ctx);
    const scope = actor ? AUDIT_READERS[actor.kind] : 'none';
    if (!actor || scope === 'none') return [];
    if (scope === 'all') return 'all';
    const ids = actor.kind === 'representative' ? actor.patientIds : actor.kind === 'patient' ? [actor.patientId] : [];
    const mode = this.#mode(ctx);
    const open = await Promise.all(ids.map(async (id) => {
      const dossier = await this.dossier(ctx, id);
      return dossier && !dossierRefusal({ actor, dossier, mode, matrix: this.#matrix }) ? id : undefined;
    }));
    return open.filter((id): id is string => id !== undefined);
  }

  async #canReadAudit(ctx: RequestContext, event: ResourceBody): Promise<GateAnswer> {
    const scope = await this.#auditScope(ctx);
    if (scope === 'all') return { allowed: true };
    const dossier = auditedDossier(event);
    // Someone else's record answers as a missing one: its existence is not told either.
    return dossier && scope.includes(dossier) ? { allowed: true } : { allowed: false, visibleAs: 'absent', reason: 'audit-not-own-dossier' };
  }

  async canWrite(ctx: RequestContext, action: 'create' | 'update' | 'delete', resource: ResourceBody | undefined, previous: StoredVersion | undefined): Promise<GateAnswer> {
    const actor = this.#actor(ctx);
    if (!actor) return { allowed: false, visibleAs: 'forbidden', reason: 'no-identity' };
    // A professional joining the care team records it as a Consent they perform themselves.
    if (resource?.resourceType === 'Consent' && (actor.kind === 'professional') && action === 'create') {
      const control = consentControl(resource as unknown as Consent);
      const patientId = (resource as { patient?: { reference?: string } }).patient?.reference?.replace(/^Patient\//, '');
      if (control?.code === 'authorise' && patientId && control.actors.length === 1 && control.actors[0] === actor.rpps) {
        const dossier = await this.dossier(ctx, patientId);
        if (!dossier) return { allowed: false, visibleAs: 'forbidden', reason: 'no-dossier' };
        return answer(decideSelfAuthorisation(actor, dossier));
      }
    }
    if (previous?.resource) {
      // Reading first: a resource the actor may not see stays hidden (404), even to a writer.
      const read = await this.#decide(ctx, previous.resource, 'read');
      if (!read.allowed) return answer(read);
      const onOld = await this.#decide(ctx, previous.resource, action === 'delete' ? 'delete' : 'update');
      if (!onOld.allowed || action === 'delete') return answer(onOld);
    }
    if (!resource) return { allowed: false, visibleAs: 'forbidden', reason: 'nothing-to-write' };
    // The new content must be something the actor may create (no moving a document elsewhere).
    return answer(await this.#decide(ctx, resource, 'create'));
  }

  async hiddenMembers(ctx: RequestContext, resource: ResourceBody): Promise<ReadonlySet<string>> {
    const hidden = new Set<string>();
    await Promise.all(memberReferences(resource).map(async (ref) => {
      const local = localReference(ref, ctx.baseUrl);
      if (!local) return;
      const [type, id] = local.split('/');
      const pending = ctx.pending?.get(local);
      const version = pending
        ? { type, id, versionId: 0, lastUpdated: '', deleted: false, resource: pending }
        : await this.#store.read(type, id).catch(() => undefined);
      // Unknown ids name nothing; a deleted or unreadable member is left out.
      if (version && !(await this.canRead(ctx, version)).allowed) hidden.add(ref);
    }));
    return hidden;
  }

  async searchConstraint(ctx: RequestContext, types: string[], where?: Condition): Promise<Condition | 'deny' | undefined> {
    const actor = this.#actor(ctx);
    if (!actor) return 'deny';
    if (types.includes(AUDIT_TYPE)) {
      if (types.length > 1) return 'deny';
      const scope = await this.#auditScope(ctx);
      if (scope === 'all') return undefined;
      return scope.length ? { param: AUDITED_DOSSIER_PARAM, in: scope.map(auditedDossierKey) } : 'deny';
    }
    if (types.every((t) => isDirectoryType(t, this.#matrix))) return undefined;
    const mode = this.#mode(ctx);
    const matrix = this.#matrix;
    if (actor.kind === 'patient' || actor.kind === 'representative' || actor.kind === 'device') {
      const ids = actor.kind === 'representative' ? actor.patientIds : [actor.patientId];
      const dossiers = (await Promise.all(ids.map((id) => this.dossier(ctx, id)))).filter((d): d is DossierFacts => d !== undefined);
      // Naming a dossier they may not enter is refused, as it is for professionals.
      const named = dossierHints(types, where);
      const enterable = new Set(dossiers.filter((dossier) => !dossierRefusal({ actor, dossier, mode, matrix })).map((d) => d.patientId));
      if (named.some((id) => !enterable.has(id))) return 'deny';
      return accessConstraint({ actor, dossiers, mode, matrix });
    }
    let hints = dossierHints(types, where);
    if (hints.length === 0 && types.length === 1 && types[0] === 'Patient' && where) {
      // Finding a dossier by its INS: the patients the criteria name become the dossiers searched.
      const found = await this.#store.search({ types: ['Patient'], where, count: 2 });
      if (found.entries.length === 0) return { ids: [] };
      hints = found.entries.map((e) => e.id);
    }
    if (hints.length !== 1) return 'deny';
    const dossier = await this.dossier(ctx, hints[0]);
    if (!dossier) return { ids: [] };
    return accessConstraint({ actor, dossier, mode, matrix });
  }
}
