// What happened → a FHIR R4 AuditEvent, following the IHE Basic Audit Log Patterns (BALP) where
// they fit: type/subtype per RESTful interaction (or per IHE transaction for XDS and MHD), the
// user agent (requestor) with its profession as role and its access mode as purposeOfUse, the
// user's organization, the client and server agents, Carnet as the observer, the patient
// (dossier) and the resource as entities, the outcome (0 success, 4 refused, 8 failed).
//
// Only ids and codes go in: no names, no narrative, no search values, no break-the-glass
// reason text (free text may carry health data). The builder refuses anything that does not
// look like an id or a code, so a caller cannot slip free text into the trail by mistake.
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { AuditEvent, AuditEventAgent, AuditEventEntity, CodeableConcept, Coding, Reference } from '@medplum/fhirtypes';
import type { AccessMode, Actor } from '../access/index.ts';
import type { Identity } from '../identity/index.ts';
import {
  ACTIVITY_TYPES,
  AGENT_TYPES,
  CARNET_ACCOUNT_SYSTEM,
  CARNET_ACTIVITY_SYSTEM,
  CARNET_AGENT_SYSTEM,
  ENTITY,
  IHE_TRANSACTIONS,
  IHE_TRANSACTION_CODES,
  MODE_CODES,
  PROFESSION_SYSTEM,
  PS_IDNAT_SYSTEM,
  RESTFUL_INTERACTION,
  REST_TYPE,
  SOURCE_TYPE,
  SPECIALTY_SYSTEM,
  STRUCT_IDNAT_SYSTEM,
} from './codes.ts';

/** Who acted: the access engine's Actor or the identity layer's Identity (both carry `kind`). */
export type AuditActor = Actor | Identity;

/**
 * What was done. FHIR interactions by name; 'operation' for $everything, $summary…; 'login' /
 * 'logout' for sign-in; 'export' for an operator's export; 'activity' for the rest (dossier
 * lifecycle, credential resets…), named by `name` (see DOSSIER_ACTIVITIES).
 */
export type AuditAction =
  | 'read'
  | 'vread'
  | 'history'
  | 'search'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'operation'
  | 'login'
  | 'logout'
  | 'export'
  | 'activity';

/** The protocol the request came by: FHIR REST, MHD (FHIR with IHE transactions), XDS.b SOAP, or another API. */
export type AuditChannel = 'fhir' | 'mhd' | 'xds' | 'api';

/** success: done; refused: access or validation refused (minor failure); error: the server failed. */
export type AuditOutcome = 'success' | 'refused' | 'error';

/** Named activities and their CRUDE action; other names are recorded with action E. */
export const DOSSIER_ACTIVITIES: Readonly<Record<string, 'C' | 'R' | 'U' | 'D' | 'E'>> = {
  'dossier-create': 'C',
  'dossier-close': 'U',
  'dossier-reactivate': 'U',
  'dossier-purge': 'D',
  'credentials-reset': 'U',
  'credentials-unblock': 'U',
  'statistics-export': 'R',
  'notification-preferences-change': 'U',
};

export interface AuditRecord {
  /** The AuditEvent id (default: a new UUID). */
  id?: string;
  /** When it happened (default: now). */
  recorded?: Date | string | number;
  /** Who acted; undefined when no identity could be established (a refused sign-in…). */
  actor?: AuditActor;
  /** An account id for actors without a national id (a legal representative's sign-in subject). */
  account?: string;
  /** The access mode declared (default normal). The identity layer's { kind } form is accepted. */
  mode?: AccessMode | { kind: AccessMode };
  action: AuditAction;
  /** For 'operation' the operation ('$everything'); for 'activity' the activity ('dossier-close'). A code. */
  name?: string;
  channel: AuditChannel;
  /** IHE transaction, e.g. 'ITI-18', 'ITI-43', 'ITI-67'. */
  transaction?: string;
  /** The dossier: the patient's id. */
  patientId?: string;
  /** The resource acted on (for a search: the type searched, without id). */
  resource?: { type: string; id?: string; versionId?: string | number; identifier?: { system?: string; value: string } };
  /** Names of the search parameters used (never their values). */
  searchParams?: string[];
  outcome: AuditOutcome;
  /** Why it was refused or failed: a code (e.g. the access engine's refusal reason). */
  reason?: string;
  /** The calling system: its network address and/or an id (software id, certificate serial: never a person's name). */
  client?: { address?: string; id?: string };
  /** X-Request-Id, to find the request in the server's logs. */
  requestId?: string;
  /**
   * One record standing for several alike (refusals coalesced per client address): how many,
   * and over which period (AuditEvent.period).
   */
  occurrences?: { count: number; from: Date | string | number; to: Date | string | number };
}

