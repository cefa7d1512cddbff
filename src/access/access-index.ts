// The access index: search-index values the FHIR/XDS layers add to every resource at write time
// (next to the SearchParameter values), so that searchConstraint() can be compiled by the store
// like any other condition and hidden resources never leave the database: no post-filtering,
// so paging, totals and includes cannot reveal them.
import { indexKey, type IndexValue } from '../store/index.ts';
import type { ResourceFacts } from './types.ts';

/** Parameter names of the access index. The leading underscore keeps them apart from FHIR's. */
export const ACCESS_PARAMS = {
  dossier: '_dossier',
  class: '_class',
  type: '_typecode',
  author: '_author',
  flag: '_flag',
} as const;

export type AccessFlag = 'masked' | 'invisible-patient' | 'invisible-representatives';

const FLAG_OF: Record<AccessFlag, keyof ResourceFacts> = {
  masked: 'masked',
  'invisible-patient': 'invisibleToPatient',
  'invisible-representatives': 'invisibleToRepresentatives',
};

export function dossierKey(patientId: string): string {
  return indexKey('ref', `Patient/${patientId}`);
}

export function codeKey(code: string): string {
  return indexKey('code', code);
}

/** Authors are keyed as given in ResourceFacts: an RPPS number, 'Patient/<id>' or 'Device/<id>'. */
export function authorKey(author: string): string {
  return indexKey('ref', author);
}

export function flagKey(flag: AccessFlag): string {
  return indexKey('code', flag);
}

export function accessIndex(facts: ResourceFacts): IndexValue[] {
  const values: IndexValue[] = [];
  if (facts.dossier !== undefined) values.push({ param: ACCESS_PARAMS.dossier, value: dossierKey(facts.dossier) });
  if (facts.classCode !== undefined) values.push({ param: ACCESS_PARAMS.class, value: codeKey(facts.classCode) });
  if (facts.typeCode !== undefined) values.push({ param: ACCESS_PARAMS.type, value: codeKey(facts.typeCode) });
  for (const author of facts.authors) values.push({ param: ACCESS_PARAMS.author, value: authorKey(author) });
  for (const flag of Object.keys(FLAG_OF) as AccessFlag[]) {
    if (facts[FLAG_OF[flag]] === true) values.push({ param: ACCESS_PARAMS.flag, value: flagKey(flag) });
  }
  return values;
}
