// Reading the habilitation matrix: which category an actor falls in, which row applies to a
// professional, what a cell allows. The rows are data: nothing here names a profession.
import type { Actor, ActorCategory, Cell, Cells, CreateRule, Habilitations, ProfessionalActor, ProfessionRow, ResourceFacts } from './types.ts';

/**
 * The category whose rules apply. Activity comes first (occupational physicians and insurers'
 * medical advisers see nothing whatever their profession), then the administrative role
 * (whose `profession` is not a G15 code), as the identity layer asks.
 */
export function actorCategory(actor: Actor): ActorCategory | 'never' {
  if (actor.kind !== 'professional') return actor.kind;
  if (actor.activity) return 'never';
  return actor.role === 'administrative-staff' ? 'administrative-staff' : 'professional';
}

/** The professional identifier the patient's controls and authorship refer to. */
export function professionalId(actor: Actor): string | undefined {
  return actor.kind === 'professional' || actor.kind === 'regulator' ? actor.rpps : undefined;
}

function qualifierMatches(wanted: string[] | undefined, value: string | undefined): number | undefined {
  if (!wanted) return 0;
  return value !== undefined && wanted.includes(value) ? 1 : undefined;
}

/** How specifically a row matches the professional (undefined: not at all). */
function specificity(row: ProfessionRow, actor: ProfessionalActor): number | undefined {
  if (!row.professions.includes(actor.profession)) return undefined;
  const specialty = qualifierMatches(row.specialties, actor.specialty);
  const section = qualifierMatches(row.pharmacistSections, actor.pharmacistSection);
  return specialty === undefined || section === undefined ? undefined : specialty + section;
}

/**
 * The read cells of a professional's row: the most specific matching row (a pharmacist of
 * section G gets the biologist row, other pharmacists the pharmacist row), else the row for
 * other health professions. The loader refuses matrices where two rows tie.
 */
export function professionCells(actor: ProfessionalActor, matrix: Habilitations): Cells {
  let best: { row: ProfessionRow; score: number } | undefined;
  for (const row of matrix.professions) {
    const score = specificity(row, actor);
    if (score !== undefined && (!best || score > best.score)) best = { row, score };
  }
  return best ? best.row.read : matrix.otherProfessions.read;
}

/** Does this cell open a resource of this class and type? A resource without a class is in no cell. */
export function cellAllows(cells: Cells, classCode: string | undefined, typeCode: string | undefined): boolean {
  if (classCode === undefined || !Object.hasOwn(cells, classCode)) return false;
  const cell: Cell = cells[classCode];
  if (typeof cell === 'object') return typeCode !== undefined && cell.types.includes(typeCode);
  return cell === 'all';
}

function within(list: string[] | undefined, value: string | undefined): boolean {
  return list === undefined || (value !== undefined && list.includes(value));
}

function outside(list: string[] | undefined, value: string | undefined): boolean {
  return list === undefined || value === undefined || !list.includes(value);
}

/**
 * A resource matches a create rule when it satisfies every field the rule gives. `ownIds`: the
 * author ids the creating actor answers to (decide.ts authorIds).
 */
export function createRuleMatches(rule: CreateRule, resource: ResourceFacts, ownIds: readonly string[] = []): boolean {
  return (
    within(rule.classes, resource.classCode) &&
    outside(rule.exceptClasses, resource.classCode) &&
    within(rule.resourceTypes, resource.type) &&
    outside(rule.exceptResourceTypes, resource.type) &&
    (rule.authoredBy !== 'self' || resource.authors.every((author) => ownIds.includes(author)))
  );
}
