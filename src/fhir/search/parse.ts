// Parses a FHIR search request (the query string of GET /fhir/Type?…, or a POST _search form)
// into a small tree: parameter criteria to compile against the store, and the result
// parameters (_count, _sort, _include, …). Nothing here touches the store.
import { OperationOutcomeError } from '../operation-outcome.ts';
import { isSupportedType } from '../resource-types.ts';
import type { SearchParamDef, SearchRegistry } from './registry.ts';
import { isWordParam } from './words.ts';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set<string>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** One `name[:modifier]=v1,v2` criterion: its values are ORed; criteria are ANDed. */
export interface Criterion {
  /** The parameter as written, for messages. */
  name: string;
  def: SearchParamDef;
  modifier?: string;
  values: string[];
  /** `subject.name=x`: the rest of the chain, searched on the target type. */
  chain?: { targetType?: string; rest: string };
}

/** `_has:Type:param:rest=value`: resources that `Type` resources (matching rest) point at. */
export interface ReverseChain {
  name: string;
  sourceType: string;
  referenceParam: string;
  rest: string;
  values: string[];
}

export interface IncludeSpec {
  sourceType: string;
  param: string;
  targetType?: string;
  iterate: boolean;
}

export interface ParsedSearch {
  type: string;
  criteria: Criterion[];
  reverseChains: ReverseChain[];
  count: number;
  sort: { param: string; descending: boolean }[];
  total: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'text' | 'data' | 'count' | 'false';
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  cursor?: string;
  /** Parameters ignored under lenient handling, reported back to the client. */
  ignored: string[];
}

export interface ParseOptions {
  strict: boolean;
  defaultCount: number;
  maxCount: number;
}

/** Parameters about the response format, not the search: left to the routes. */
const FORMAT_PARAMS = new Set(['_format', '_pretty']);
const MODIFIERS: Record<string, Set<string>> = {
  token: new Set(['not', 'text', 'of-type', 'missing', 'exact', 'in', 'not-in', 'below', 'above']),
  string: new Set(['exact', 'contains', 'missing']),
  reference: new Set(['identifier', 'missing']),
  date: new Set(['missing']),
  number: new Set(['missing']),
  quantity: new Set(['missing']),
  uri: new Set(['below', 'above', 'missing']),
};

function invalid(message: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: message, ...(expression ? { expression: [expression] } : {}) }]);
}

/** Splits on commas not escaped with a backslash, and unescapes `\,` `\|` `\$` `\\`. */
export function splitValues(raw: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      current += c + raw[++i];
    } else if (c === ',') {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

/** Splits `a|b|c` on unescaped bars, then unescapes each part. */
export function splitBars(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) current += value[++i];
    else if (c === '|') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

export function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const p = value.slice(0, 2);
  if (PREFIXES.has(p) && /^[-+0-9]/.test(value.slice(2))) return { prefix: p as Prefix, rest: value.slice(2) };
  return { prefix: 'eq', rest: value };
}

function parseInclude(raw: string, iterate: boolean, search: ParsedSearch, reverse: boolean, registry: SearchRegistry, options: ParseOptions): void {
  const [sourceType, param, targetType] = raw.split(':');
  if (raw === '*') {
    if (options.strict) throw invalid('_include=* is not supported: name the parameters', reverse ? '_revinclude' : '_include');
    search.ignored.push(reverse ? '_revinclude' : '_include');
    return;
  }
  const def = sourceType && param ? registry.get(sourceType, param) : undefined;
  if (!def || def.type !== 'reference' || (targetType !== undefined && !isSupportedType(targetType))) {
    if (options.strict) throw invalid(`${reverse ? '_revinclude' : '_include'}=${raw}: unknown reference parameter`, reverse ? '_revinclude' : '_include');
    search.ignored.push(`${reverse ? '_revinclude' : '_include'}=${raw}`);
    return;
  }
  (reverse ? search.revinclude : search.include).push({ sourceType, param, targetType, iterate });
}