export interface AuditEventOptions {
  /** source.site: which Carnet deployment recorded the event (default 'carnet'). */
  site?: string;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE = /^\$?[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const TYPE = /^[A-Z][A-Za-z]{1,63}$/;
/** A search parameter name, or the operation ($everything) a set of searches was made for. */
export const SEARCH_PARAM_NAME = /^[$A-Za-z_][A-Za-z0-9_.:-]{0,99}$/;
const PARAM = SEARCH_PARAM_NAME;
// As assertions accept them: establishment staff ids may hold '-', '.', '_' (SEC-0001).
const RPPS = /^[\x21-\x7e]{1,64}$/;
const ADDRESS = /^[A-Za-z0-9:.[\]%_-]{1,255}$/;

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new TypeError(`audit: ${what} must be an id or a code`);
  return value;
}

function recordedAt(value: AuditRecord['recorded']): string {
  const date = value === undefined ? new Date() : new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError('audit: recorded is not a date');
  return date.toISOString();
}

function modeOf(mode: AuditRecord['mode']): AccessMode {
  if (mode === undefined) return 'normal';
  return typeof mode === 'string' ? mode : mode.kind;
}

function concept(...codings: Coding[]): CodeableConcept {
  return { coding: codings.map((c) => ({ ...c })) };
}

interface ActionCodes {
  type: Coding;
  subtype: Coding[];
  action: NonNullable<AuditEvent['action']>;
}

function restCodes(record: AuditRecord): ActionCodes {
  const interaction = (code: string): Coding => ({ system: RESTFUL_INTERACTION, code });
  const type = record.resource?.type;
  const id = record.resource?.id;
  switch (record.action) {
    case 'read':
      return { type: REST_TYPE, subtype: [interaction('read')], action: 'R' };
    case 'vread':
      return { type: REST_TYPE, subtype: [interaction('vread')], action: 'R' };
    case 'history':
      return { type: REST_TYPE, subtype: [interaction(id ? 'history-instance' : type ? 'history-type' : 'history-system')], action: 'R' };
    case 'search':
      return { type: REST_TYPE, subtype: [interaction(type ? 'search-type' : 'search-system')], action: 'E' };
    case 'create':
      return { type: REST_TYPE, subtype: [interaction('create')], action: 'C' };
    case 'update':
      return { type: REST_TYPE, subtype: [interaction('update')], action: 'U' };
    case 'patch':
      return { type: REST_TYPE, subtype: [interaction('patch')], action: 'U' };
    case 'delete':
      return { type: REST_TYPE, subtype: [interaction('delete')], action: 'D' };
    case 'operation': {
      const subtype = [interaction('operation')];
      if (record.name) subtype.push({ system: CARNET_ACTIVITY_SYSTEM, code: record.name });
      return { type: REST_TYPE, subtype, action: 'E' };
    }
    case 'login':
      return { type: ACTIVITY_TYPES.login.type, subtype: [ACTIVITY_TYPES.login.subtype], action: 'E' };
    case 'logout':
      return { type: ACTIVITY_TYPES.logout.type, subtype: [ACTIVITY_TYPES.logout.subtype], action: 'E' };
    case 'export':
      return { type: ACTIVITY_TYPES.export.type, subtype: record.name ? [{ system: CARNET_ACTIVITY_SYSTEM, code: record.name }] : [], action: 'R' };
    case 'activity': {
      if (!record.name) throw new TypeError("audit: an 'activity' needs a name");
      return { type: ACTIVITY_TYPES.activity.type, subtype: [{ system: CARNET_ACTIVITY_SYSTEM, code: record.name }], action: DOSSIER_ACTIVITIES[record.name] ?? 'E' };
    }
  }
}

function actionCodes(record: AuditRecord): ActionCodes {
  const codes = restCodes(record);
  if (!record.transaction) return codes;
  const tx = IHE_TRANSACTION_CODES[record.transaction];
  const txCoding: Coding = { system: IHE_TRANSACTIONS, code: record.transaction, ...(tx ? { display: tx.display } : {}) };
  // IHE transactions are audited with their DICOM event type and the transaction as subtype
  // (ATNA); over FHIR (MHD) the RESTful interaction stays as a second subtype.
  if (!tx) return { ...codes, subtype: [txCoding, ...codes.subtype] };
  const subtype = record.channel === 'xds' ? [txCoding] : [txCoding, ...codes.subtype.filter((c) => c.system === RESTFUL_INTERACTION)];
  return { type: tx.type, subtype, action: tx.action };
}

const OUTCOME: Record<AuditOutcome, NonNullable<AuditEvent['outcome']>> = { success: '0', refused: '4', error: '8' };

/** A reference an agent's `who` accepts. */
type Who = NonNullable<AuditEventAgent['who']>;

function identifierRef(system: string | undefined, value: string, type?: 'Practitioner' | 'Organization'): Who {
  return { identifier: system ? { system, value } : { value }, ...(type ? { type } : {}) };
}

function kindCoding(kind: string): Coding {
  return { system: CARNET_AGENT_SYSTEM, code: kind };
}

/** The user agent: who asked (BALP agent[user], requestor). */
function userAgent(record: AuditRecord, action: ActionCodes['action'], mode: AccessMode): AuditEventAgent[] {
  const actor = record.actor;
  const reads = action === 'R' || action === 'E';
  const type = reads ? AGENT_TYPES.recipient : AGENT_TYPES.agent;
  const purposeOfUse = [concept(MODE_CODES[mode])];
  const account = record.account ? identifierRef(CARNET_ACCOUNT_SYSTEM, check(record.account, ID, 'account')) : undefined;
  if (!actor) {
    return [{ type: concept(type), who: account ?? { display: 'unidentified' }, requestor: true, role: [concept(kindCoding('unidentified'))] }];
  }
  switch (actor.kind) {
    case 'professional':
    case 'regulator': {
      const rpps = check(actor.rpps, RPPS, 'rpps');
      const staff = actor.kind === 'professional' && actor.role === 'administrative-staff';
      const org = 'organization' in actor ? actor.organization : undefined;
      // Establishment staff have no RPPS: their id is the establishment's own, qualified by it.
      const who: Who = staff
        ? { identifier: { value: rpps, ...(org?.id ? { assigner: { identifier: { system: STRUCT_IDNAT_SYSTEM, value: check(org.id, ID, 'organization id') } } } : {}) }, type: 'Practitioner' }
        : identifierRef(PS_IDNAT_SYSTEM, `8${rpps}`, 'Practitioner');
      const role = [concept(kindCoding(staff ? 'administrative-staff' : actor.kind))];
      if (!staff) role.push(concept({ system: PROFESSION_SYSTEM, code: check(actor.profession, CODE, 'profession') }));
      const specialty = 'specialty' in actor ? actor.specialty : undefined;
      if (specialty) role.push(concept({ system: SPECIALTY_SYSTEM, code: check(specialty, CODE, 'specialty') }));
      const agents: AuditEventAgent[] = [{ type: concept(type), who, requestor: true, role, purposeOfUse }];
      if (org?.id) {
        // BALP agent[userorg]: the structure the user acts for (its id only, no name).
        agents.push({ type: concept(AGENT_TYPES.organization), who: identifierRef(STRUCT_IDNAT_SYSTEM, check(org.id, ID, 'organization id'), 'Organization'), requestor: false });
      }
      return agents;
    }
    case 'patient':
      return [{ type: concept(AGENT_TYPES.patient), who: { reference: `Patient/${check(actor.patientId, ID, 'patient id')}` }, requestor: true, role: [concept(kindCoding('patient'))], purposeOfUse }];
    case 'representative':
      return [{ type: concept(type), who: account ?? { display: 'legal representative' }, requestor: true, role: [concept(kindCoding('representative'))], purposeOfUse }];
    case 'device':
      return [{ type: concept(type), who: { reference: `Device/${check(actor.deviceId, ID, 'device id')}` }, requestor: true, role: [concept(kindCoding('device'))] }];
    case 'care-history-feed':
    case 'operator': {
      const id = 'id' in actor ? actor.id : undefined;
      const who = id ? identifierRef(CARNET_ACCOUNT_SYSTEM, check(id, CODE, 'account id')) : (account ?? { display: actor.kind });
      return [{ type: concept(type), who, requestor: true, role: [concept(kindCoding(actor.kind))] }];
    }
  }
}

function entities(record: AuditRecord): AuditEventEntity[] {
  const out: AuditEventEntity[] = [];
  if (record.patientId) {
    out.push({ what: { reference: `Patient/${check(record.patientId, ID, 'patient id')}` }, type: { ...ENTITY.person }, role: { ...ENTITY.patientRole } });
  }
  const r = record.resource;
  if (r && (r.id || r.identifier)) {
    const type = check(r.type, TYPE, 'resource type');
    const what: Reference = {};
    if (r.id) {
      const version = r.versionId === undefined ? '' : `/_history/${check(String(r.versionId), ID, 'version id')}`;
      what.reference = `${type}/${check(r.id, ID, 'resource id')}${version}`;
    }
    if (r.identifier) {
      what.identifier = { ...(r.identifier.system ? { system: check(r.identifier.system, /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]{1,200}$/, 'identifier system') } : {}), value: check(r.identifier.value, /^[A-Za-z0-9\-.:^&_]{1,128}$/, 'identifier') };
      if (!r.id) what.type = type as Reference['type'];
    }
    out.push({ what, type: { ...ENTITY.systemObject }, role: { ...ENTITY.domainResource } });
  }
  if (record.action === 'search') {
    // BALP's query entity carries the query itself; its values may be health data (a text
    // search, a condition code), so only the type and the parameter names are kept.
    const detail = [];
    if (r?.type) detail.push({ type: 'resourceType', valueString: check(r.type, TYPE, 'resource type') });
    const params = (record.searchParams ?? []).map((p) => check(p, PARAM, 'search parameter'));
    if (params.length) detail.push({ type: 'parameters', valueString: [...new Set(params)].sort().join(',') });
    out.push({ type: { ...ENTITY.systemObject }, role: { ...ENTITY.query }, ...(detail.length ? { detail } : {}) });
  }
  if (record.occurrences) {
    const { count } = record.occurrences;
    if (!Number.isInteger(count) || count < 1) throw new TypeError('audit: occurrences.count must be a positive integer');
    out.push({ type: { ...ENTITY.systemObject }, detail: [{ type: 'occurrences', valueString: String(count) }] });
  }
  if (record.requestId) {
    out.push({ type: { ...ENTITY.requestId }, what: { identifier: { value: check(record.requestId, /^[A-Za-z0-9\-._:]{1,128}$/, 'request id') } } });
  }
  return out;
}

