// The base invariants Carnet checks in plain code (see invariant-exceptions.ts for why):
// ele-1 (every element has a value or children), the narrative's txt-1 / txt-2, ref-1 and
// dom-3 (local references and contained resources).
import { error, isJsonObject } from './types.ts';
import type { JsonObject, ValidationIssue } from './types.ts';
import type { Occurrence } from './walk.ts';

/** HTML 4.0 chapters 7-11 and 12, <a> and <img>: the elements FHIR narrative may use. */
const NARRATIVE_ELEMENTS = new Set([
  'p', 'br', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a', 'span', 'b', 'em', 'i', 'strong',
  'small', 'big', 'tt', 'dfn', 'q', 'var', 'abbr', 'acronym', 'cite', 'blockquote', 'hr',
  'address', 'bdo', 'kbd', 'sub', 'sup', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'pre', 'table',
  'caption', 'colgroup', 'col', 'thead', 'tr', 'tfoot', 'tbody', 'th', 'td', 'code', 'samp',
  'img', 'map', 'area',
]);

// No part of a tag may run past the next '<' (which XHTML never allows inside a tag): each
// match attempt then stops there, and scanning a hostile narrative stays linear in its size.
const START_TAG = /<([A-Za-z][\w.:-]*)((?:\s+[^\s=<>/]+(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s<>]+))?)*)\s*\/?>/g;
const ATTRIBUTE = /([^\s=<>/]+)(?:\s*=\s*("[^"<]*"|'[^'<]*'|[^\s<>]+))?/g;
const ANY_TAG = /<[^<>]*>/g;
const XHTML_ROOT = /^\s*<div\b[^>]*\bxmlns\s*=\s*["']http:\/\/www\.w3\.org\/1999\/xhtml["']/;

function ele1(expression: string): ValidationIssue {
  return error('invariant', expression, `ele-1: ${expression} must have a value or children (an element with nothing in it is not allowed)`);
}

/** ele-1 on one occurrence: objects need a property besides `id`; a `_name` companion likewise. */
export function emptyElementIssues(occurrence: Occurrence): ValidationIssue[] {
  const { value, companion, expression } = occurrence;
  const hasContent = (o: Record<string, unknown>) => Object.keys(o).some((k) => k !== 'id');
  if (isJsonObject(value) && !hasContent(value)) return [ele1(expression)];
  if (value === undefined && isJsonObject(companion) && !hasContent(companion)) return [ele1(expression)];
  return [];
}

/** The XHTML without its comments (an unclosed one runs to the end), in one linear pass. */
function withoutComments(xhtml: string): string {
  let result = '';
  let from = 0;
  for (let start = xhtml.indexOf('<!--'); start >= 0; start = xhtml.indexOf('<!--', from)) {
    result += xhtml.slice(from, start);
    const end = xhtml.indexOf('-->', start + 4);
    from = end < 0 ? xhtml.length : end + 3;
  }
  return result + xhtml.slice(from);
}

/** txt-1 and txt-2 on a narrative's div. */
export function narrativeIssues(div: unknown, expression: string): ValidationIssue[] {
  if (typeof div !== 'string') return [];
  const issues: ValidationIssue[] = [];
  const problems: string[] = [];
  if (!XHTML_ROOT.test(div)) problems.push('the root must be a <div> in the XHTML namespace (xmlns="http://www.w3.org/1999/xhtml")');
  const html = withoutComments(div);
  for (const [, rawName, attributes] of html.matchAll(START_TAG)) {
    const name = rawName.toLowerCase().replace(/^xhtml:/, '');
    if (!NARRATIVE_ELEMENTS.has(name)) problems.push(`<${name}> is not allowed`);
    for (const [, attribute, quoted] of attributes.matchAll(ATTRIBUTE)) {
      const value = (quoted ?? '').replace(/^["']|["']$/g, '').trim().toLowerCase();
      if (/^on/i.test(attribute)) problems.push(`the event attribute ${attribute} is not allowed`);
      else if (/^(href|src)$/i.test(attribute) && /^(javascript|vbscript|data:text\/html)/.test(value.replace(/\s+/g, ''))) {
        problems.push(`a script URL in ${attribute} is not allowed`);
      }
    }
  }
  if (problems.length > 0) {
    issues.push(error('invariant', expression, `txt-1: the narrative may only hold basic XHTML formatting: ${[...new Set(problems)].join('; ')}`));
  }
  const text = html.replace(ANY_TAG, '').replace(/&nbsp;|&#160;|&#xa0;/gi, ' ');
  if (!/\S/.test(text) && !/<img\b/i.test(html)) {
    issues.push(error('invariant', expression, 'txt-2: the narrative must have some non-whitespace content'));
  }
  return issues;
}

/**
 * ref-1 on a Reference: a local reference (`#id`) names a resource contained in the root
 * resource; `#` alone (the container itself) is allowed from inside a contained resource.
 */
export function localReferenceIssues(reference: unknown, expression: string, resource: JsonObject, rootResource: JsonObject): ValidationIssue[] {
  if (!isJsonObject(reference) || typeof reference.reference !== 'string' || !reference.reference.startsWith('#')) return [];
  const id = reference.reference.slice(1);
  if (id === '' && resource !== rootResource) return [];
  const contained = Array.isArray(rootResource.contained) ? rootResource.contained : [];
  if (id !== '' && contained.some((c) => isJsonObject(c) && c.id === id)) return [];
  return [error('invariant', `${expression}.reference`, `ref-1: ${expression}.reference points to a contained resource '${reference.reference}' that does not exist`)];
}

/** The local references (`#…`) met in each resource, for dom-3. */
export class LocalReferences {
  private readonly byResource = new Map<JsonObject, Set<string>>();

  add(resource: JsonObject, reference: string): void {
    let set = this.byResource.get(resource);
    if (!set) this.byResource.set(resource, (set = new Set()));
    set.add(reference);
  }

  has(resource: JsonObject, reference: string): boolean {
    return this.byResource.get(resource)?.has(reference) ?? false;
  }

  /**
   * dom-3 for a root resource: each contained resource is referred to from elsewhere in the
   * resource (its other contained resources included), or refers to its container (`#`).
   */
  unreferencedContained(root: JsonObject, expression: string): ValidationIssue[] {
    if (!Array.isArray(root.contained)) return [];
    const issues: ValidationIssue[] = [];
    root.contained.forEach((contained, i) => {
      if (!isJsonObject(contained)) return;
      const id = typeof contained.id === 'string' ? contained.id : undefined;
      const referred = id !== undefined && [root, ...root.contained as unknown[]]
        .some((r) => isJsonObject(r) && this.has(r, `#${id}`));
      if (referred || this.has(contained, '#')) return;
      issues.push(error('invariant', `${expression}.contained[${i}]`,
        'dom-3: a contained resource must be referred to from elsewhere in the resource, or refer to its container'));
    });
    return issues;
  }
}
