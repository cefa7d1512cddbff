// Turns parsed criteria into the store's query tree. Chains and _has are resolved by running
// their inner search through `resolve` — the caller's gated search — so a chained criterion
// can only ever match through resources the actor may see (HAPI #6065 leaked through _has).
import { indexKey, type Condition, type StoredVersion } from '../../store/index.ts';
import { OperationOutcomeError } from '../operation-outcome.ts';
import { referenceKeys, unitParam } from './extract.ts';
import { canonicalSystem, dateRange, normalizeText } from './normalize.ts';
import { splitBars, splitPrefix, unescapeValue, type Criterion, type ParsedSearch, type Prefix } from './parse.ts';
import type { SearchRegistry } from './registry.ts';

/** Runs a search on another type (for chains and _has); returns matching resources, bounded. */
export type ResolveSearch = (type: string, params: [string, string][]) => Promise<StoredVersion[]>;

/** Chains resolving to more resources than this are refused rather than silently cut. */
export const MAX_CHAIN_MATCHES = 1000;

function invalid(message: string, expression: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: message, expression: [expression] }]);
}

type Range = { low: number; high: number };

/**
 * The store conditions for "target range compares so with the search range" (FHIR prefixes).
 * A number's implicit range excludes its upper end (100 is [99.5, 100.5)); a date's includes it.
 */
function rangeCondition(param: string, prefix: Prefix, q: Range, highExclusive = false): Condition {
  const b = (bound: 'low' | 'high', cmp: 'gt' | 'ge' | 'lt' | 'le', value: number): Condition => ({ param, bound, cmp, value });
  const within: Condition = { and: [b('low', 'ge', q.low), b('high', highExclusive ? 'lt' : 'le', q.high)] };
  switch (prefix) {
    case 'eq':
      return within;
    case 'ne':
      return { not: within };
    case 'gt':
      return b('high', 'gt', q.high);
    case 'lt':
      return b('low', 'lt', q.low);
    case 'ge':
      return b('high', 'ge', q.low);
    case 'le':
      return b('low', 'le', q.high);
    case 'sa':
      return b('low', 'gt', q.high);
    case 'eb':
      return b('high', 'lt', q.low);
    case 'ap': {
      // Approximately: within 10% of the distance to now (dates) or of the value (numbers), at least the value's own range.
      const margin = Math.max(q.high - q.low, Math.abs(q.low) * 0.1);
      return { and: [b('low', 'le', q.high + margin), b('high', 'ge', q.low - margin)] };
    }
  }
}

function dateValue(raw: string, name: string): { prefix: Prefix; range: Range } {
  const { prefix, rest } = splitPrefix(raw);
  const range = dateRange(rest);
  if (!range) throw invalid(`${name}: "${raw}" is not a FHIR date`, name);
  if (prefix === 'ap') {
    const distance = Math.abs(Date.now() - range.low) * 0.1;
    return { prefix: 'ap', range: { low: range.low - distance, high: range.high + distance } };
  }
  return { prefix, range };
}

function numberValue(raw: string, name: string): { prefix: Prefix; range: Range } {
  const { prefix, rest } = splitPrefix(raw);
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(rest)) throw invalid(`${name}: "${raw}" is not a number`, name);
  const n = Number(rest);
  // The precision written sets the range: 100 is [99.5, 100.5], 100.0 is [99.95, 100.05].
  const decimals = /\.(\d+)/.exec(rest.split(/[eE]/)[0])?.[1].length ?? 0;
  const half = 0.5 * 10 ** -decimals;
  if (prefix === 'eq' || prefix === 'ne' || prefix === 'ap') return { prefix, range: { low: n - half, high: n + half } };
  return { prefix, range: { low: n, high: n } };
}

function tokenCondition(c: Criterion, value: string): Condition {
  const param = c.def.code;
  if (c.modifier === 'text') return { param, prefix: indexKey('text', normalizeText(unescapeValue(value))) };
  if (c.modifier === 'of-type') {
    const [system, code, v] = splitBars(value);
    if (v === undefined) throw invalid(`${c.name}: :of-type takes system|code|value`, c.name);
    return { param, in: [indexKey('of-type', `${canonicalSystem(system)}|${code}|${v}`)] };
  }
  const parts = splitBars(value);
  if (parts.length === 1) return { param, in: [indexKey('code', parts[0])] };
  const [system, code] = parts;
  if (system === '') return { param, in: [indexKey('no-system', code)] };
  if (code === '') return { param, in: [indexKey('system', canonicalSystem(system))] };
  return { param, in: [indexKey('system-code', `${canonicalSystem(system)}|${code}`)] };
}

function stringCondition(c: Criterion, value: string): Condition {
  const v = unescapeValue(value);
  if (c.modifier === 'exact') return { param: c.def.code, in: [indexKey('exact', v)] };
  if (c.modifier === 'contains') return { param: c.def.code, contains: normalizeText(v) };
  return { param: c.def.code, prefix: indexKey('text', normalizeText(v)) };
}

function referenceCondition(c: Criterion, value: string, baseUrl: string | undefined): Condition {
  const param = c.def.code;
  const v = unescapeValue(value);
  if (c.modifier === 'identifier') {
    const parts = splitBars(value);
    const key = parts.length > 1 && parts[0] ? `${canonicalSystem(parts[0])}|${parts[1]}` : parts.length > 1 ? parts[1] : parts[0];
    return { param, in: [indexKey('ref-identifier', key)] };
  }
  const local = baseUrl && v.startsWith(`${baseUrl}/`) ? v.slice(baseUrl.length + 1) : v;
  if (c.modifier) return { param, in: [indexKey('ref', `${c.modifier}/${local}`)] };
  if (!local.includes('/')) return { param, in: [indexKey('ref-id', local)] };
  return { param, in: referenceKeys(local).slice(0, 1) };
}

