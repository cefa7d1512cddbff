// Shared helpers of the access tests: small builders, and an evaluator of store Conditions over
// one resource's index values (what the store adapters compile to SQL / MongoDB filters).
import type { Condition, IndexValue } from '../../src/store/index.ts';
import { defaultHabilitations } from '../../src/access/index.ts';
import type { DossierFacts, ResourceFacts } from '../../src/access/index.ts';

export const matrix = defaultHabilitations();

export const DOC_RPPS = '10000000001';
export const OTHER_RPPS = '10000000002';
export const PATIENT = 'p1';

export function dossier(overrides: Partial<DossierFacts> = {}): DossierFacts {
  return { patientId: PATIENT, status: 'active', authorized: [], blocked: [], opposedBreakTheGlass: false, opposedEmergencyCall: false, ...overrides };
}

export function resource(overrides: Partial<ResourceFacts> = {}): ResourceFacts {
  return {
    type: 'DocumentReference',
    dossier: PATIENT,
    classCode: '10',
    typeCode: '11490-0',
    authors: [OTHER_RPPS],
    masked: false,
    invisibleToPatient: false,
    invisibleToRepresentatives: false,
    ...overrides,
  };
}

/** Does `condition` keep a resource with these index values? Same semantics as the store adapters. */
export function evaluate(condition: Condition, index: IndexValue[]): boolean {
  const keys = (param: string) => index.filter((v) => v.param === param && v.value !== undefined).map((v) => v.value as string);
  if ('and' in condition) return condition.and.every((c) => evaluate(c, index));
  if ('or' in condition) return condition.or.some((c) => evaluate(c, index));
  if ('not' in condition) return !evaluate(condition.not, index);
  if ('param' in condition && 'in' in condition) return keys(condition.param).some((k) => condition.in.includes(k));
  if ('param' in condition && 'prefix' in condition) return keys(condition.param).some((k) => k.startsWith(condition.prefix));
  if ('param' in condition && 'contains' in condition) return keys(condition.param).some((k) => k.includes(condition.contains));
  if ('param' in condition && 'missing' in condition) return (index.some((v) => v.param === condition.param) ? false : true) === condition.missing;
  throw new Error(`the access tests do not evaluate ${JSON.stringify(condition)}`);
}
