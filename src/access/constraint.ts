// Search constraints: the store Condition, over the access index (access-index.ts), that keeps
// exactly the dossier resources decideAccess() lets the actor read. The FHIR/XDS layers AND it
// into every query (search, includes, _has, history, $everything, ITI-18…) before it reaches
// the store, so paging, totals and includes only ever see allowed resources. Each branch below
// mirrors one rule of decide.ts; test/access/constraint-property.test.ts checks they agree.
//
// Scope decisions:
// - A search names its dossier (the DMP always searches with the patient's INS). Without one,
//   patients and legal representatives search across the dossiers the caller passes in
//   `dossiers` (their own; their minors'), filtered by the same gate; everyone else gets 'deny'.
// - 'deny' means the request is refused as a whole (403, reason from dossierRefusal()).
// - Directory types (isDirectoryType) are not dossier data and carry no access index: searches
//   over them need no constraint, and this Condition never keeps them.
import type { Condition } from '../store/index.ts';
import { ACCESS_PARAMS, authorKey, codeKey, dossierKey, flagKey } from './access-index.ts';
import { dossierRefusal, OWNER_VIEW, readCells } from './decide.ts';
import { actorCategory, professionalId } from './matrix.ts';
import type { AccessMode, Actor, ActorCategory, ActorRules, Cells, DossierFacts, Habilitations } from './types.ts';

export interface ConstraintRequest {
  actor: Actor;
  /** The one dossier searched. */
  dossier?: DossierFacts;
  /** Without `dossier`: the dossiers a patient or representative searches across. */
  dossiers?: readonly DossierFacts[];
  mode: AccessMode;
  matrix: Habilitations;
}

/** Categories that may search without naming a dossier (over their own dossiers only). */
const CROSS_DOSSIER = new Set<ActorCategory>(['patient', 'representative']);

const NOTHING: Condition = { or: [] };

function anyOf(conditions: Condition[]): Condition {
  return conditions.length === 1 ? conditions[0] : { or: conditions };
}

function allOf(conditions: Condition[]): Condition {
  return conditions.length === 1 ? conditions[0] : { and: conditions };
}

/** Mirrors cellAllows: whole classes in one `in`, type-limited classes as class AND type. */
function cellsCondition(cells: Cells): Condition {
  const whole = Object.keys(cells).filter((c) => cells[c] === 'all');
  const parts: Condition[] = whole.length ? [{ param: ACCESS_PARAMS.class, in: whole.map(codeKey) }] : [];
  for (const [c, cell] of Object.entries(cells)) {
    if (typeof cell === 'object') parts.push({ and: [{ param: ACCESS_PARAMS.class, in: [codeKey(c)] }, { param: ACCESS_PARAMS.type, in: cell.types.map(codeKey) }] });
  }
  return parts.length ? anyOf(parts) : NOTHING;
}

/** Mirrors rowRead: authored, or (in the row and (not masked, or treating doctor, or a mode that shows masked)). */
function rowCondition(actor: Actor, rules: ActorRules, cells: Cells, dossier: DossierFacts, mode: AccessMode): Condition {
  const id = professionalId(actor);
  const seesMasked = (id !== undefined && dossier.treatingDoctor === id) || (rules.seesMaskedIn?.includes(mode) ?? false);
  const inRow = cellsCondition(cells);
  const visible = seesMasked ? inRow : allOf([inRow, { not: { param: ACCESS_PARAMS.flag, in: [flagKey('masked')] } }]);
  return id === undefined ? visible : anyOf([{ param: ACCESS_PARAMS.author, in: [authorKey(id)] }, visible]);
}

const OWNER_FLAG = { invisibleToPatient: flagKey('invisible-patient'), invisibleToRepresentatives: flagKey('invisible-representatives') } as const;

/** The resources of one dossier the actor may read, or undefined when the gate refuses the dossier. */
function dossierCondition(request: ConstraintRequest, dossier: DossierFacts): Condition | undefined {
  const { actor, mode, matrix } = request;
  if (dossierRefusal({ actor, dossier, mode, matrix, action: 'read' })) return undefined;
  const category = actorCategory(actor) as ActorCategory; // 'never' was refused by the gate
  const rules = matrix.actors[category];
  const inDossier: Condition = { param: ACCESS_PARAMS.dossier, in: [dossierKey(dossier.patientId)] };
  if (rules.read === 'dossier') {
    const view = OWNER_VIEW[category];
    return view ? allOf([inDossier, { not: { param: ACCESS_PARAMS.flag, in: [OWNER_FLAG[view.hiddenBy]] } }]) : undefined;
  }
  const cells = readCells(actor, rules, matrix);
  return cells ? allOf([inDossier, rowCondition(actor, rules, cells, dossier, mode)]) : undefined;
}

/**
 * The Condition to AND into a search of dossier data, or 'deny' when the search is refused as a
 * whole (answer 403; dossierRefusal() tells why when a dossier was named).
 */
export function searchConstraint(request: ConstraintRequest): Condition | 'deny' {
  if (request.dossier) return dossierCondition(request, request.dossier) ?? 'deny';
  const category = actorCategory(request.actor);
  if (category === 'never' || !CROSS_DOSSIER.has(category)) return 'deny';
  const parts = (request.dossiers ?? []).map((d) => dossierCondition(request, d)).filter((c): c is Condition => c !== undefined);
  return parts.length ? anyOf(parts) : 'deny';
}
