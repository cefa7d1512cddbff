// validateResource: every check over one resource, returning every issue found. The schema
// check runs on the JSON as a whole; the others share one walk over the element tree.
import { bindingVisitor } from './bindings.ts';
import { cardinalityVisitor } from './cardinality.ts';
import { isResourceType } from './element-model.ts';
import { invariantVisitor } from './invariants.ts';
import { findProfile, profileVisitor } from './profiles.ts';
import { referenceVisitor } from './references.ts';
import { checkSchema } from './schema.ts';
import { coreIdOf } from './structure-definitions.ts';
import { error, isJsonObject } from './types.ts';
import type { JsonObject, ValidateOptions, ValidationIssue } from './types.ts';
import { walkResource } from './walk.ts';
import type { Visitor, WalkNode } from './walk.ts';

function declaredProfiles(resource: JsonObject): string[] {
  const meta = resource.meta;
  if (!isJsonObject(meta) || !Array.isArray(meta.profile)) return [];
  return meta.profile.filter((p): p is string => typeof p === 'string');
}

/**
 * Visitors of the profiles each resource is checked against: those requested for the root
 * (`options.profiles`) and those any resource, contained or in a Bundle, declares in
 * meta.profile. Resolved as the walk meets each resource.
 */
function profileDispatcher(root: JsonObject, requested: readonly string[], issues: ValidationIssue[]): Visitor {
  const byResource = new Map<JsonObject, Visitor[]>();

  const visitorsFor = (node: WalkNode): Visitor[] => {
    const resource = node.resource;
    let visitors = byResource.get(resource);
    if (visitors) return visitors;
    visitors = [];
    byResource.set(resource, visitors);
    const type = String(resource.resourceType);
    const explicit = resource === root ? requested : [];
    const urls = new Set([...explicit, ...declaredProfiles(resource)]);
    for (const url of urls) {
      // Claiming the base definition of one's own type is always true.
      if (coreIdOf(url) === type) continue;
      const profile = findProfile(url);
      if (!profile) {
        issues.push(explicit.includes(url)
          ? error('not-supported', node.expression, `Profile ${url} is not known to Carnet: the resource was not checked against it`)
          : { severity: 'information', code: 'not-supported', diagnostics: `Profile ${url} declared in meta.profile is not known to Carnet and was not checked`, expression: [`${node.expression}.meta.profile`] });
        continue;
      }
      if (profile.type !== type) {
        issues.push(error('invalid', node.expression, `Profile ${url} (${profile.label}) applies to ${profile.type}, not to ${type}`));
        continue;
      }
      visitors.push(profileVisitor(profile, resource, issues));
    }
    return visitors;
  };

  return {
    node(node) {
      for (const v of visitorsFor(node)) v.node?.(node);
    },
    element(visit) {
      for (const v of visitorsFor(visit.parent)) v.element?.(visit);
    },
  };
}

/**
 * Decimals may arrive as JSON.rawJSON values (the XML parser keeps `1.50` exactly that way);
 * validation reads them as numbers. The resource is copied only when it holds one.
 */
// JSON.rawJSON is in V8 (Node ≥ 21) but not yet in TypeScript's library.
const { isRawJSON } = JSON as unknown as { isRawJSON(value: unknown): value is { rawJSON: string } };

function hasRawNumber(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (isRawJSON(value)) return true;
  return Array.isArray(value) ? value.some(hasRawNumber) : Object.values(value).some(hasRawNumber);
}

function withPlainNumbers(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isRawJSON(value)) return Number(value.rawJSON);
  if (Array.isArray(value)) return value.map(withPlainNumbers);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlainNumbers(v)]));
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.severity}|${issue.code}|${issue.expression.join(',')}|${issue.diagnostics}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Validates a FHIR R4 resource (parsed JSON) against the R4 schema, the cardinalities, required
 * bindings and invariants of the base StructureDefinitions, and Carnet's profiles (requested
 * in `options.profiles` or declared in meta.profile). Returns every issue found; no issue of
 * severity error means the resource may be stored.
 */
export function validateResource(input: unknown, options: ValidateOptions = {}): ValidationIssue[] {
  const resource = hasRawNumber(input) ? withPlainNumbers(input) : input;
  if (!isJsonObject(resource)) {
    return [error('structure', 'Resource', 'The content is not a FHIR resource: a JSON object with a resourceType is expected')];
  }
  const issues = checkSchema(resource);
  const type = resource.resourceType;
  if (typeof type !== 'string' || !isResourceType(type)) return issues;
  if (options.mode === 'update' && resource.id === undefined) {
    issues.push(error('required', `${type}.id`, `${type}.id is required to update a resource`));
  }
  const visitors: Visitor[] = [
    cardinalityVisitor(issues),
    bindingVisitor(issues),
    invariantVisitor(issues),
    referenceVisitor(issues),
    profileDispatcher(resource, options.profiles ?? [], issues),
  ];
  walkResource(resource, type, visitors);
  return dedupe(issues);
}
