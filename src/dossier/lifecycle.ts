// The dossier lifecycle: create (with the patient's consent, by channel, minors with their legal
// representatives), close, reactivate, the support desk's credential operations, and the
// status the access gate asks for. Each change of state is one store commit holding the FHIR
// resources (Patient, Consent), the dossier record and what the events add (audit records,
// notifications): all of it or nothing. Credentials live in the identity module's records and
// are written right after the commit (a failure there leaves a dossier the desk can give
// credentials to, never credentials without a dossier).
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../access/index.ts';
import { OperationOutcomeError, type FhirRepository, type RequestContext } from '../fhir/index.ts';
import type { NewCredential, OtpChannel, PatientSubject } from '../identity/index.ts';
import { isStoreError, type Changeset, type ResourceBody, type ResourceWrite, type Store, type StoredVersion } from '../store/index.ts';
import { creationConsent, creationConsentProblems, patientRequestConsent } from './consent.ts';
import { generatedLogin, initialPassword, MIN_PASSWORD_LENGTH, type DossierCredentials } from './credentials.ts';
import { departmentOf } from './department.ts';
import { insOf, type IssueType } from './fhir-port.ts';
import { BadPreferences, checkPreferences, preferencesWrite, readPreferences, type NotificationPreferences, type NotifyChannel } from './preferences.ts';
import {
  deleteWrite, dossierOfIns, dossierWrite, insClaimWrite, insKey, loginClaimWrite, loginKey, readDossier, readRecord, recordWrite, RECORD_TYPES, sha256, type Versioned,
} from './records.ts';
import {
  actorReference, actorSummary, CHANNEL_RULES, creationChannel, creationProblems, deskRefusal, isMinor, mayChangeStatus, reactivationRefusal, type Refusal,
} from './rules.ts';
import type { Channel, DossierEvent, DossierEvents, DossierRecord, EventChanges } from './types.ts';

export const TEN_YEARS_MS = Math.round(10 * 365.25 * 24 * 3600_000);
export const CLOSE_REASONS = ['patient-request'] as const;
/** How the desk checked who the caller is before touching their credentials. */
export const IDENTITY_CHECKS = ['id-document', 'in-person', 'video-call', 'postal-letter'] as const;
/** Legal representatives' relationship to the minor (v3-RoleCode). */
export const REPRESENTATIVE_RELATIONSHIPS: Readonly<Record<string, string>> = {
  MTH: 'mother',
  FTH: 'father',
  PRN: 'parent',
  GUARD: 'guardian',
};
const ROLE_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const MAX_ACTIVATION_ATTEMPTS = 5;

export interface RepresentativeInput {
  relationship: string;
  name?: Record<string, unknown>;
  login?: string;
  otp?: OtpChannel;
}

export interface CreateRequest {
  patient?: ResourceBody;
  consent?: ResourceBody;
  channel?: string;
  login?: string;
  password?: string;
  otp?: OtpChannel;
  activationCode?: string;
  representatives: RepresentativeInput[];
}

export interface IssuedCredential {
  role: 'patient' | 'representative';
  login: string;
  /** Present once, when someone else opened the dossier: to hand over on paper. */
  initialPassword?: string;
  /** An existing representative credential the minor's dossier was added to. */
  existing?: boolean;
}

export interface CreateResult {
  patientId: string;
  channel: Channel;
  minor: boolean;
  credentials: IssuedCredential[];
}

export interface LifecycleOptions {
  store: Store;
  /** The gated repository (reads that the actor makes). */
  repository: FhirRepository;
  /** The server's own writes (see fhir-port.ts). */
  system: FhirRepository;
  credentials: DossierCredentials | Promise<DossierCredentials>;
  events: DossierEvents;
  clock: () => number;
  retentionMs: number;
  ageOfMajority: number;
  activationCodeLifetimeMs: number;
  /** Access control off: no identities, every lifecycle rule about who acts is skipped. */
  open: boolean;
}

export function fail(refusal: Refusal): never {
  throw new OperationOutcomeError(refusal.status, [{ severity: 'error', code: refusal.code, diagnostics: refusal.message }]);
}

export function problem(status: number, code: IssueType, message: string): OperationOutcomeError {
  return new OperationOutcomeError(status, [{ severity: 'error', code, diagnostics: message }]);
}

