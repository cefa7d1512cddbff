// Turns parsed criteria into the store's query tree. Chains and _has are resolved by running
// their inner search through `resolve` — the caller's gated search — so a chained criterion
// can only ever match through resources the actor may see (HAPI #6065 leaked through _has).
import { indexKey, type Condition, type StoredVersion } from '../../store/index.ts';
import { OperationOutcomeError } from '../operation-outcome.ts';
import { COMPONENT_SEPARATOR, compositeComponents, compositeParam, splitComponents } from './composite.ts';
import { referenceKeys, unitParam } from './extract.ts';
import { canonicalSystem, dateRange, normalizeText } from './normalize.ts';
import { splitBars, splitPrefix, unescapeValue, type Criterion, type ParsedSearch, type Prefix } from './parse.ts';
import type { SearchRegistry } from './registry.ts';
import { isWordParam, wordCondition } from './words.ts';
import { expandValueSet, subsumption } from '../validation/value-sets.ts';

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
  if (c.modifier === 'in' || c.modifier === 'not-in') return valueSetCondition(c, unescapeValue(value));
  if (c.modifier === 'below' || c.modifier === 'above') return subsumptionCondition(c, value);
  return { param, in: [tokenKey(value)] };
}

/** :below / :above a code in a code system whose hierarchy Carnet holds: the code and its descendants (or ancestors). */
function subsumptionCondition(c: Criterion, value: string): Condition {
  const [system, code, rest] = splitBars(value);
  if (rest !== undefined || code === undefined || !system || !code) throw invalid(`${c.name}: :${c.modifier} takes system|code`, c.name);
  const codes = subsumption(system, code, c.modifier as 'below' | 'above');
  if (!codes) throw invalid(`${c.name}: no hierarchy of ${system} is known here, so :${c.modifier} cannot be answered`, c.name);
  return { param: c.def.code, in: codes.map((k) => indexKey('system-code', `${canonicalSystem(system)}|${k}`)) };
}

/** Value sets larger than this are refused for :in rather than sent as a huge key list. */
const MAX_VALUE_SET_CODES = 1000;

/**
 * :in / :not-in a value set Carnet can enumerate (the R4 ones and profiles/): its members as
 * system|code keys, and as system-less codes for `code` elements, which carry no system.
 */
function valueSetCondition(c: Criterion, url: string): Condition {
  const expansion = expandValueSet(url.split('|')[0]);
  if (!expansion) throw invalid(`${c.name}: the value set ${url} is unknown here or cannot be enumerated`, c.name);
  if (expansion.pairs.size > MAX_VALUE_SET_CODES) throw invalid(`${c.name}: the value set ${url} has more than ${MAX_VALUE_SET_CODES} codes`, c.name);
  const keys = [...[...expansion.pairs].map((pair) => indexKey('system-code', pair)), ...[...expansion.codes].map((code) => indexKey('no-system', code))];
  const members: Condition = { param: c.def.code, in: keys };
  return c.modifier === 'not-in' ? { not: members } : members;
}

/** The index key a token search value (`code`, `system|code`, `|code`, `system|`) looks up. */
function tokenKey(value: string): string {
  const parts = splitBars(value);
  if (parts.length === 1) return indexKey('code', parts[0]);
  const [system, code] = parts;
  if (system === '') return indexKey('no-system', code);
  if (code === '') return indexKey('system', canonicalSystem(system));
  return indexKey('system-code', `${canonicalSystem(system)}|${code}`);
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
  if (c.modifier) return { param, in: [indexKey('ref', `${c.modifier}/${localReference(v, baseUrl)}`)] };
  return { param, in: [referenceKey(v, baseUrl, c.def.targets)] };
}

function localReference(v: string, baseUrl: string | undefined): string {
  return baseUrl && v.startsWith(`${baseUrl}/`) ? v.slice(baseUrl.length + 1) : v;
}

