// The search index of a resource, extracted at write time: each SearchParameter's FHIRPath
// expression is evaluated and its values turned into the store's keys and ranges.
import { createHash } from 'node:crypto';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { indexKey, sortKey, type IndexValue, type ResourceBody } from '../../store/index.ts';
import { baseParts, COMPONENT_SEPARATOR, compositeComponents, compositeParam, type CompositeComponent } from './composite.ts';
import { canonicalSystem, dateRange, normalizeText } from './normalize.ts';
import type { SearchParamDef, SearchRegistry } from './registry.ts';
import { isWordParam, wordIndex } from './words.ts';

type Evaluator = (resource: unknown) => unknown[];
const compiled = new Map<string, Evaluator>();

function evaluator(expression: string): Evaluator {
  let fn = compiled.get(expression);
  if (!fn) {
    const compiledFn = fhirpath.compile(expression, r4);
    fn = (resource) => compiledFn(resource as never) as unknown[];
    compiled.set(expression, fn);
  }
  return fn;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const CONTACT_SYSTEMS = new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']);

/** Keys of one coded value: any-system code, system|code or no-system code, the system alone. */
function codeKeys(system: string | undefined, code: string | undefined, out: string[]): void {
  const sys = system && canonicalSystem(system);
  if (code) {
    out.push(indexKey('code', code));
    out.push(sys ? indexKey('system-code', `${sys}|${code}`) : indexKey('no-system', code));
  }
  if (sys) out.push(indexKey('system', sys));
}

function textKey(text: unknown, out: string[]): void {
  if (str(text)) out.push(indexKey('text', normalizeText(text as string)));
}

export function tokenKeys(value: unknown): string[] {
  const out: string[] = [];
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    codeKeys(undefined, String(value), out);
  } else if (isObj(value)) {
    if (Array.isArray(value.coding) || 'text' in value) {
      for (const c of (value.coding as Obj[] | undefined) ?? []) {
        codeKeys(str(c.system), str(c.code), out);
        textKey(c.display, out);
      }
      textKey(value.text, out);
    } else if ('code' in value) {
      codeKeys(str(value.system), str(value.code), out);
      textKey(value.display, out);
    } else if ('value' in value) {
      const system = str(value.system);
      if (system && CONTACT_SYSTEMS.has(system)) {
        codeKeys(undefined, str(value.value), out);
      } else {
        codeKeys(system, str(value.value), out);
        const type = value.type as Obj | undefined;
        for (const c of (type?.coding as Obj[] | undefined) ?? []) {
          if (str(c.code) && str(value.value)) out.push(indexKey('of-type', `${canonicalSystem(str(c.system) ?? '')}|${c.code}|${value.value}`));
        }
        textKey(type?.text, out);
      }
    }
  }
  return out;
}

function stringParts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (!isObj(value)) return [];
  // HumanName and Address: every part is searchable on its own.
  const parts: string[] = [];
  for (const field of ['text', 'family', 'given', 'prefix', 'suffix', 'line', 'city', 'district', 'state', 'postalCode', 'country']) {
    const v = value[field];
    for (const p of Array.isArray(v) ? v : [v]) if (str(p)) parts.push(p);
  }
  return parts;
}

export function stringKeys(value: unknown): string[] {
  return stringParts(value).flatMap((p) => [indexKey('text', normalizeText(p)), indexKey('exact', p)]);
}

const RELATIVE_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

export function referenceKeys(value: unknown): string[] {
  const out: string[] = [];
  const ref = typeof value === 'string' ? value : isObj(value) ? str(value.reference) : undefined;
  if (ref && !ref.startsWith('#')) {
    const m = RELATIVE_REF.exec(ref);
    if (m) {
      out.push(indexKey('ref', `${m[1]}/${m[2]}`), indexKey('ref-id', m[2]));
    } else {
      out.push(indexKey('ref', ref.replace(/\/_history\/[^/]+$/, '')));
    }
  }
  if (isObj(value) && isObj(value.identifier)) {
    const id = value.identifier;
    const v = str(id.value);
    if (v) {
      out.push(indexKey('ref-identifier', v));
      if (str(id.system)) out.push(indexKey('ref-identifier', `${canonicalSystem(id.system as string)}|${v}`));
    }
  }
  return out;
}

export function dateRanges(value: unknown): { low: number; high: number }[] {
  if (typeof value === 'string') {
    const r = dateRange(value);
    return r ? [r] : [];
  }
  if (!isObj(value)) return [];
  if ('start' in value || 'end' in value) {
    // A Period: an open end stretches to the end of time.
    const start = str(value.start) ? dateRange(value.start as string) : undefined;
    const end = str(value.end) ? dateRange(value.end as string) : undefined;
    if (!start && !end) return [];
    return [{ low: start?.low ?? -8.64e15, high: end?.high ?? 8.64e15 }];
  }
  if (Array.isArray(value.event)) return value.event.flatMap((e) => dateRanges(e));
  return [];
}

/** A unit's own parameter name: quantities are compared only within one unit. */
export function unitParam(param: string, system: string | undefined, code: string): string {
  const unit = system ? `${canonicalSystem(system)}|${code}` : `|${code}`;
  return `${param}-u${createHash('sha1').update(unit).digest('hex').slice(0, 10)}`;
}

export function quantityValues(param: string, value: unknown): IndexValue[] {
  if (typeof value === 'number') return [{ param, low: value, high: value }];
  if (!isObj(value) || typeof value.value !== 'number') return [];
  const n = value.value;
  const out: IndexValue[] = [{ param, low: n, high: n }];
  const code = str(value.code) ?? str(value.unit);
  if (code) {
    out.push({ param: unitParam(param, undefined, code), low: n, high: n });
    if (str(value.system)) out.push({ param: unitParam(param, value.system as string, code), low: n, high: n });
  }
  return out;
}

