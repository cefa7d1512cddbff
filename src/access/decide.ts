// The one decision function: may this actor do this to this resource of this dossier, in this
// mode? Every read and write path of the FHIR and XDS layers asks it (searches ask
// constraint.ts, which must keep exactly what this allows: a property test holds them together).
//
// A decision runs in two stages:
// 1. the dossier gate (dossierRefusal): may the actor enter this dossier at all, in this mode?
//    Refusals here are 'forbidden' (403): they say nothing about any one resource.
// 2. the content rules for the action: matrix, mask, visibility flags for reads; create rules;
//    authorship for update and delete. Read refusals here are 'absent' (404), so a hidden
//    resource is indistinguishable from a missing one.
import { actorCategory, cellAllows, createRuleMatches, professionalId, professionCells } from './matrix.ts';
import { allow, refuse } from './reasons.ts';
import type { AccessMode, Action, Actor, ActorCategory, ActorRules, Cells, Decision, DossierFacts, Habilitations, Refusal, RefusalReason, ResourceFacts } from './types.ts';

export interface DossierRequest {
  actor: Actor;
  dossier: DossierFacts;
  mode: AccessMode;
  matrix: Habilitations;
  /** Default 'read'. Reading actors' rights matter for read, update and delete, not create. */
  action?: Action;
}

export interface AccessRequest {
  actor: Actor;
  /** The facts of the resource's dossier; not needed for directory resources. */
  dossier?: DossierFacts;
  /** For update and delete: the stored version (the new content must also pass 'create'). */
  resource: ResourceFacts;
  action: Action;
  mode: AccessMode;
  matrix: Habilitations;
}

type Relation = (actor: Actor, dossier: DossierFacts, mode: AccessMode) => Refusal | undefined;

/** Professionals need the patient's authorisation in normal mode; the treating doctor has it. */
const authorisedInNormalMode: Relation = (actor, dossier, mode) => {
  if (mode !== 'normal') return undefined;
  const id = professionalId(actor);
  return id !== undefined && (dossier.authorized.includes(id) || dossier.treatingDoctor === id) ? undefined : refuse('not-authorised');
};

/** How each category must relate to the dossier (who the patient is, who they chose). */
const RELATION: Record<ActorCategory, Relation> = {
  professional: authorisedInNormalMode,
  'administrative-staff': authorisedInNormalMode,
  regulator: authorisedInNormalMode,
  patient: (actor, dossier) => (actor.kind === 'patient' && actor.patientId === dossier.patientId ? undefined : refuse('not-own-dossier')),
  representative: (actor, dossier) => {
    if (actor.kind !== 'representative' || !actor.patientIds.includes(dossier.patientId)) return refuse('not-representative');
    return dossier.minor === true ? undefined : refuse('not-minor');
  },
  device: (actor, dossier) => (actor.kind === 'device' && actor.patientId === dossier.patientId ? undefined : refuse('not-own-dossier')),
  // The insurer's feed writes into every open dossier; the operator's rules let it do nothing.
  'care-history-feed': () => undefined,
  operator: () => undefined,
};

/** Emergency modes the patient may have opposed. */
const OPPOSITION: Partial<Record<AccessMode, { flag: 'opposedBreakTheGlass' | 'opposedEmergencyCall'; reason: RefusalReason }>> = {
  'break-the-glass': { flag: 'opposedBreakTheGlass', reason: 'opposed-break-the-glass' },
  'emergency-call': { flag: 'opposedEmergencyCall', reason: 'opposed-emergency-call' },
};

/**
 * Why the actor may not enter this dossier in this mode, or undefined when they may. The order
 * only chooses which reason is reported: every check refuses on its own.
 */
