// Carnet's profiles: StructureDefinitions (derivation constraint) in profiles/, read as data.
// From each differential element Carnet applies what its profiles use: min/max, required
// bindings, Reference target types and error-severity FHIRPath constraints. (Slicing, patterns
// and fixed values are not interpreted; the French rules that PDSm expresses with slices are
// written as invariants instead.) Published profiles Carnet enforces through its own are
// mapped in profiles/fr-dmp-profile-aliases.json.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES_DIR } from '../definitions.ts';
import { bindingIssues } from './bindings.ts';
import { cardinalityIssues } from './cardinality.ts';
import type { Constraint } from './element-model.ts';
import { invariantIssues } from './invariants.ts';
import { referenceTargetIssues } from './references.ts';
import { coreIdOf } from './structure-definitions.ts';
import type { JsonObject, ValidationIssue } from './types.ts';
import type { Visitor } from './walk.ts';

interface DifferentialElement {
  path: string;
  min?: number;
  max?: string;
  type?: { code: string; targetProfile?: string[] }[];
  binding?: { strength: string; valueSet?: string };
  constraint?: { key: string; severity: string; human: string; expression?: string }[];
}

interface ProfileDefinition {
  resourceType: 'StructureDefinition';
  url: string;
  name: string;
  title?: string;
  type: string;
  kind: string;
  derivation?: string;
  differential?: { element: DifferentialElement[] };
}

interface ElementRule {
  path: string;
  min?: number;
  max?: number;
  requiredValueSet?: string;
  targets?: string[];
  constraints: Constraint[];
}

export interface Profile {
  url: string;
  /** What messages call it: the profile's title or name. */
  label: string;
  type: string;
  /** Rules of the root element (its constraints). */
  root: ElementRule | undefined;
  /** Rules of child elements, by parent path then element name. */
  children: Map<string, Map<string, ElementRule>>;
}

function compileProfile(sd: ProfileDefinition): Profile {
  const profile: Profile = { url: sd.url, label: sd.title ?? sd.name, type: sd.type, root: undefined, children: new Map() };
  for (const el of sd.differential?.element ?? []) {
    const targets = el.type?.flatMap((t) => t.targetProfile ?? []).map(coreIdOf).filter((t): t is string => !!t);
    const rule: ElementRule = {
      path: el.path,
      ...(el.min !== undefined ? { min: el.min } : {}),
      ...(el.max !== undefined ? { max: el.max === '*' ? Infinity : Number(el.max) } : {}),
      ...(el.binding?.strength === 'required' && el.binding.valueSet ? { requiredValueSet: el.binding.valueSet } : {}),
      ...(targets?.length ? { targets } : {}),
      constraints: (el.constraint ?? [])
        .filter((c) => c.severity === 'error' && c.expression)
        .map((c) => ({ key: c.key, human: c.human, expression: c.expression as string })),
    };
    // Paths are matched against the walker's (`Observation.value`, not `Observation.value[x]`).
    const path = el.path.replace(/\[x\]/g, '');
    const dot = path.lastIndexOf('.');
    if (dot < 0) {
      profile.root = rule;
      continue;
    }
    const parent = path.slice(0, dot);
    let rules = profile.children.get(parent);
    if (!rules) profile.children.set(parent, (rules = new Map()));
    rules.set(path.slice(dot + 1), rule);
  }
  return profile;
}

let byUrl: Map<string, Profile> | undefined;

function load(): Map<string, Profile> {
  const map = new Map<string, Profile>();
  if (!existsSync(PROFILES_DIR)) return map;
  for (const file of readdirSync(PROFILES_DIR)) {
    if (!file.startsWith('StructureDefinition-') || !file.endsWith('.json')) continue;
    const sd = JSON.parse(readFileSync(join(PROFILES_DIR, file), 'utf8')) as ProfileDefinition;
    if (sd.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.derivation !== 'constraint') continue;
    map.set(sd.url, compileProfile(sd));
  }
  const aliasFile = join(PROFILES_DIR, 'fr-dmp-profile-aliases.json');
  if (existsSync(aliasFile)) {
    const { aliases } = JSON.parse(readFileSync(aliasFile, 'utf8')) as { aliases: Record<string, string> };
    for (const [alias, url] of Object.entries(aliases)) {
      const profile = map.get(url);
      if (profile) map.set(alias, profile);
    }
  }
  return map;
}

/** The profile a canonical URL (optionally `|version`) names, if Carnet knows it. */
export function findProfile(canonical: string): Profile | undefined {
  byUrl ??= load();
  return byUrl.get(canonical.split('|')[0]);
}

/** Every canonical URL Carnet validates against (its own and the aliases it accepts). */
export function knownProfileUrls(): string[] {
  byUrl ??= load();
  return [...byUrl.keys()];
}

/** Checks `resource` (and only it, not the resources it contains) against `profile`. */
export function profileVisitor(profile: Profile, resource: JsonObject, issues: ValidationIssue[]): Visitor {
  return {
    node(node) {
      if (node.value !== resource || !profile.root) return;
      for (const constraint of profile.root.constraints) {
        issues.push(...invariantIssues(constraint, undefined, node.value, node.expression, node, profile.label));
      }
    },
    element(visit) {
      if (visit.parent.resource !== resource) return;
      const rule = profile.children.get(visit.parent.path)?.get(visit.def.name);
      if (!rule) return;
      if (rule.min !== undefined || rule.max !== undefined) {
        const limits = { min: rule.min ?? visit.def.min, max: rule.max ?? visit.def.max };
        issues.push(...cardinalityIssues(visit, limits, profile.label));
      }
      for (const occurrence of visit.occurrences) {
        if (rule.requiredValueSet) issues.push(...bindingIssues(occurrence, rule.requiredValueSet, profile.label));
        if (rule.targets) {
          issues.push(...referenceTargetIssues(occurrence.value, rule.targets, occurrence.expression, visit.parent.rootResource, profile.label));
        }
        for (const constraint of rule.constraints) {
          issues.push(...invariantIssues(constraint, rule.path, occurrence.value, occurrence.expression, visit.parent, profile.label));
        }
      }
    },
  };
}