export interface ExtractedIndex {
  index: IndexValue[];
  sortKeys: Record<string, string>;
}

function valuesOf(def: SearchParamDef, resource: ResourceBody): unknown[] {
  if (!def.expression) return [];
  try {
    return evaluator(def.expression)(resource);
  } catch {
    // An expression fhirpath.js cannot run on this resource indexes nothing rather than failing the write.
    return [];
  }
}

/** Extracts every search parameter's values of a resource. */
export function extractIndex(resource: ResourceBody, registry: SearchRegistry): ExtractedIndex {
  return extractParams(resource, registry.forType(resource.resourceType), registry);
}

const relativeEvaluators = new Map<string, Evaluator>();

/** A component expression evaluated on an element found at `path` (typed, so choice types resolve). */
function relativeEvaluator(path: string, expression: string): Evaluator {
  const key = `${path}\u0000${expression}`;
  let fn = relativeEvaluators.get(key);
  if (!fn) {
    const compiledFn = fhirpath.compile({ base: path, expression } as never, r4);
    fn = (element) => compiledFn(element as never) as unknown[];
    relativeEvaluators.set(key, fn);
  }
  return fn;
}

/** Exact keys of a key-type component value (no display-text or of-type keys: they do not combine). */
export function componentKeys(type: CompositeComponent['type'], value: unknown): string[] {
  switch (type) {
    case 'token':
      return tokenKeys(value).filter((k) => /^[csny]:/.test(k));
    case 'reference':
      return referenceKeys(value).filter((k) => /^[ri]:/.test(k));
    case 'string':
      return stringKeys(value).filter((k) => k.startsWith('t:'));
    case 'uri':
      return typeof value === 'string' ? [indexKey('uri', value)] : [];
    default:
      return [];
  }
}

/** The correlated keys of a composite parameter (see composite.ts). */
function compositeValues(def: SearchParamDef, resource: ResourceBody, registry: SearchRegistry): IndexValue[] {
  const components = compositeComponents(def, registry);
  if (!components) return [];
  const out: IndexValue[] = [];
  const last = components[components.length - 1];
  for (const part of baseParts(def.expression, resource.resourceType)) {
    let elements: unknown[];
    try {
      elements = evaluator(part.expression)(resource);
    } catch {
      continue;
    }
    for (const element of elements) {
      const valuesOf = (c: CompositeComponent): unknown[] => {
        try {
          return relativeEvaluator(part.path, c.expression)(element);
        } catch {
          return [];
        }
      };
      // Every combination of the leading components' keys, within this one element.
      let prefixes = [''];
      for (const c of components.slice(0, -1)) {
        const keys = [...new Set(valuesOf(c).flatMap((v) => componentKeys(c.type, v)))];
        prefixes = prefixes.flatMap((p) => keys.map((k) => (p ? `${p}${COMPONENT_SEPARATOR}${k}` : k)));
      }
      if (prefixes.length === 0) continue;
      const lastValues = valuesOf(last);
      for (const prefix of prefixes) {
        if (last.type === 'quantity' || last.type === 'number') {
          for (const v of lastValues) out.push(...quantityValues(compositeParam(def.code, prefix), v));
        } else if (last.type === 'date') {
          for (const v of lastValues) for (const r of dateRanges(v)) out.push({ param: compositeParam(def.code, prefix), low: r.low, high: r.high });
        } else {
          for (const key of new Set(lastValues.flatMap((v) => componentKeys(last.type, v)))) out.push({ param: def.code, value: `${prefix}${COMPONENT_SEPARATOR}${key}` });
        }
      }
    }
  }
  return out;
}

/** Extracts the values of the given parameters only (the registry resolves composite components). */
export function extractParams(resource: ResourceBody, defs: SearchParamDef[], registry?: SearchRegistry): ExtractedIndex {
  const index: IndexValue[] = [];
  const sortKeys: Record<string, string> = {};
  let words: IndexValue[] | undefined;
  for (const def of defs) {
    if (isWordParam(def.code)) {
      words ??= wordIndex(resource);
      index.push(...words.filter((w) => w.param === def.code));
      continue;
    }
    if (def.type === 'composite') {
      if (registry) index.push(...compositeValues(def, resource, registry));
      continue;
    }
    if (def.code === '_id' || def.code === '_lastUpdated' || def.type === 'special') continue;
    const values = valuesOf(def, resource);
    let sort: string | number | undefined;
    for (const v of values) {
      switch (def.type) {
        case 'token':
        case 'string':
        case 'reference':
        case 'uri': {
          const keys =
            def.type === 'token' ? tokenKeys(v) : def.type === 'string' ? stringKeys(v) : def.type === 'reference' ? referenceKeys(v) : typeof v === 'string' ? [indexKey('uri', v)] : [];
          for (const key of keys) index.push({ param: def.code, value: key });
          const first = keys[0];
          if (first !== undefined && (sort === undefined || (typeof sort === 'string' && first.slice(2) < sort))) sort = first.slice(2);
          break;
        }
        case 'date':
          for (const r of dateRanges(v)) {
            index.push({ param: def.code, low: r.low, high: r.high });
            if (sort === undefined || (typeof sort === 'number' && r.low < sort)) sort = r.low;
          }
          break;
        case 'number':
        case 'quantity':
          for (const q of quantityValues(def.code, v)) {
            index.push(q);
            if (q.param === def.code && q.low !== undefined && (sort === undefined || (typeof sort === 'number' && q.low < sort))) sort = q.low;
          }
          break;
      }
    }
    if (sort !== undefined) sortKeys[def.code] = sortKey(sort);
  }
  return { index, sortKeys };
}
