// Affinity domains: the local rules a registry enforces on top of XDS.b (patient id assigning
// authorities, value sets for the coded attributes, allowed statuses). They are data, in
// profiles/xds-affinity-domains.json and the value set files it names; this module loads them
// once at start-up (the caller keeps the result) and answers membership questions.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Code } from './model.ts';

export type CodedAttribute =
  | 'classCode'
  | 'typeCode'
  | 'confidentialityCode'
  | 'formatCode'
  | 'healthcareFacilityTypeCode'
  | 'practiceSettingCode'
  | 'authorSpecialty'
  | 'referenceIdType'
  | 'contentTypeCode'
  | 'eventCode'
  | 'folderCode';

export interface ValueSet {
  readonly name: string;
  /** The schemes each code is defined in (a code may appear under several schemes). */
  readonly codes: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface AffinityDomain {
  readonly id: string;
  /** Accepted patient id assigning authority OIDs; empty means any (the identity feed still decides). */
  readonly patientIdAuthorities: readonly string[];
  /** Required CX.5 of patient ids, if the domain fixes one (NH for the INS). */
  readonly patientIdTypeCode?: string;
  /** 'ins': the id must be a French NIR/NIA with a valid key. */
  readonly patientIdFormat: 'ins' | 'any';
  readonly valueSets: Readonly<Partial<Record<CodedAttribute, ValueSet>>>;
  readonly availabilityStatuses: readonly string[];
}

export type AffinityDomainId = 'fr-dmp' | 'ihe';

export const DEFAULT_PROFILES_DIR = resolve(import.meta.dirname, '..', '..', '..', 'profiles');

interface DomainFile {
  domains: Record<string, {
    patientId: { assigningAuthorities: { oid: string }[]; identifierTypeCode?: string; format: 'ins' | 'any' };
    valueSets: Record<string, { file: string; codingSchemeOfSystem?: Record<string, string> }>;
    availabilityStatuses: string[];
  }>;
}

interface ConceptListFile {
  valueSet: { name: string };
  concepts: { code: string; codingScheme: string }[];
}

interface FhirValueSetFile {
  resourceType: 'ValueSet';
  name: string;
  compose: { include: { system: string; concept?: { code: string }[] }[] };
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Reads either our concept list form or a FHIR ValueSet with enumerated concepts. */
export function loadValueSet(path: string, codingSchemeOfSystem: Record<string, string> = {}): ValueSet {
  const data = readJson<ConceptListFile | FhirValueSetFile>(path);
  const codes = new Map<string, Set<string>>();
  const add = (code: string, scheme: string) => {
    const schemes = codes.get(code) ?? new Set<string>();
    schemes.add(scheme);
    codes.set(code, schemes);
  };
  if ('resourceType' in data && data.resourceType === 'ValueSet') {
    for (const include of data.compose.include) {
      const scheme = codingSchemeOfSystem[include.system] ?? include.system.replace(/^urn:oid:/, '');
      for (const c of include.concept ?? []) add(c.code, scheme);
    }
    return { name: data.name, codes };
  }
  const list = data as ConceptListFile;
  for (const c of list.concepts) add(c.code, c.codingScheme);
  return { name: list.valueSet.name, codes };
}

/**
 * Loads an affinity domain. `patientIdAuthorities`, when given, replaces the domain's list: the
 * `ihe` domain takes it from configuration, and `fr-dmp` can be narrowed to the production INS
 * OIDs (or to the test ones) per environment.
 */
export function loadAffinityDomain(
  id: AffinityDomainId,
  options: { patientIdAuthorities?: readonly string[]; profilesDir?: string } = {},
): AffinityDomain {
  const dir = options.profilesDir ?? DEFAULT_PROFILES_DIR;
  const file = readJson<DomainFile>(join(dir, 'xds-affinity-domains.json'));
  const domain = file.domains[id];
  if (!domain) throw new Error(`unknown affinity domain ${id}`);
  const valueSets: Partial<Record<CodedAttribute, ValueSet>> = {};
  for (const [attribute, ref] of Object.entries(domain.valueSets)) {
    valueSets[attribute as CodedAttribute] = loadValueSet(join(dir, ref.file), ref.codingSchemeOfSystem);
  }
  return {
    id,
    patientIdAuthorities: options.patientIdAuthorities ?? domain.patientId.assigningAuthorities.map((a) => a.oid),
    ...(domain.patientId.identifierTypeCode ? { patientIdTypeCode: domain.patientId.identifierTypeCode } : {}),
    patientIdFormat: domain.patientId.format,
    valueSets,
    availabilityStatuses: domain.availabilityStatuses,
  };
}

export type CodeVerdict = 'member' | 'wrong-scheme' | 'unknown-code';

export function checkCode(valueSet: ValueSet, code: Pick<Code, 'code' | 'codingScheme'>): CodeVerdict {
  const schemes = valueSet.codes.get(code.code);
  if (!schemes) return 'unknown-code';
  return schemes.has(code.codingScheme) ? 'member' : 'wrong-scheme';
}

/**
 * A French INS (NIR or NIA): 13 characters (sex digit, birth year and month, department —
 * 2A/2B for Corsica —, commune, order number) and a 2-digit key = 97 − (number mod 97), where
 * Corsica's 2A/2B count as 19/18.
 */
export function isValidIns(value: string): boolean {
  const match = /^([1-478])(\d{4})(\d{2}|2A|2B)(\d{6})(\d{2})$/.exec(value);
  if (!match) return false;
  const department = match[3] === '2A' ? '19' : match[3] === '2B' ? '18' : match[3];
  const number = BigInt(`${match[1]}${match[2]}${department}${match[4]}`);
  return 97n - (number % 97n) === BigInt(match[5]);
}