function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'status' in value && 'message' in value;
}

/** The access engine's actor the identity layer put in the context (undefined: none). */
export const actorOf = (ctx: RequestContext) => ctx.actor as Actor | undefined;

interface ActivationRecord {
  codeHash: string;
  expiresAt: number;
  attempts: number;
}

/** 'ABCD-EFGH-JKLM' → 'ABCDEFGHJKLM': what is hashed and compared. */
function normaliseCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

export class DossierLifecycle {
  readonly #o: LifecycleOptions;

  constructor(options: LifecycleOptions) {
    this.#o = options;
  }

  get store(): Store {
    return this.#o.store;
  }

  now(): number {
    return this.#o.clock();
  }

  #iso(): string {
    return new Date(this.#o.clock()).toISOString();
  }

  #system(ctx: RequestContext): RequestContext {
    return { baseUrl: ctx.baseUrl, strict: true };
  }

  /** Commits a change with its event's additions; store refusals become FHIR answers. */
  async commit(changes: Changeset, event: DossierEvent | undefined): Promise<void> {
    const extra: EventChanges = event ? await this.#o.events.emit(event) : {};
    try {
      await this.#o.store.commit({
        writes: [...changes.writes, ...(extra.writes ?? [])],
        log: [...(changes.log ?? []), ...(extra.log ?? [])],
        outbox: [...(changes.outbox ?? []), ...(extra.outbox ?? [])],
        blobs: changes.blobs ?? [],
      });
    } catch (e) {
      if (isStoreError(e, 'version-conflict') || isStoreError(e, 'already-exists')) throw problem(409, 'conflict', 'the dossier was changed at the same time by someone else: try again');
      if (isStoreError(e, 'unavailable')) throw problem(503, 'transient', 'the database is unavailable; try again');
      throw e;
    }
  }

  async #patient(patientId: string): Promise<StoredVersion> {
    const v = await this.#o.store.read('Patient', patientId);
    if (!v?.resource || v.deleted) throw problem(404, 'not-found', `Patient/${patientId} is not known`);
    return v;
  }

  async #dossier(patientId: string): Promise<Versioned<DossierRecord>> {
    const found = await readDossier(this.#o.store, patientId);
    if (!found) throw problem(404, 'not-found', `Patient/${patientId} has no dossier`);
    return found;
  }

  minor(patient: ResourceBody): boolean {
    return isMinor(patient.birthDate as string | undefined, this.#o.clock(), this.#o.ageOfMajority) === true;
  }

  // ---- creation ---------------------------------------------------------------------------------

  async create(ctx: RequestContext, request: CreateRequest): Promise<CreateResult> {
    const actor = actorOf(ctx);
    const channel = creationChannel(actor, request.channel, this.#o.open);
    if (isRefusal(channel)) fail(channel);
    const given = request.patient;
    if (!given || given.resourceType !== 'Patient') throw problem(422, 'required', 'the patient parameter must hold the Patient (with its INS)');
    const ins = insOf(given.identifier);
    if (!ins) throw problem(422, 'required', 'the Patient needs an INS identifier (INS-NIR or INS-NIA)');
    const minorNow = isMinor(given.birthDate as string | undefined, this.#o.clock(), this.#o.ageOfMajority);
    if (minorNow === undefined) throw problem(422, 'required', 'the Patient needs a birthDate (a minor is opened differently)');
    const refusal = creationProblems({ channel, minor: minorNow, representatives: request.representatives.length, hasActivationCode: request.activationCode !== undefined, hasPassword: request.password !== undefined });
    if (refusal) fail(refusal);
    if (!request.consent) throw problem(422, 'required', "a dossier is opened only with the patient's consent: the consent parameter must hold it");

    const existingDossier = await dossierOfIns(this.#o.store, ins);
    if (existingDossier) {
      const status = (await readDossier(this.#o.store, existingDossier))?.value.status;
      throw problem(409, 'duplicate', `a dossier already exists for this INS${status === 'active' ? '' : ': it is closed, reactivate it'}`);
    }
    const existingPatient = await this.#patientByIns(ctx, ins);
    const patientId = existingPatient?.id ?? (typeof given.id === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(given.id) ? given.id : randomUUID());
    if (!existingPatient && (await this.#o.store.read('Patient', patientId))?.deleted === false) {
      throw problem(409, 'conflict', `Patient/${patientId} exists with another INS`);
    }
    const consentProblems = creationConsentProblems(request.consent, patientId, this.#o.clock());
    if (consentProblems.length) {
      throw new OperationOutcomeError(422, consentProblems.map((diagnostics) => ({ severity: 'error' as const, code: 'invariant' as const, diagnostics, expression: ['consent'] })));
    }
    const activation = CHANNEL_RULES[channel].activationCode ? await this.#checkActivation(ins, request.activationCode as string) : undefined;
    const credentials = await this.#plannedCredentials(minorNow, request);
    const handedOver = CHANNEL_RULES[channel].credentials === 'handed-over';

    const sys = this.#system(ctx);
    const consentId = randomUUID();
    const consent = creationConsent(request.consent, consentId, patientId, actorReference(actor, patientId));
    const base = withoutVersionMeta(existingPatient?.resource ?? { ...given, id: patientId });
    const patient = withRepresentatives({ ...base, active: true }, request.representatives);
    const at = this.#iso();
    const department = departmentOf(patient, ins);
    const record: DossierRecord = {
      patientId,
      ins,
      status: 'active',
      channel,
      createdAt: at,
      createdBy: actorSummary(actor),
      ...(department ? { department } : {}),
      consentId,
      logins: {
        ...(credentials.patient ? { patient: credentials.patient.login } : {}),
        representatives: credentials.representatives.map((r) => ({ login: r.login, relationship: r.relationship })),
      },
      handedOverPasswords: handedOver ? [...(credentials.patient ? [credentials.patient.login] : []), ...credentials.representatives.filter((r) => !r.existing).map((r) => r.login)] : [],
    };
    const writes: ResourceWrite[] = [
      await this.#o.system.prepareWrite(sys, 'update', 'Patient', patientId, patient, existingPatient?.versionId ?? 0),
      await this.#o.system.prepareWrite(sys, 'create', 'Consent', consentId, consent),
      dossierWrite(record, 0),
      insClaimWrite(ins, patientId),
      ...(activation ? [deleteWrite(RECORD_TYPES.activation, insKey(ins), activation.version)] : []),
      ...(credentials.patient ? [loginClaimWrite(credentials.patient.login, patientId)] : []),
      ...credentials.representatives.filter((r) => !r.existing).map((r) => loginClaimWrite(r.login, patientId)),
    ];
    const logins = [...(credentials.patient ? [credentials.patient.login] : []), ...credentials.representatives.map((r) => r.login)];
    const contacts = [...(credentials.patient ? [credentials.patient.otp] : []), ...credentials.representatives.map((r) => r.otp)];
    await this.commit({ writes }, { kind: 'dossier-created', patientId, at, actor, channel, minor: minorNow, consentId, logins, contacts });

    const store = await this.#o.credentials;
    const issued: IssuedCredential[] = [];
    if (credentials.patient) {
      await store.set({ login: credentials.patient.login, password: credentials.patient.password, subject: { kind: 'patient', patientId }, otp: credentials.patient.otp });
      issued.push({ role: 'patient', login: credentials.patient.login, ...(handedOver ? { initialPassword: credentials.patient.password } : {}) });
    }
    for (const r of credentials.representatives) {
      if (r.existing) {
        await store.addRepresented(r.login, patientId);
        issued.push({ role: 'representative', login: r.login, existing: true });
      } else {
        await store.set({ login: r.login, password: r.password, subject: { kind: 'representative', patientIds: [patientId] }, otp: r.otp });
        issued.push({ role: 'representative', login: r.login, ...(handedOver ? { initialPassword: r.password } : {}) });
      }
    }
    return { patientId, channel, minor: minorNow, credentials: issued };
  }

  /** The Patient already holding this INS (an establishment may have sent it before the dossier). */
  async #patientByIns(ctx: RequestContext, ins: { system: string; value: string }): Promise<StoredVersion | undefined> {
    const found = await this.#o.system.search(this.#system(ctx), 'Patient', [['identifier', `${ins.system}|${ins.value}`], ['_count', '2']]);
    if (found.matches.length > 1) throw problem(409, 'multiple-matches', 'several Patients hold this INS: resolve the duplicate first');
    return found.matches[0];
  }

  /** Logins and passwords to issue; refuses taken logins before anything is written. */
  async #plannedCredentials(minor: boolean, request: CreateRequest) {
    const store = await this.#o.credentials;
    const isTaken = async (login: string, taken: Set<string>) =>
      taken.has(login.toLowerCase()) || (await store.subjectOf(login)) !== undefined || (await readRecord(this.#o.store, RECORD_TYPES.login, loginKey(login))) !== undefined;
    const freeLogin = async (wanted: string | undefined, taken: Set<string>): Promise<string> => {
      if (wanted !== undefined) {
        if (!/^\S{3,254}$/.test(wanted)) throw problem(422, 'value', 'a login is 3 to 254 characters without spaces');
        if (await isTaken(wanted, taken)) throw problem(409, 'duplicate', `the login ${wanted} is taken`);
        return wanted;
      }
      for (;;) {
        const login = generatedLogin();
        if (!(await isTaken(login, taken))) return login;
      }
    };
    const taken = new Set<string>();
    let patient: { login: string; password: string; otp: OtpChannel } | undefined;
    if (!minor) {
      if (!request.otp) throw problem(422, 'required', 'the patient needs an e-mail address or a mobile number for their one-time sign-in codes');
      if (request.password !== undefined && request.password.length < MIN_PASSWORD_LENGTH) throw problem(422, 'value', `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
      const login = await freeLogin(request.login, taken);
      taken.add(login.toLowerCase());
      patient = { login, password: request.password ?? initialPassword(), otp: request.otp };
    }
    const representatives: { login: string; relationship: string; existing: boolean; password: string; otp: OtpChannel }[] = [];
    for (const r of request.representatives) {
      if (!Object.hasOwn(REPRESENTATIVE_RELATIONSHIPS, r.relationship)) throw problem(422, 'code-invalid', `a representative's relationship is one of ${Object.keys(REPRESENTATIVE_RELATIONSHIPS).join(', ')}`);
      if (!r.otp) throw problem(422, 'required', 'each legal representative needs an e-mail address or a mobile number');
      const existing = r.login !== undefined ? await store.subjectOf(r.login) : undefined;
      if (existing) {
        // An existing representative account: the address given must be the one it has, so that
        // nobody attaches a child to someone else's account by knowing a login.
        const otp = await store.otpOf(r.login as string);
        if (existing.kind !== 'representative' || otp?.to !== r.otp.to) throw problem(409, 'duplicate', `the login ${r.login} is taken`);
        representatives.push({ login: r.login as string, relationship: r.relationship, existing: true, password: '', otp: r.otp });
        continue;
      }
      const login = await freeLogin(r.login, taken);
      taken.add(login.toLowerCase());
      representatives.push({ login, relationship: r.relationship, existing: false, password: initialPassword(), otp: r.otp });
    }
    return { patient, representatives };
  }

  // ---- online activation --------------------------------------------------------------------------

  /** The desk issues an activation code for an INS (sent by post, as the insurer does). */
  async issueActivationCode(ctx: RequestContext, ins: { system: string; value: string }): Promise<{ code: string; expiresAt: string }> {
    const refusal = deskRefusal(actorOf(ctx), this.#o.open);
    if (refusal) fail(refusal);
    if (await dossierOfIns(this.#o.store, ins)) throw problem(409, 'duplicate', 'a dossier already exists for this INS');
    const raw = Array.from(randomBytes(12), (b) => 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'[b % 32]).join('');
    const code = `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8, 12)}`;
    const expiresAt = this.#o.clock() + this.#o.activationCodeLifetimeMs;
    const record: ActivationRecord = { codeHash: sha256(normaliseCode(code)), expiresAt, attempts: 0 };
    await this.commit({ writes: [recordWrite(RECORD_TYPES.activation, insKey(ins), record, undefined)] }, { kind: 'activation-code-issued', insSystem: ins.system, at: this.#iso(), actor: actorOf(ctx) });
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  async #checkActivation(ins: { system: string; value: string }, code: string): Promise<Versioned<ActivationRecord>> {
    const found = await readRecord<ActivationRecord>(this.#o.store, RECORD_TYPES.activation, insKey(ins));
    const refused = problem(403, 'security', 'unknown, expired or already used activation code');
    if (!found || found.value.expiresAt <= this.#o.clock() || found.value.attempts >= MAX_ACTIVATION_ATTEMPTS) throw refused;
    const given = Buffer.from(sha256(normaliseCode(code)), 'hex');
    const expected = Buffer.from(found.value.codeHash, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await this.#o.store.commit({ writes: [recordWrite(RECORD_TYPES.activation, insKey(ins), { ...found.value, attempts: found.value.attempts + 1 }, found.version)] }).catch(() => undefined);
      throw refused;
    }
    return found;
  }

  // ---- status ---------------------------------------------------------------------------------------

  /** TD0.2-like: whether a dossier exists and its status, for whoever may know it. */
  async statusOf(ctx: RequestContext, query: { patientId?: string; ins?: { system: string; value: string } }): Promise<{ patientId: string; record: DossierRecord } | undefined> {
    const actor = actorOf(ctx);
    if (!this.#o.open || actor) {
      if (!actor || actor.kind === 'device' || (actor.kind === 'professional' && actor.activity)) throw problem(403, 'forbidden', "this identity may not ask for a dossier's status");
    }
    const patientId = query.patientId ?? (query.ins ? await dossierOfIns(this.#o.store, query.ins) : undefined);
    const own = actor?.kind === 'patient' ? [actor.patientId] : actor?.kind === 'representative' ? actor.patientIds : undefined;
    if (!patientId || (own && !own.includes(patientId))) return undefined;
    const found = await readDossier(this.#o.store, patientId);
    return found ? { patientId, record: found.value } : undefined;
  }

  // ---- close and reactivate -----------------------------------------------------------------------

  async close(ctx: RequestContext, patientId: string, reason: string): Promise<DossierRecord> {
    if (!(CLOSE_REASONS as readonly string[]).includes(reason)) throw problem(422, 'code-invalid', `reason must be one of ${CLOSE_REASONS.join(', ')}`);
    const { value: record, version } = await this.#dossier(patientId);
    const patient = await this.#patient(patientId);
    const refusal = mayChangeStatus(actorOf(ctx), record, this.minor(patient.resource as ResourceBody), this.#o.open);
    if (refusal) fail(refusal);
    if (record.status !== 'active') throw problem(409, 'conflict', 'the dossier is already closed');
    const at = this.#iso();
    const closed: DossierRecord = { ...record, status: 'closed', closedAt: at, closeReason: reason, purgeAt: this.#o.clock() + this.#o.retentionMs };
    await this.commit(
      { writes: [dossierWrite(closed, version), await this.#patientActive(ctx, patient, false)] },
      { kind: 'dossier-closed', patientId, at, actor: actorOf(ctx), reason },
    );
    return closed;
  }

  async reactivate(ctx: RequestContext, patientId: string, consent: ResourceBody | undefined): Promise<DossierRecord> {
    const actor = actorOf(ctx);
    const { value: record, version } = await this.#dossier(patientId);
    const patient = await this.#patient(patientId);
    const refusal = mayChangeStatus(actor, record, this.minor(patient.resource as ResourceBody), this.#o.open) ?? reactivationRefusal(record, this.#o.clock());
    if (refusal) fail(refusal);
    const at = this.#iso();
    const consentId = randomUUID();
    const byThePatient = !actor || actor.kind === 'patient' || actor.kind === 'representative';
    if (!consent && !byThePatient) throw problem(422, 'required', "reactivating a dossier for the patient needs their consent: the consent parameter must hold it");
    let stored: ResourceBody;
    if (consent) {
      const problems = creationConsentProblems(consent, patientId, this.#o.clock());
      if (problems.length) throw new OperationOutcomeError(422, problems.map((diagnostics) => ({ severity: 'error' as const, code: 'invariant' as const, diagnostics, expression: ['consent'] })));
      stored = creationConsent(consent, consentId, patientId, actorReference(actor, patientId));
    } else {
      stored = patientRequestConsent(consentId, patientId, at);
    }
    const { closedAt: _c, closeReason: _r, purgeAt: _p, ...rest } = record;
    const active: DossierRecord = { ...rest, status: 'active', reactivatedAt: at, consentId };
    await this.commit(
      {
        writes: [
          dossierWrite(active, version),
          await this.#patientActive(ctx, patient, true),
          await this.#o.system.prepareWrite(this.#system(ctx), 'create', 'Consent', consentId, stored),
        ],
      },
      { kind: 'dossier-reactivated', patientId, at, actor, consentId },
    );
    return active;
  }

  /** Patient.active follows the dossier (what the DMP's TD0.2 reads, and the gate before it reads the record). */
  async #patientActive(ctx: RequestContext, patient: StoredVersion, active: boolean): Promise<ResourceWrite> {
    const resource = { ...withoutVersionMeta(patient.resource as ResourceBody), active };
    return this.#o.system.prepareWrite(this.#system(ctx), 'update', 'Patient', patient.id, resource, patient.versionId);
  }

  // ---- the support desk ---------------------------------------------------------------------------

  async #deskLogin(ctx: RequestContext, patientId: string, login: string | undefined, identityCheck: string | undefined): Promise<{ record: Versioned<DossierRecord>; login: string; check: string }> {
    const refusal = deskRefusal(actorOf(ctx), this.#o.open);
    if (refusal) fail(refusal);
    if (!identityCheck || !(IDENTITY_CHECKS as readonly string[]).includes(identityCheck)) {
      throw problem(422, 'required', `the desk first checks who is calling: identityCheck is one of ${IDENTITY_CHECKS.join(', ')}`);
    }
    const record = await this.#dossier(patientId);
    const logins = [record.value.logins.patient, ...record.value.logins.representatives.map((r) => r.login)].filter((l): l is string => l !== undefined);
    const chosen = login ?? record.value.logins.patient ?? logins[0];
    if (!chosen || !logins.some((l) => l.toLowerCase() === chosen.toLowerCase())) throw problem(404, 'not-found', 'no such login on this dossier');
    return { record, login: chosen, check: identityCheck };
  }

  /** A new initial password, handed over by the desk; the holder's sessions end. */
  async resetCredentials(ctx: RequestContext, patientId: string, input: { login?: string; identityCheck?: string }): Promise<{ login: string; initialPassword: string }> {
    const { record, login, check } = await this.#deskLogin(ctx, patientId, input.login, input.identityCheck);
    const store = await this.#o.credentials;
    const subject = await store.subjectOf(login);
    const otp = await store.otpOf(login);
    if (!subject || !otp) throw problem(404, 'not-found', 'no credentials to reset for this login');
    const updated: DossierRecord = { ...record.value, handedOverPasswords: [...new Set([...record.value.handedOverPasswords, login])] };
    await this.commit({ writes: [dossierWrite(updated, record.version)] }, { kind: 'credentials-reset', patientId, at: this.#iso(), actor: actorOf(ctx), login, identityCheck: check });
    const password = initialPassword();
    await store.set({ login, password, subject, otp });
    await store.unblock(login);
    return { login, initialPassword: password };
  }

  /** Lifts a sign-in lock-out (too many failed attempts). */
  async unblockSignIn(ctx: RequestContext, patientId: string, input: { login?: string; identityCheck?: string }): Promise<{ login: string }> {
    const { record, login, check } = await this.#deskLogin(ctx, patientId, input.login, input.identityCheck);
    await this.commit({ writes: [dossierWrite(record.value, record.version)] }, { kind: 'sign-in-unblocked', patientId, at: this.#iso(), actor: actorOf(ctx), login, identityCheck: check });
    await (await this.#o.credentials).unblock(login);
    return { login };
  }

  /** The holder replaces a handed-over (or any) password; their sessions end. */
  async setPassword(ctx: RequestContext, patientId: string, input: { login?: string; current?: string; next?: string }): Promise<void> {
    const actor = actorOf(ctx);
    const { value: record, version } = await this.#dossier(patientId);
    if (!input.login || !input.current || !input.next) throw problem(422, 'required', 'login, currentPassword and newPassword are needed');
    if (input.next.length < MIN_PASSWORD_LENGTH) throw problem(422, 'value', `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
    const store = await this.#o.credentials;
    const subject = await store.subjectOf(input.login);
    const logins = [record.logins.patient, ...record.logins.representatives.map((r) => r.login)];
    const mine = subject !== undefined && logins.some((l) => l?.toLowerCase() === input.login?.toLowerCase()) && actsAs(actor, subject, this.#o.open);
    if (!mine || !(await store.verify(input.login, input.current))) throw problem(403, 'security', 'wrong login or password');
    const otp = await store.otpOf(input.login);
    const updated: DossierRecord = { ...record, handedOverPasswords: record.handedOverPasswords.filter((l) => l.toLowerCase() !== input.login?.toLowerCase()) };
    await this.commit({ writes: [dossierWrite(updated, version)] }, { kind: 'password-changed', patientId, at: this.#iso(), actor, login: input.login });
    await store.set({ login: input.login, password: input.next, subject: subject as PatientSubject, otp: otp as OtpChannel } satisfies NewCredential);
  }

  // ---- how the patient is told --------------------------------------------------------------------

  /** The patient's own dossier only (with access control off, anyone: conformance testing). */
  #ownDossier(ctx: RequestContext, patientId: string): void {
    const actor = actorOf(ctx);
    if (actor ? actor.kind !== 'patient' || actor.patientId !== patientId : !this.#o.open) {
      throw problem(403, 'forbidden', 'only the patient chooses how they are told');
    }
  }

  /** The patient's choice, and the address they sign in with. */
  async notificationPreferences(ctx: RequestContext, patientId: string): Promise<{ chosen?: NotificationPreferences; signIn?: { channel: NotifyChannel; to: string } }> {
    this.#ownDossier(ctx, patientId);
    const { value: record } = await this.#dossier(patientId);
    const otp = record.logins.patient ? await (await this.#o.credentials).otpOf(record.logins.patient) : undefined;
    const chosen = await readPreferences(this.#o.store, patientId);
    return { ...(chosen ? { chosen: chosen.value } : {}), ...(otp ? { signIn: { channel: otp.channel, to: otp.to } } : {}) };
  }

  /** Records the patient's choice of channels and addresses (audited, in one commit). */
  async chooseNotificationPreferences(ctx: RequestContext, patientId: string, input: { channels: string[]; email?: string; phone?: string }): Promise<NotificationPreferences> {
    const { signIn } = await this.notificationPreferences(ctx, patientId);
    let preferences: NotificationPreferences;
    try {
      preferences = checkPreferences(input, signIn);
    } catch (e) {
      if (e instanceof BadPreferences) throw problem(422, 'value', e.message);
      throw e;
    }
    const current = await readPreferences(this.#o.store, patientId);
    await this.commit({ writes: [preferencesWrite(patientId, preferences, current?.version ?? 0)] }, { kind: 'notification-preferences-changed', patientId, at: this.#iso(), actor: actorOf(ctx) });
    return preferences;
  }
}

/** Whether the actor is the holder of a credential with this subject. */
function actsAs(actor: Actor | undefined, subject: PatientSubject, open: boolean): boolean {
  if (!actor) return open;
  if (actor.kind === 'patient') return subject.kind === 'patient' && subject.patientId === actor.patientId;
  if (actor.kind === 'representative') return subject.kind === 'representative' && subject.patientIds.every((id) => actor.patientIds.includes(id));
  return false;
}

/** Legal representatives as Patient.contact (relationship in v3-RoleCode), without duplicates. */
function withRepresentatives(patient: ResourceBody, representatives: RepresentativeInput[]): ResourceBody {
  if (representatives.length === 0) return patient;
  const contacts = Array.isArray(patient.contact) ? [...(patient.contact as unknown[])] : [];
  for (const r of representatives) {
    const telecom = r.otp ? [{ system: r.otp.channel === 'email' ? 'email' : 'phone', value: r.otp.to }] : [];
    contacts.push({
      relationship: [{ coding: [{ system: ROLE_CODE_SYSTEM, code: r.relationship, display: REPRESENTATIVE_RELATIONSHIPS[r.relationship] }] }],
      ...(r.name ? { name: r.name } : {}),
      ...(telecom.length ? { telecom } : {}),
    });
  }
  return { ...patient, contact: contacts };
}

/** A stored resource as the body of its next version: without the version the store stamped. */
export function withoutVersionMeta(resource: ResourceBody): ResourceBody {
  const { meta, ...rest } = resource;
  if (!meta) return rest as ResourceBody;
  const { versionId: _v, lastUpdated: _l, ...kept } = meta as Record<string, unknown>;
  return (Object.keys(kept).length ? { ...rest, meta: kept } : rest) as ResourceBody;
}
