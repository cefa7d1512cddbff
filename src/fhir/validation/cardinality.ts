// Cardinalities from the StructureDefinitions: each element's min and max, at every level
// (resource, backbone elements, datatypes). The JSON schema has no minimums, and its "must be
// an array/object" errors do not say how many values a non-repeating element received.
import type { ElementDef } from './element-model.ts';
import { error } from './types.ts';
import type { ValidationIssue } from './types.ts';
import type { ElementVisit, Visitor } from './walk.ts';

export interface CardinalityRule {
  min: number;
  max: number;
}

function plural(n: number): string {
  return n === 1 ? '1 value' : `${n} values`;
}

/** Issues of one element's occurrence count against a rule (the base definition or a profile's). */
export function cardinalityIssues(visit: ElementVisit, rule: CardinalityRule, source?: string): ValidationIssue[] {
  const count = visit.occurrences.length;
  const by = source ? ` by ${source}` : '';
  if (count < rule.min) {
    const what = rule.min === 1 ? 'is required' : `needs at least ${plural(rule.min)}`;
    return [error('required', visit.expression, `${visit.expression} ${what}${by}, found ${count === 0 ? 'none' : count}`)];
  }
  if (count > rule.max) {
    const what = rule.max === 0 ? 'is not allowed' : `allows at most ${plural(rule.max)}`;
    return [error('structure', visit.expression, `${visit.expression} ${what}${by}, found ${count}`)];
  }
  return [];
}

function baseRule(def: ElementDef): CardinalityRule {
  return { min: def.min, max: def.max };
}

export function cardinalityVisitor(issues: ValidationIssue[]): Visitor {
  return {
    element(visit) {
      const found = cardinalityIssues(visit, baseRule(visit.def));
      issues.push(...found);
      if (found.length === 0 && visit.arrayForSingle) {
        issues.push(error('structure', visit.expression, `${visit.expression} does not repeat: give it as a single value, not an array`));
      }
    },
  };
}
