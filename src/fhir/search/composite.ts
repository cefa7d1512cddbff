// Composite search parameters (https://hl7.org/fhir/R4/search.html#composite), e.g. Observation
// `code-value-quantity=http://loinc.org|8480-6$gt100`. Their components must match within ONE
// element of the resource (one Observation.component, one DocumentReference.relatesTo), so the
// index keeps them correlated:
// - components with exact keys (token, reference, uri, string) are joined into one key
//   `<key 1>$<key 2>` of the composite parameter;
// - a last component with a range (quantity, date, number) is indexed under a parameter of its
//   own per value of the components before it, `<code>-c<hash of the joined keys>` (as unitParam
//   makes one parameter per unit), so `gt100` compares only values recorded with that code.
import { createHash } from 'node:crypto';
import type { SearchParamDef, SearchParamType, SearchRegistry } from './registry.ts';

/** Joins the keys of the components of one composite value. */
export const COMPONENT_SEPARATOR = '$';

export type ComponentKind = 'key' | 'range';

export interface CompositeComponent {
  type: SearchParamType;
  /** FHIRPath relative to the composite's base element. */
  expression: string;
}

/** Component types with exact keys, and those compared as ranges (only as the last component). */
const KEY_TYPES = new Set<SearchParamType>(['token', 'reference', 'uri', 'string']);
const RANGE_TYPES = new Set<SearchParamType>(['quantity', 'date', 'number']);

/**
 * R4's DocumentReference `relationship` names its components' definitions the wrong way round
 * (relatesto for `code`, relation for `target`); the expressions are right, so their types are
 * taken from the expressions: `relation$relatesto`, a token then a reference.
 */
const TYPE_FIXES: Record<string, SearchParamType[]> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': ['token', 'reference'],
};

/** The components of a composite parameter with their types; undefined when one is not indexable. */
export function compositeComponents(def: SearchParamDef, registry: SearchRegistry): CompositeComponent[] | undefined {
  if (def.type !== 'composite' || def.components.length < 2) return undefined;
  const fixed = TYPE_FIXES[def.url];
  const components = def.components.map((c, i) => ({ type: fixed?.[i] ?? registry.byUrl(c.definition)?.type, expression: c.expression }));
  const last = components.length - 1;
  const usable = components.every((c, i) => c.type !== undefined && (KEY_TYPES.has(c.type) || (i === last && RANGE_TYPES.has(c.type))));
  return usable ? (components as CompositeComponent[]) : undefined;
}

export function isRangeType(type: SearchParamType): boolean {
  return RANGE_TYPES.has(type);
}

/** The parameter holding the ranges of a composite's last component for one value of the others. */
export function compositeParam(code: string, joinedKeys: string): string {
  return `${code}-c${createHash('sha1').update(joinedKeys).digest('hex').slice(0, 10)}`;
}

/**
 * The parts of a composite's (type-narrowed) base expression, each with the element path that
 * component expressions are evaluated against (`Observation`, `Observation.component`).
 */
export function baseParts(expression: string | undefined, type: string): { expression: string; path: string }[] {
  if (!expression) return [];
  return expression
    .split('|')
    .map((p) => p.trim())
    .filter((p) => /^[A-Za-z][A-Za-z0-9.]*$/.test(p))
    .map((p) => ({ expression: p, path: p === type ? type : `${type}.${p}` }));
}

/** Splits a composite search value on unescaped `$`, keeping other escapes for each component. */
export function splitComponents(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      const next = value[++i];
      current += next === '$' ? '$' : c + next;
    } else if (c === '$') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}
