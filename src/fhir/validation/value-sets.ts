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
/** Per canonical system with nested concepts: each code's parents (for token :below / :above). */
let hierarchies: Map<string, Map<string, string[]>> | undefined;
const expansions = new Map<string, Expansion | null>();

function flatten(concepts: Concept[] | undefined, into: string[]): string[] {
  for (const c of concepts ?? []) {
    into.push(c.code);
    flatten(c.concept, into);
  }
  return into;
}

/** Each code's parents, from a code system's nested concepts (undefined when it is flat). */
function parentsOf(concepts: Concept[] | undefined): Map<string, string[]> | undefined {
  if (!concepts?.some((c) => c.concept?.length)) return undefined;
  const parents = new Map<string, string[]>();
  const walk = (list: Concept[] | undefined, parent: string | undefined) => {
    for (const c of list ?? []) {
      const known = parents.get(c.code) ?? [];
      if (parent !== undefined && !known.includes(parent)) known.push(parent);
      parents.set(c.code, known);
      walk(c.concept, c.code);
    }
  };
  walk(concepts, undefined);
  return parents;
}

function load(): void {
  valueSets = new Map();
  codeSystems = new Map();
  hierarchies = new Map();
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
      const parents = parentsOf(resource.concept);
      if (parents) hierarchies.set(canonicalSystem(resource.url), parents);
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

/**
 * The code and the codes under it (`below`) or above it (`above`) in its code system's
 * hierarchy, for token :below / :above; undefined when no hierarchy of that system is known here
 * (the R4 code systems with nested concepts: v3-ActCode, v3-ActReason, v3-RoleCode…). A code the
 * hierarchy does not hold stands for itself alone.
 */
export function subsumption(system: string, code: string, direction: 'below' | 'above'): string[] | undefined {
  if (!valueSets) load();
  const parents = hierarchies?.get(canonicalSystem(system));
  if (!parents) return undefined;
  const found = new Set([code]);
  if (direction === 'above') {
    walkFrom(code, (c) => parents.get(c), found);
  } else {
    // Children from the parent lists, once per system.
    let children = childrenCache.get(parents);
    if (!children) {
      children = new Map();
      for (const [child, ps] of parents) for (const p of ps) children.set(p, [...(children.get(p) ?? []), child]);
      childrenCache.set(parents, children);
    }
    walkFrom(code, (c) => (children as Map<string, string[]>).get(c), found);
  }
  return [...found];
}

/** Adds to `found` every code reachable from `start` by `next`. */
function walkFrom(start: string, next: (code: string) => string[] | undefined, found: Set<string>): void {
  const queue = [start];
  while (queue.length) {
    for (const code of next(queue.pop() as string) ?? []) {
      if (found.has(code)) continue;
      found.add(code);
      queue.push(code);
    }
  }
}

const childrenCache = new WeakMap<Map<string, string[]>, Map<string, string[]>>();
