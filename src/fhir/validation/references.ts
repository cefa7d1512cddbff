// Reference targets: a Reference whose definition (base or profile) lists the resource types it
// may point to must not name another type. The type is read from the literal reference
// (`Patient/1`, an absolute URL, `#id` of a contained resource) or from Reference.type; a
// reference whose type cannot be known (`urn:uuid:` inside a transaction, identifier only) passes.
import { error, isJsonObject } from './types.ts';
import type { JsonObject, ValidationIssue } from './types.ts';
import type { Visitor } from './walk.ts';

const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The resource type a Reference points to, when it can be told without resolving it. */
export function referencedType(reference: JsonObject, rootResource: JsonObject): string | undefined {
  const literal = reference.reference;
  if (typeof literal === 'string') {
    if (literal.startsWith('#')) {
      const contained = Array.isArray(rootResource.contained) ? rootResource.contained : [];
      const target = contained.find((c) => isJsonObject(c) && c.id === literal.slice(1));
      if (isJsonObject(target) && typeof target.resourceType === 'string') return target.resourceType;
    } else {
      const match = LITERAL.exec(literal);
      if (match) return match[1];
    }
  }
  return typeof reference.type === 'string' ? reference.type : undefined;
}

function article(type: string): string {
  return /^[AEIOU]/.test(type) ? `an ${type}` : `a ${type}`;
}

export function referenceTargetIssues(
  value: unknown,
  targets: readonly string[],
  expression: string,
  rootResource: JsonObject,
  source?: string,
  severity: 'error' | 'warning' = 'error',
): ValidationIssue[] {
  if (targets.length === 0 || !isJsonObject(value)) return [];
  const type = referencedType(value, rootResource);
  if (type === undefined || targets.includes(type)) return [];
  const by = source ? ` (${source})` : '';
  const allowed = targets.length === 1 ? article(targets[0]) : `one of ${targets.join(', ')}`;
  return [{ ...error('value', expression, `${expression} must reference ${allowed}${by}, not ${article(type)}`), severity }];
}

/**
 * Reference targets of the base definitions (Observation.subject → Patient, Group…), as
 * warnings: the published R4 examples themselves break them (medicationrequest0301 points
 * dispenseRequest.performer at a Practitioner), and so do deployed clients. A profile that
 * needs a target (the DMP DocumentReference's subject → Patient) makes it an error.
 */
export function referenceVisitor(issues: ValidationIssue[]): Visitor {
  return {
    occurrence(occurrence, visit) {
      if (occurrence.type.code !== 'Reference') return;
      issues.push(...referenceTargetIssues(occurrence.value, occurrence.type.targets, occurrence.expression, visit.parent.rootResource, undefined, 'warning'));
    },
  };
}