/** A FHIR R4 AuditEvent for one access decision or change. Pure. */
export function auditEvent(record: AuditRecord, options: AuditEventOptions = {}): AuditEvent {
  const codes = actionCodes(record);
  const mode = modeOf(record.mode);
  if (!(mode in MODE_CODES)) throw new TypeError('audit: unknown access mode');
  if (record.transaction) check(record.transaction, CODE, 'transaction');
  if (record.name) check(record.name, CODE, 'name');
  const agents = userAgent(record, codes.action, mode);
  if (record.client && (record.client.address || record.client.id)) {
    const { address, id } = record.client;
    agents.push({
      type: concept(AGENT_TYPES.client),
      who: id ? identifierRef(undefined, check(id, /^[A-Za-z0-9\-._:]{1,128}$/, 'client id')) : { display: 'client' },
      requestor: false,
      ...(address ? { network: { address: check(address, ADDRESS, 'client address'), type: isIP(address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')) ? '2' : '1' } } : {}),
    });
  }
  agents.push({ type: concept(AGENT_TYPES.server), who: { display: 'Carnet' }, requestor: false });
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: check(record.id ?? randomUUID(), ID, 'id'),
    type: { ...codes.type },
    ...(codes.subtype.length ? { subtype: codes.subtype.map((c) => ({ ...c })) } : {}),
    action: codes.action,
    recorded: recordedAt(record.recorded),
    outcome: OUTCOME[record.outcome],
    ...(record.reason ? { outcomeDesc: check(record.reason, CODE, 'reason') } : {}),
    ...(record.occurrences ? { period: { start: recordedAt(record.occurrences.from), end: recordedAt(record.occurrences.to) } } : {}),
    purposeOfEvent: [concept(MODE_CODES[mode])],
    agent: agents,
    source: { site: check(options.site ?? 'carnet', CODE, 'site'), observer: { display: 'Carnet' }, type: [{ ...SOURCE_TYPE }] },
  };
  const entity = entities(record);
  if (entity.length) event.entity = entity;
  return event;
}