/** The index key a reference search value (`Type/id`, an id alone, an absolute URL) looks up. */
function referenceKey(v: string, baseUrl: string | undefined, targets: string[] = []): string {
  const local = localReference(v, baseUrl);
  // An id alone: with one possible target type it names exactly that resource.
  if (!local.includes('/')) return targets.length === 1 ? indexKey('ref', `${targets[0]}/${local}`) : indexKey('ref-id', local);
  return referenceKeys(local)[0] ?? indexKey('ref', local);
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

function valueCondition(c: Criterion, value: string, ctx: CompileContext): Condition {
  const baseUrl = ctx.baseUrl;
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
    case 'quantity':
      return quantityCondition(c.def.code, value, c.name);
    case 'composite':
      return compositeCondition(c, value, ctx);
    case 'special': {
      const words = isWordParam(c.def.code) ? wordCondition(c.def.code, unescapeValue(value)) : undefined;
      if (!words) throw invalid(`${c.name}: "${value}" holds no word to search for`, c.name);
      return words;
    }
    default:
      throw invalid(`${c.name}: parameters of type ${c.def.type} are not supported`, c.name);
  }
}

function quantityCondition(param: string, value: string, name: string): Condition {
  const [num, system, code] = splitBars(value);
  const { prefix, range } = numberValue(num, name);
  return rangeCondition(code ? unitParam(param, system || undefined, code) : param, prefix, range, true);
}

/**
 * A composite value `a$b`: the leading components' keys are joined as at indexing time; the last
 * one is an exact key appended to them, or a range of the parameter those keys name (composite.ts).
 */
function compositeCondition(c: Criterion, value: string, ctx: CompileContext): Condition {
  const components = compositeComponents(c.def, ctx.registry);
  if (!components) throw invalid(`${c.name}: this composite parameter is not supported`, c.name);
  const parts = splitComponents(value);
  if (parts.length !== components.length) throw invalid(`${c.name}: "${value}" must have ${components.length} components separated by $`, c.name);
  const keyOf = (type: string, part: string): string => {
    switch (type) {
      case 'token':
        return tokenKey(part);
      case 'reference':
        return referenceKey(unescapeValue(part), ctx.baseUrl);
      case 'uri':
        return indexKey('uri', unescapeValue(part));
      default:
        return indexKey('text', normalizeText(unescapeValue(part)));
    }
  };
  const joined = components.slice(0, -1).map((comp, i) => keyOf(comp.type, parts[i])).join(COMPONENT_SEPARATOR);
  const last = components[components.length - 1];
  const lastPart = parts[parts.length - 1];
  switch (last.type) {
    case 'quantity':
      return quantityCondition(compositeParam(c.def.code, joined), lastPart, c.name);
    case 'number': {
      const { prefix, range } = numberValue(lastPart, c.name);
      return rangeCondition(compositeParam(c.def.code, joined), prefix, range, true);
    }
    case 'date': {
      const { prefix, range } = dateValue(lastPart, c.name);
      return rangeCondition(compositeParam(c.def.code, joined), prefix, range);
    }
    case 'string':
      // Strings match by their start, as a plain string search does.
      return { param: c.def.code, prefix: `${joined}${COMPONENT_SEPARATOR}${keyOf('string', lastPart)}` };
    default:
      return { param: c.def.code, in: [`${joined}${COMPONENT_SEPARATOR}${keyOf(last.type, lastPart)}`] };
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

/**
 * OR of a criterion's values. Exact keys of one parameter become one `in` list: the stores look
 * a list up in their index (and SQLite can drive the search from it), while an `or` of lists is
 * tested row by row (XDS looks documents up by several spellings of their uniqueId this way).
 */
function anyOf(alternatives: Condition[]): Condition {
  if (alternatives.length === 1) return alternatives[0];
  const first = alternatives[0];
  const param = 'param' in first && 'in' in first ? first.param : undefined;
  const sameList = param !== undefined && alternatives.every((a) => 'param' in a && 'in' in a && a.param === param && Object.keys(a).length === 2);
  if (sameList) return { param, in: [...new Set(alternatives.flatMap((a) => (a as { in: string[] }).in))] };
  return { or: alternatives };
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
  const any = anyOf(c.values.map((v) => valueCondition(c, v, ctx)));
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
  // When the search names its resources (_id), the inner search of _has looks only at what
  // points to them: cheaper, and it tells the gate which dossier the inner search is about.
  const named = search.criteria.filter((c) => c.def.code === '_id' && c.modifier === undefined).flatMap((c) => c.values.map(unescapeValue));
  for (const h of search.reverseChains) {
    const inner: [string, string][] = [[h.rest, h.values.join(',')]];
    if (named.length) inner.push([h.referenceParam, named.map((id) => `${search.type}/${id}`).join(',')]);
    const found = await ctx.resolve(h.sourceType, inner);
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