export function dossierRefusal(request: DossierRequest): Refusal | undefined {
  const { actor, dossier, mode, matrix } = request;
  const category = actorCategory(actor);
  if (category === 'never') return refuse('never');
  if (dossier.status !== 'active') return refuse('dossier-closed');
  const id = professionalId(actor);
  if (id !== undefined && dossier.blocked.includes(id)) return refuse('blocked');
  const rules = matrix.actors[category];
  if (!rules.modes.includes(mode)) return refuse('mode-not-allowed');
  const opposition = OPPOSITION[mode];
  if (opposition && dossier[opposition.flag]) return refuse(opposition.reason);
  const relation = RELATION[category](actor, dossier, mode);
  if (relation) return relation;
  if ((request.action ?? 'read') !== 'create' && rules.read === 'none') return refuse('no-read-rights');
  return undefined;
}

interface Context {
  actor: Actor;
  rules: ActorRules;
  category: ActorCategory;
  dossier: DossierFacts;
  resource: ResourceFacts;
  mode: AccessMode;
  matrix: Habilitations;
}

/** Patient and representative see the whole dossier except what its author hid from them. */
export const OWNER_VIEW: Partial<Record<ActorCategory, { hiddenBy: 'invisibleToPatient' | 'invisibleToRepresentatives'; refusal: RefusalReason; reason: 'own-dossier' | 'representative' }>> = {
  patient: { hiddenBy: 'invisibleToPatient', refusal: 'invisible-to-patient', reason: 'own-dossier' },
  representative: { hiddenBy: 'invisibleToRepresentatives', refusal: 'invisible-to-representatives', reason: 'representative' },
};

function ownerRead(ctx: Context): Decision {
  const view = OWNER_VIEW[ctx.category];
  if (!view) return refuse('no-read-rights');
  return ctx.resource[view.hiddenBy] ? refuse(view.refusal) : allow(view.reason);
}

/**
 * Professionals (and regulators, administrative staff) read through a matrix row: their own
 * resources always; otherwise what the row opens, unless masked, where the treating doctor and
 * the modes the rules name (break-the-glass) still see it.
 */
function rowRead(ctx: Context, cells: Cells): Decision {
  const { resource, dossier } = ctx;
  const id = professionalId(ctx.actor);
  if (id !== undefined && resource.authors.includes(id)) return allow('author');
  if (!cellAllows(cells, resource.classCode, resource.typeCode)) return refuse('outside-matrix');
  if (!resource.masked) return allow('matrix');
  if (id !== undefined && dossier.treatingDoctor === id) return allow('treating-doctor');
  if (ctx.rules.seesMaskedIn?.includes(ctx.mode)) return allow('masked-visible-in-mode');
  return refuse('masked');
}

/** The matrix row the rules point to, for actors that read through one. */
export function readCells(actor: Actor, rules: ActorRules, matrix: Habilitations): Cells | undefined {
  if (rules.read === 'profession-row') return actor.kind === 'professional' ? professionCells(actor, matrix) : undefined;
  return typeof rules.read === 'object' ? rules.read : undefined;
}

function decideRead(ctx: Context): Decision {
  if (ctx.rules.read === 'dossier') return ownerRead(ctx);
  const cells = readCells(ctx.actor, ctx.rules, ctx.matrix);
  return cells ? rowRead(ctx, cells) : refuse('no-read-rights');
}

function decideCreate(ctx: Context): Decision {
  const ownIds = authorIds(ctx.actor, ctx.dossier);
  return ctx.rules.create.some((rule) => createRuleMatches(rule, ctx.resource, ownIds)) ? allow('may-create') : refuse('create-not-permitted');
}

/** The author ids an actor answers to: a representative acts for the minor. */
export function authorIds(actor: Actor, dossier: DossierFacts | undefined): string[] {
  switch (actor.kind) {
    case 'professional':
    case 'regulator':
      return [actor.rpps];
    case 'patient':
      return [`Patient/${actor.patientId}`];
    case 'representative':
      return dossier ? [`Patient/${dossier.patientId}`] : [];
    case 'device':
      return [`Device/${actor.deviceId}`];
    default:
      return [];
  }
}

/**
 * Only the author replaces or deletes (the patient: their own uploads); the patient manages
 * their Consents whoever recorded them. One must first be able to read what one changes, so a
 * hidden resource stays 'absent' rather than 'forbidden'.
 */
