// Value sets that can be enumerated, expanded once and cached: those of the R4 definitions
// (valuesets.json, v3-codesystems.json) and Carnet's own in profiles/ (fr-dmp-valueset-*.json).
// A value set is enumerable when its compose lists concepts, includes whole code systems we
// hold completely, or includes other enumerable value sets; filters, external code systems
// (mime types, languages, currencies…) make it open, and bindings to it are then not checked.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES_DIR, readR4Definition } from '../definitions.ts';
import { canonicalSystem } from '../code-systems.ts';

interface Concept {
  code: string;
  concept?: Concept[];
}

interface ComposeSet {
  system?: string;
  concept?: { code: string }[];
  filter?: unknown[];
  valueSet?: string[];
}

interface RawValueSet {
  resourceType: 'ValueSet';
  url: string;
  compose?: { include?: ComposeSet[]; exclude?: ComposeSet[] };
}

interface RawCodeSystem {
  resourceType: 'CodeSystem';
  url: string;
  content?: string;
  concept?: Concept[];
}

export interface Expansion {
  url: string;
  /** `canonicalSystem|code` of every member. */
  pairs: Set<string>;
  /** Codes alone, for `code`-typed elements (which carry no system). */
  codes: Set<string>;
}

/** Carnet's value sets: profiles/fr-dmp-valueset-*.json. */
export const OUR_VALUE_SET_PREFIX = 'fr-dmp-valueset-';

let valueSets: Map<string, RawValueSet> | undefined;
let codeSystems: Map<string, string[] | null> | undefined;
const expansions = new Map<string, Expansion | null>();

function flatten(concepts: Concept[] | undefined, into: string[]): string[] {
  for (const c of concepts ?? []) {
    into.push(c.code);
    flatten(c.concept, into);
  }
  return into;
}

function load(): void {
  valueSets = new Map();
  codeSystems = new Map();
  const resources: (RawValueSet | RawCodeSystem)[] = [];
  for (const file of ['valuesets.json', 'v3-codesystems.json']) {
    const bundle = readR4Definition<{ entry: { resource: RawValueSet | RawCodeSystem }[] }>(file);
    resources.push(...bundle.entry.map((e) => e.resource));
  }
  if (existsSync(PROFILES_DIR)) {
    for (const file of readdirSync(PROFILES_DIR)) {
      if (!file.startsWith(OUR_VALUE_SET_PREFIX) || !file.endsWith('.json')) continue;
      resources.push(JSON.parse(readFileSync(join(PROFILES_DIR, file), 'utf8')) as RawValueSet);
    }
  }
  for (const resource of resources) {
    if (resource.resourceType === 'ValueSet') {
      valueSets.set(resource.url, { resourceType: 'ValueSet', url: resource.url, compose: resource.compose });
    } else if (resource.resourceType === 'CodeSystem') {
      // Only complete code systems can stand for "every code of the system".
      const codes = resource.content === 'complete' ? flatten(resource.concept, []) : null;
      codeSystems.set(canonicalSystem(resource.url), codes);
    }
  }
}

function members(set: ComposeSet, seen: Set<string>): string[] | undefined {
  if (set.filter?.length) return undefined;
  const result: string[] = [];
  if (set.system) {
    const system = canonicalSystem(set.system);
    const codes = set.concept ? set.concept.map((c) => c.code) : codeSystems?.get(system);
    if (!codes) return undefined;
    for (const code of codes) result.push(`${system}|${code}`);
  }
  for (const url of set.valueSet ?? []) {
    const inner = expand(url, seen);
    if (!inner) return undefined;
    // A system together with value sets means their intersection.
    const innerPairs = [...inner.pairs];
    if (set.system) return result.filter((pair) => inner.pairs.has(pair));
    result.push(...innerPairs);
  }
  return result;
}

function expand(canonical: string, seen = new Set<string>()): Expansion | undefined {
  const url = canonical.split('|')[0];
  const cached = expansions.get(url);
  if (cached !== undefined) return cached ?? undefined;
  if (!valueSets) load();
  const vs = valueSets?.get(url);
  let expansion: Expansion | undefined;
  if (vs?.compose?.include && !seen.has(url)) {
    seen.add(url);
    const included = vs.compose.include.map((set) => members(set, seen));
    const excluded = (vs.compose.exclude ?? []).map((set) => members(set, seen));
    if (included.every((m) => m) && excluded.every((m) => m)) {
      const pairs = new Set(included.flat() as string[]);
      for (const pair of excluded.flat() as string[]) pairs.delete(pair);
      const codes = new Set([...pairs].map((pair) => pair.slice(pair.indexOf('|') + 1)));
      expansion = { url, pairs, codes };
    }
  }
  expansions.set(url, expansion ?? null);
  return expansion;
}

/** Reads the value sets and code systems now rather than at the first binding check. */
export function loadValueSets(): void {
  if (!valueSets) load();
}

/** The members of a value set, or undefined when it cannot be enumerated (or is unknown). */
export function expandValueSet(canonical: string): Expansion | undefined {
  return expand(canonical);
}

/** Whether system|code is in the expansion, comparing systems through their aliases. */
export function containsCoding(expansion: Expansion, system: string, code: string): boolean {
  return expansion.pairs.has(`${canonicalSystem(system)}|${code}`);
}