/** Parses `params` (each name with all its occurrences) for a search on `type`. */
export function parseSearch(type: string, params: [string, string][], registry: SearchRegistry, options: ParseOptions): ParsedSearch {
  const search: ParsedSearch = { type, criteria: [], reverseChains: [], count: options.defaultCount, sort: [], total: 'none', include: [], revinclude: [], ignored: [] };
  const unknown = (name: string, why: string) => {
    if (options.strict) throw invalid(`${name}: ${why}`, name);
    search.ignored.push(name);
  };
  for (const [name, raw] of params) {
    if (FORMAT_PARAMS.has(name)) continue;
    switch (name) {
      case '_count': {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0) throw invalid(`_count must be a whole number, got "${raw}"`, '_count');
        search.count = Math.min(n, options.maxCount);
        continue;
      }
      case '_sort':
        for (const key of raw.split(',').filter(Boolean)) {
          const descending = key.startsWith('-');
          const param = descending ? key.slice(1) : key;
          if (param !== '_id' && param !== '_lastUpdated' && !registry.get(type, param)) {
            unknown(`_sort=${key}`, 'unknown sort parameter');
            continue;
          }
          search.sort.push({ param, descending });
        }
        continue;
      case '_total':
        if (raw !== 'none' && raw !== 'estimate' && raw !== 'accurate') throw invalid(`_total must be none, estimate or accurate, got "${raw}"`, '_total');
        search.total = raw;
        continue;
      case '_summary':
        if (!['true', 'text', 'data', 'count', 'false'].includes(raw)) throw invalid(`_summary must be true, text, data, count or false`, '_summary');
        search.summary = raw as ParsedSearch['summary'];
        continue;
      case '_elements':
        search.elements = raw.split(',').map((e) => e.trim()).filter(Boolean);
        continue;
      case '_cursor':
        search.cursor = raw;
        continue;
    }
    const [base, ...mods] = name.split(':');
    if (base === '_include' || base === '_revinclude') {
      const iterate = mods.includes('iterate') || mods.includes('recurse');
      parseInclude(raw, iterate, search, base === '_revinclude', registry, options);
      continue;
    }
    if (base === '_has') {
      // _has:Observation:patient:code=1234 (the rest may itself be a _has chain)
      const [sourceType, referenceParam, ...restParts] = mods;
      if (!sourceType || !referenceParam || restParts.length === 0 || !isSupportedType(sourceType) || registry.get(sourceType, referenceParam)?.type !== 'reference') {
        unknown(name, '_has needs a known type, reference parameter and criterion');
        continue;
      }
      search.reverseChains.push({ name, sourceType, referenceParam, rest: restParts.join(':'), values: splitValues(raw) });
      continue;
    }
    // name.chain.rest or name:Type.rest
    const dot = name.indexOf('.');
    const head = dot === -1 ? name : name.slice(0, dot);
    const [code, modifier] = head.split(':');
    const def = registry.get(type, code);
    if (!def || (def.type === 'special' && !isWordParam(code))) {
      unknown(name, def ? `the ${def.type} parameter ${code} is not supported` : `unknown search parameter for ${type}`);
      continue;
    }
    if (dot !== -1) {
      if (def.type !== 'reference') {
        unknown(name, 'only reference parameters can be chained');
        continue;
      }
      const targetType = modifier;
      if (targetType !== undefined && !isSupportedType(targetType)) {
        unknown(name, `unknown chained type ${targetType}`);
        continue;
      }
      search.criteria.push({ name, def, values: splitValues(raw), chain: { targetType, rest: name.slice(dot + 1) } });
      continue;
    }
    if (modifier !== undefined) {
      const typeModifier = def.type === 'reference' && isSupportedType(modifier);
      // An unknown modifier changes the meaning of the criterion: always refused (FHIR search rules).
      if (!typeModifier && !MODIFIERS[def.type]?.has(modifier)) throw invalid(`modifier :${modifier} is not supported on ${code}`, name);
    }
    if (modifier === 'missing' && raw !== 'true' && raw !== 'false') throw invalid(`:missing takes true or false`, name);
    search.criteria.push({ name, def, modifier, values: splitValues(raw) });
  }
  return search;
}
