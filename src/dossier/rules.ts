// The dossier lifecycle's decisions, pure: who may open a dossier by which channel, for whom
// (minors), who may close and reactivate it, who works at the support desk, when a closed
// dossier is due for purging. The I/O around them is in lifecycle.ts, content.ts and purge.ts.
import { actorCategory, type Actor } from '../access/index.ts';
import type { IssueType } from './fhir-port.ts';
import type { ActorSummary, Channel, DossierRecord } from './types.ts';

/** A refusal, with the HTTP status and FHIR issue type it answers. */
export interface Refusal {
  status: 400 | 403 | 404 | 409 | 410 | 422;
  code: IssueType;
  message: string;
}

function refuse(status: Refusal['status'], code: IssueType, message: string): Refusal {
  return { status, code, message };
}

/** Who may open a dossier by a channel. */
type Opener = 'anyone' | 'pharmacist' | 'health-professional' | 'operator' | 'establishment';

export interface ChannelRule {
  opener: Opener;
  /** Whether a minor's dossier may be opened this way (with legal representatives). */
  minors: boolean;
  /** handed-over: an initial password is generated and returned once; set-online: the patient chooses it. */
  credentials: 'handed-over' | 'set-online';
  /** The patient proves who they are with an activation code the insurer sent them. */
  activationCode: boolean;
}

/**
 * The channels, as data. Online creation needs no identity but an activation code (the insurer
 * sends one to each insured person, as for Mon espace santé); every other channel is a person
 * facing the patient, who hands the initial password over on paper. Minors: only a health
 * professional (pharmacists are health professionals), an establishment or the insurer's desk.
 */
export const CHANNEL_RULES: Readonly<Record<Channel, ChannelRule>> = {
  online: { opener: 'anyone', minors: false, credentials: 'set-online', activationCode: true },
  pharmacy: { opener: 'pharmacist', minors: true, credentials: 'handed-over', activationCode: false },
  professional: { opener: 'health-professional', minors: true, credentials: 'handed-over', activationCode: false },
  'insurer-desk': { opener: 'operator', minors: true, credentials: 'handed-over', activationCode: false },
  establishment: { opener: 'establishment', minors: true, credentials: 'handed-over', activationCode: false },
};

const PHARMACIST = '21';

function opens(opener: Opener, actor: Actor | undefined): boolean {
  if (opener === 'anyone') return true;
  if (!actor) return false;
  const category = actorCategory(actor);
  switch (opener) {
    case 'operator':
      return actor.kind === 'operator';
    case 'pharmacist':
      return category === 'professional' && actor.kind === 'professional' && actor.profession === PHARMACIST;
    case 'health-professional':
      return category === 'professional';
    case 'establishment':
      return category === 'administrative-staff' || (category === 'professional' && actor.kind === 'professional' && actor.organization?.id !== undefined);
  }
}

/** The channel an identified actor opens by when they do not say. */
function defaultChannel(actor: Actor): Channel | undefined {
  const category = actorCategory(actor);
  if (actor.kind === 'operator') return 'insurer-desk';
  if (category === 'administrative-staff') return 'establishment';
  if (category === 'professional' && actor.kind === 'professional') return actor.profession === PHARMACIST ? 'pharmacy' : 'professional';
  return undefined;
}

/**
 * The channel of a creation request: the one declared, if the actor may use it; else the one
 * the actor's kind implies. `open`: access control is off (no identities): any declared
 * channel is taken as said, 'professional' by default.
 */
export function creationChannel(actor: Actor | undefined, declared: string | undefined, open: boolean): Channel | Refusal {
  if (declared !== undefined && !Object.hasOwn(CHANNEL_RULES, declared)) {
    return refuse(400, 'value', `channel must be one of ${Object.keys(CHANNEL_RULES).join(', ')}`);
  }
  if (actor && actorCategory(actor) === 'never') return refuse(403, 'forbidden', 'this professional activity gives no access to dossiers');
  if (open && !actor) return (declared as Channel | undefined) ?? 'professional';
  if (declared !== undefined) {
    const channel = declared as Channel;
    return opens(CHANNEL_RULES[channel].opener, actor) ? channel : refuse(403, 'forbidden', `a dossier cannot be opened by channel ${channel} with this identity`);
  }
  if (!actor) return 'online';
  return defaultChannel(actor) ?? refuse(403, 'forbidden', 'this identity cannot open a dossier');
}

