// The FHIRPath invariants (error severity) of the base StructureDefinitions: those of the
// resource itself (dom-*, obs-6…), of each element (pat-1, org-3…) and of each datatype an
// element holds (per-1, ext-1…), evaluated where they apply, once per key and node. The few
// checked in plain code instead are listed, with the reason, in invariant-exceptions.ts.
import type { Constraint } from './element-model.ts';
import { typeModel } from './element-model.ts';
import { evaluateInvariant } from './fhirpath-eval.ts';
import { INVARIANT_NEEDS_PROPERTY, NATIVE_INVARIANTS, SKIPPED_INVARIANTS } from './invariant-exceptions.ts';
import { emptyElementIssues, LocalReferences, localReferenceIssues, narrativeIssues } from './native-invariants.ts';
import { error, isJsonObject } from './types.ts';
import type { ValidationIssue } from './types.ts';
import type { Visitor, WalkNode } from './walk.ts';

/** The issue of a failed invariant, or none. `source` names a profile imposing it. */
export function invariantIssues(
  constraint: Constraint,
  base: string | undefined,
  value: unknown,
  expression: string,
  node: Pick<WalkNode, 'resource' | 'rootResource'>,
  source?: string,
): ValidationIssue[] {
  const { key } = constraint;
  if (key in NATIVE_INVARIANTS || key in SKIPPED_INVARIANTS) return [];
  const needs = INVARIANT_NEEDS_PROPERTY[key];
  if (needs && !(isJsonObject(value) && value[needs] !== undefined)) return [];
  if (evaluateInvariant(constraint.expression, base, value, node) !== false) return [];
  const by = source ? ` (${source})` : '';
  return [error('invariant', expression, `${key}${by}: ${constraint.human}`)];
}

const URI_TYPES = new Set(['canonical', 'uri', 'url']);

export function invariantVisitor(issues: ValidationIssue[]): Visitor {
  const localReferences = new LocalReferences();
  return {
    node(node) {
      if (node.model.kind !== 'resource') return;
      for (const constraint of node.model.constraints) {
        issues.push(...invariantIssues(constraint, undefined, node.value, node.expression, node));
      }
    },
    resourceDone(node) {
      if (node.resource === node.rootResource) issues.push(...localReferences.unreferencedContained(node.value, node.expression));
    },
    occurrence(occurrence, visit) {
      const { value, type, expression } = occurrence;
      const { resource, rootResource } = visit.parent;
      issues.push(...emptyElementIssues(occurrence));
      if (type.code === 'xhtml') issues.push(...narrativeIssues(value, expression));
      if (type.code === 'Reference') {
        issues.push(...localReferenceIssues(value, expression, resource, rootResource));
        if (isJsonObject(value) && typeof value.reference === 'string' && value.reference.startsWith('#')) {
          localReferences.add(resource, value.reference);
        }
      }
      if (URI_TYPES.has(type.code) && typeof value === 'string' && value.startsWith('#')) localReferences.add(resource, value);
      if (value === undefined || type.code === 'Resource') return;
      const seen = new Set<string>();
      for (const constraint of visit.def.constraints) {
        seen.add(constraint.key);
        issues.push(...invariantIssues(constraint, visit.def.path, value, expression, visit.parent));
      }
      if (visit.def.inline) return;
      const model = typeModel(type.modelId);
      if (!model || model.kind !== 'complex-type') return;
      for (const constraint of model.constraints) {
        if (seen.has(constraint.key)) continue;
        issues.push(...invariantIssues(constraint, model.fhirPathType, value, expression, visit.parent));
      }
    },
  };
}