function decideChange(ctx: Context): Decision {
  const read = decideRead(ctx);
  if (!read.allowed) return read;
  if (authorIds(ctx.actor, ctx.dossier).some((id) => ctx.resource.authors.includes(id))) return allow('author');
  if (ctx.rules.manage?.includes(ctx.resource.type)) return allow('dossier-manager');
  return refuse('not-author');
}

const ACTIONS: Record<Action, (ctx: Context) => Decision> = {
  read: decideRead,
  create: decideCreate,
  update: decideChange,
  delete: decideChange,
};

/** Directory and conformance resources hold no health data: everyone reads, operators write. */
function decideDirectory(actor: Actor, action: Action): Decision {
  if (action === 'read' || actor.kind === 'operator') return allow('directory');
  return refuse('directory-read-only');
}

export function isDirectoryType(type: string, matrix: Habilitations): boolean {
  return matrix.directoryTypes.includes(type);
}

export function decideAccess(request: AccessRequest): Decision {
  const { actor, dossier, resource, action, mode, matrix } = request;
  if (isDirectoryType(resource.type, matrix)) return decideDirectory(actor, action);
  // Health data outside any known dossier: nobody reads it (404) and nobody adds it (403).
  if (resource.dossier === undefined || dossier === undefined) return refuse(action === 'create' ? 'create-not-permitted' : 'no-dossier');
  const refusal = dossierRefusal({ actor, dossier, mode, matrix, action });
  if (refusal) return refusal;
  if (resource.dossier !== dossier.patientId) return refuse('other-dossier');
  const category = actorCategory(actor) as ActorCategory; // 'never' was refused by the gate
  return ACTIONS[action]({ actor, rules: matrix.actors[category], category, dossier, resource, mode, matrix });
}

/**
 * May this professional declare themselves authorised, attesting that the patient agreed (a
 * member of the care team)? Yes unless the patient blocked them or the dossier is closed.
 * The FHIR layer then records it as an 'authorise' Consent performed by the professional.
 */
export function decideSelfAuthorisation(actor: Actor, dossier: DossierFacts): Decision {
  const category = actorCategory(actor);
  if (category === 'never') return refuse('never');
  if (category !== 'professional' || actor.kind !== 'professional') return refuse('not-self-authorisable');
  if (dossier.status !== 'active') return refuse('dossier-closed');
  if (dossier.blocked.includes(actor.rpps)) return refuse('blocked');
  return allow('self-authorisation');
}

export type VisibilityLabel = 'masked' | 'invisible-patient' | 'invisible-representatives';

/**
 * Who may set or lift each visibility label. Masking is the patient's control (and the author's,
 * as the DMP's mask transaction is open to professionals); the two invisibility flags are the
 * author's, lifted for instance after the announcement consultation.
 */
const LABEL_CHANGERS: Record<VisibilityLabel, { owner: boolean; author: boolean }> = {
  masked: { owner: true, author: true },
  'invisible-patient': { owner: false, author: true },
  'invisible-representatives': { owner: false, author: true },
};

export interface LabelRequest {
  actor: Actor;
  dossier: DossierFacts;
  resource: ResourceFacts;
  label: VisibilityLabel;
  mode: AccessMode;
  matrix: Habilitations;
}

/** May the actor set or lift this label on this resource? Only on a resource they can read. */
export function decideLabelChange(request: LabelRequest): Decision {
  const { actor, dossier, resource, label } = request;
  if (resource.dossier === undefined) return refuse('no-dossier');
  const read = decideAccess({ ...request, action: 'read' });
  if (!read.allowed) return read;
  const who = LABEL_CHANGERS[label];
  if (who.owner && OWNER_VIEW[actorCategory(actor) as ActorCategory]) return allow('label-owner');
  if (who.author && authorIds(actor, dossier).some((id) => resource.authors.includes(id))) return allow('label-author');
  return refuse('label-not-permitted');
}