/** Checks the people and proofs a creation brings for its channel and the patient's age. */
export function creationProblems(input: { channel: Channel; minor: boolean; representatives: number; hasActivationCode: boolean; hasPassword: boolean }): Refusal | undefined {
  const rule = CHANNEL_RULES[input.channel];
  if (input.minor && !rule.minors) return refuse(403, 'business-rule', `a minor's dossier cannot be opened by channel ${input.channel}: a health professional or the insurer's desk opens it`);
  if (input.minor && input.representatives === 0) return refuse(422, 'required', "a minor's dossier needs at least one legal representative");
  if (!input.minor && input.representatives > 0) return refuse(422, 'business-rule', 'legal representatives are attached to minors only');
  if (rule.activationCode && !input.hasActivationCode) return refuse(422, 'required', 'opening a dossier online needs the activation code the insurer sent');
  if (rule.credentials === 'set-online' && !input.hasPassword && !input.minor) return refuse(422, 'required', 'opening a dossier online needs the password the patient chooses');
  if (rule.credentials === 'handed-over' && input.hasPassword) return refuse(400, 'business-rule', 'the initial password is generated when someone else opens the dossier: do not send one');
  return undefined;
}

/** Whether someone born on `birthDate` (YYYY[-MM[-DD]]) is under `ageOfMajority` at `now`. */
export function isMinor(birthDate: string | undefined, now: number, ageOfMajority: number): boolean | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate ?? '');
  if (!match) return undefined;
  // A partial date counts from its latest possible day: nobody is made an adult too early.
  const year = Number(match[1]);
  const month = match[2] ? Number(match[2]) : 12;
  const day = match[3] ? Number(match[3]) : new Date(Date.UTC(year, month, 0)).getUTCDate();
  const majority = Date.UTC(year + ageOfMajority, month - 1, day);
  return now < majority;
}

/** Who may close or reactivate: the patient, a minor's representative, the desk, a health professional. */
export function mayChangeStatus(actor: Actor | undefined, record: DossierRecord, minor: boolean, open: boolean): Refusal | undefined {
  if (!actor) return open ? undefined : refuse(403, 'forbidden', 'an identity is needed');
  const category = actorCategory(actor);
  if (actor.kind === 'patient') return actor.patientId === record.patientId ? undefined : refuse(403, 'forbidden', "another patient's dossier");
  if (actor.kind === 'representative') {
    if (!actor.patientIds.includes(record.patientId)) return refuse(403, 'forbidden', 'not a legal representative of this patient');
    return minor ? undefined : refuse(403, 'forbidden', 'legal representatives act for minors only');
  }
  if (actor.kind === 'operator' || category === 'professional') return undefined;
  return refuse(403, 'forbidden', "this identity cannot change a dossier's status");
}

/** Whether a closed dossier may still be reactivated at `now`. */
export function reactivationRefusal(record: DossierRecord, now: number): Refusal | undefined {
  if (record.status === 'active') return refuse(409, 'conflict', 'the dossier is already active');
  if (record.status === 'purging' || (record.purgeAt !== undefined && now >= record.purgeAt)) {
    return refuse(410, 'deleted', 'the dossier was closed longer ago than it is kept: it cannot be reactivated');
  }
  return undefined;
}

/** Is a closed dossier due for purging? */
export function purgeDue(record: DossierRecord, now: number): boolean {
  return record.status === 'purging' || (record.status === 'closed' && record.purgeAt !== undefined && record.purgeAt <= now);
}

/** The support desk's operations (credentials, statistics): operators only. */
export function deskRefusal(actor: Actor | undefined, open: boolean): Refusal | undefined {
  if (!actor) return open ? undefined : refuse(403, 'forbidden', 'an identity is needed');
  return actor.kind === 'operator' ? undefined : refuse(403, 'forbidden', "this is the insurer's support desk's operation");
}

/** The patient, or a minor's representative, acting on the dossier's content: who asserts it. */
export function contentActor(actor: Actor | undefined, patientId: string, minor: boolean | undefined, open: boolean): 'patient' | 'representative' | Refusal {
  if (!actor) return open ? 'patient' : refuse(403, 'forbidden', 'an identity is needed');
  if (actor.kind === 'patient' && actor.patientId === patientId) return 'patient';
  if (actor.kind === 'representative' && actor.patientIds.includes(patientId) && minor === true) return 'representative';
  return refuse(403, 'forbidden', 'only the patient (or a minor\'s legal representative) adds this to the dossier');
}

/** The actor as recorded: kind and national id, never a name. */
export function actorSummary(actor: Actor | undefined): ActorSummary {
  if (!actor) return { kind: 'anonymous' };
  switch (actor.kind) {
    case 'professional':
      return { kind: actor.kind, id: actor.rpps, profession: actor.profession, ...(actor.organization?.id ? { organization: actor.organization.id } : {}) };
    case 'regulator':
      return { kind: actor.kind, id: actor.rpps, profession: actor.profession };
    default:
      return { kind: actor.kind };
  }
}

/** The FHIR Reference to whoever acted, for Consent.performer. */
export function actorReference(actor: Actor | undefined, patientId: string): Record<string, unknown> {
  if (!actor || actor.kind === 'patient' || actor.kind === 'representative') return { reference: `Patient/${patientId}` };
  if (actor.kind === 'professional' || actor.kind === 'regulator') return { identifier: { system: 'https://rpps.esante.gouv.fr', value: actor.rpps } };
  return { display: actor.kind === 'operator' ? "Insurer's desk" : actor.kind };
}
