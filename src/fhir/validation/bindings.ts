// Required value set bindings: a code, Coding or CodeableConcept bound `required` to a value set
// we can enumerate must use one of its codes (issue code `code-invalid`). Weaker strengths are
// advice, not rules, and are not checked; open value sets (mime types, languages) neither.
import { containsCoding, expandValueSet } from './value-sets.ts';
import { error, isJsonObject } from './types.ts';
import type { ValidationIssue } from './types.ts';
import type { Occurrence, Visitor } from './walk.ts';

function describeCoding(coding: unknown): string {
  if (!isJsonObject(coding)) return 'an invalid Coding';
  return `${typeof coding.system === 'string' ? coding.system : '(no system)'}#${typeof coding.code === 'string' ? coding.code : '(no code)'}`;
}

function codingInValueSet(coding: unknown, valueSet: string): boolean {
  const expansion = expandValueSet(valueSet);
  if (!expansion) return true;
  return isJsonObject(coding) && typeof coding.system === 'string' && typeof coding.code === 'string'
    && containsCoding(expansion, coding.system, coding.code);
}

/**
 * Checks one occurrence against a required binding to `valueSet` (a canonical URL);
 * `source` names who imposes it (a profile) in the message. No issue when the value set
 * cannot be enumerated or the value has a shape the schema check already rejects.
 */
export function bindingIssues(occurrence: Occurrence, valueSet: string, source?: string): ValidationIssue[] {
  const expansion = expandValueSet(valueSet);
  if (!expansion) return [];
  const { value, expression } = occurrence;
  const rule = `the required value set ${valueSet.split('|')[0]}${source ? ` (${source})` : ''}`;
  switch (occurrence.type.code) {
    case 'code':
    case 'string':
    case 'uri': {
      if (typeof value !== 'string' || expansion.codes.has(value)) return [];
      return [error('code-invalid', expression, `${expression}: '${value}' is not in ${rule}`)];
    }
    case 'Coding': {
      if (!isJsonObject(value) || codingInValueSet(value, valueSet)) return [];
      return [error('code-invalid', expression, `${expression}: ${describeCoding(value)} is not in ${rule}`)];
    }
    case 'CodeableConcept': {
      if (!isJsonObject(value)) return [];
      const codings = Array.isArray(value.coding) ? value.coding : [];
      if (codings.some((coding) => codingInValueSet(coding, valueSet))) return [];
      // A CodeableConcept carried only by extensions (e.g. data-absent-reason) has nothing to check.
      if (codings.length === 0 && value.extension !== undefined) return [];
      const found = codings.length === 0 ? 'it has no coding' : `found ${codings.map(describeCoding).join(', ')}`;
      return [error('code-invalid', expression, `${expression} needs a coding from ${rule}; ${found}`)];
    }
    default:
      return [];
  }
}

export function bindingVisitor(issues: ValidationIssue[]): Visitor {
  return {
    occurrence(occurrence, visit) {
      const binding = visit.def.binding;
      if (binding?.strength !== 'required') return;
      issues.push(...bindingIssues(occurrence, binding.valueSet));
    },
  };
}