function uriCondition(c: Criterion, value: string): Condition {
  const v = unescapeValue(value);
  if (c.modifier === 'below') return { param: c.def.code, prefix: indexKey('uri', v) };
  if (c.modifier === 'above') {
    // Every ancestor of the URL by path segment, and the URL itself.
    const ancestors: string[] = [];
    for (let i = v.length; i > 0; i = v.lastIndexOf('/', i - 1)) ancestors.push(indexKey('uri', v.slice(0, i)));
    return { param: c.def.code, in: ancestors };
  }
  return { param: c.def.code, in: [indexKey('uri', v)] };
}

function valueCondition(c: Criterion, value: string, baseUrl: string | undefined): Condition {
  switch (c.def.type) {
    case 'token':
      return tokenCondition(c, value);
    case 'string':
      return stringCondition(c, value);
    case 'reference':
      return referenceCondition(c, value, baseUrl);
    case 'uri':
      return uriCondition(c, value);
    case 'date': {
      const { prefix, range } = dateValue(value, c.name);
      return rangeCondition(c.def.code, prefix, range);
    }
    case 'number': {
      const { prefix, range } = numberValue(value, c.name);
      return rangeCondition(c.def.code, prefix, range, true);
    }
    case 'quantity': {
      const [num, system, code] = splitBars(value);
      const { prefix, range } = numberValue(num, c.name);
      const param = code ? unitParam(c.def.code, system || undefined, code) : c.def.code;
      return rangeCondition(param, prefix, range, true);
    }
    default:
      throw invalid(`${c.name}: parameters of type ${c.def.type} are not supported`, c.name);
  }
}

/** Reference keys of the resources a chained search found, as one `in` condition. */
function referencesTo(param: string, found: StoredVersion[], name: string): Condition {
  if (found.length > MAX_CHAIN_MATCHES) {
    throw new OperationOutcomeError(400, [{ severity: 'error', code: 'too-costly', diagnostics: `${name} matches more than ${MAX_CHAIN_MATCHES} resources: narrow it`, expression: [name] }]);
  }
  return { param, in: found.map((r) => indexKey('ref', `${r.type}/${r.id}`)) };
}

export interface CompileContext {
  registry: SearchRegistry;
  resolve: ResolveSearch;
  baseUrl?: string;
  /** Reference parameter values of a resource (for _has: which resources it points at). */
  referencedBy: (resource: StoredVersion, param: string) => string[];
}

async function criterionCondition(c: Criterion, ctx: CompileContext): Promise<Condition> {
  if (c.modifier === 'missing') return { param: c.def.code, missing: c.values[0] === 'true' };
  if (c.chain) {
    const targets = c.chain.targetType ? [c.chain.targetType] : c.def.targets;
    if (targets.length !== 1 && !c.chain.targetType) {
      throw invalid(`${c.name}: ${c.def.code} may point to several types; name one (${c.def.code}:Type.${c.chain.rest})`, c.name);
    }
    const found = await ctx.resolve(targets[0], c.values.length === 1 ? [[c.chain.rest, c.values[0]]] : [[c.chain.rest, c.values.join(',')]]);
    return referencesTo(c.def.code, found, c.name);
  }
  const alternatives = c.values.map((v) => valueCondition(c, v, ctx.baseUrl));
  const any: Condition = alternatives.length === 1 ? alternatives[0] : { or: alternatives };
  // :not matches resources without any of the values, including those with no value at all.
  return c.modifier === 'not' ? { not: any } : any;
}

/** The store condition for every criterion of a search (ANDed). */
export async function compileSearch(search: ParsedSearch, ctx: CompileContext): Promise<Condition | undefined> {
  const parts: Condition[] = [];
  for (const c of search.criteria) {
    if (c.def.code === '_id') {
      const ids = c.values.map(unescapeValue);
      parts.push(c.modifier === 'not' ? { not: { ids } } : { ids });
      continue;
    }
    if (c.def.code === '_lastUpdated') {
      const alternatives = c.values.map((v) => {
        const { prefix, range } = dateValue(v, c.name);
        return lastUpdatedCondition(prefix, range);
      });
      parts.push(alternatives.length === 1 ? alternatives[0] : { or: alternatives });
      continue;
    }
    parts.push(await criterionCondition(c, ctx));
  }
  for (const h of search.reverseChains) {
    const found = await ctx.resolve(h.sourceType, [[h.rest, h.values.join(',')]]);
    if (found.length > MAX_CHAIN_MATCHES) throw invalid(`${h.name} matches more than ${MAX_CHAIN_MATCHES} resources: narrow it`, h.name);
    const prefix = `${search.type}/`;
    const ids = [...new Set(found.flatMap((r) => ctx.referencedBy(r, h.referenceParam)).filter((ref) => ref.startsWith(prefix)).map((ref) => ref.slice(prefix.length)))];
    parts.push({ ids });
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { and: parts };
}

function lastUpdatedCondition(prefix: Prefix, q: Range): Condition {
  const c = (cmp: 'gt' | 'ge' | 'lt' | 'le', value: number): Condition => ({ lastUpdated: { cmp, value } });
  switch (prefix) {
    case 'eq':
      return { and: [c('ge', q.low), c('le', q.high)] };
    case 'ne':
      return { not: { and: [c('ge', q.low), c('le', q.high)] } };
    case 'gt':
    case 'sa':
      return c('gt', q.high);
    case 'lt':
    case 'eb':
      return c('lt', q.low);
    case 'ge':
      return c('ge', q.low);
    case 'le':
      return c('le', q.high);
    case 'ap':
      return { and: [c('ge', q.low), c('le', q.high)] };
  }
}
