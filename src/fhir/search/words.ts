// `_text` and `_content`: word search over a resource's narrative (`_text`) or all its text
// (`_content`). Each distinct word is indexed as a normalised text key (lower case, no accents)
// under the parameter; a search value's words must all be present, each as a word prefix
// (`_content=diab insul` finds "diabète insulinodépendant"). No phrase or boolean syntax: the
// specification leaves both optional and most servers ignore them.
import { indexKey, type Condition, type IndexValue, type ResourceBody } from '../../store/index.ts';
import { normalizeText } from './normalize.ts';

export const WORD_PARAMS = ['_text', '_content'] as const;
export type WordParam = (typeof WORD_PARAMS)[number];

export function isWordParam(code: string): code is WordParam {
  return (WORD_PARAMS as readonly string[]).includes(code);
}

/** Bounds that keep one resource's word keys small whatever its size. */
const MAX_WORDS = 2000;
const MIN_WORD = 2;
const MAX_WORD = 40;

/** The normalised words of a text (lower case, no accents), split at anything but letters and digits. */
export function splitWords(text: string): string[] {
  return normalizeText(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/** The distinct normalised words of a text worth indexing, in order of first appearance. */
export function wordsOf(text: string, limit = MAX_WORDS): string[] {
  const seen = new Set<string>();
  for (const raw of splitWords(text)) {
    if (raw.length < MIN_WORD) continue;
    seen.add(raw.slice(0, MAX_WORD));
    if (seen.size >= limit) break;
  }
  return [...seen];
}

/** Text of an XHTML narrative: tags dropped, the common entities read. */
export function narrativeText(div: string): string {
  return div
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|&#160;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;|&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Every string value of a resource (narrative as text), but not ids, references, URLs or attachments' data. */
function collectStrings(value: unknown, key: string, out: string[]): void {
  if (typeof value === 'string') {
    if (key === 'div') out.push(narrativeText(value));
    else if (!SKIPPED_KEYS.has(key)) out.push(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectStrings(item, key, out);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (!SKIPPED_KEYS.has(k)) collectStrings(v, k, out);
  }
}

const SKIPPED_KEYS = new Set(['id', 'reference', 'url', 'system', 'data', 'hash', 'versionId', 'lastUpdated', 'resourceType', 'fullUrl', 'profile', 'meta']);

/** The word keys of `_text` (narrative) and `_content` (everything) for a resource. */
export function wordIndex(resource: ResourceBody): IndexValue[] {
  const out: IndexValue[] = [];
  const text = (resource.text as { div?: unknown } | undefined)?.div;
  if (typeof text === 'string') for (const w of wordsOf(narrativeText(text))) out.push({ param: '_text', value: indexKey('text', w) });
  const strings: string[] = [];
  collectStrings(resource, '', strings);
  for (const w of wordsOf(strings.join(' '))) out.push({ param: '_content', value: indexKey('text', w) });
  return out;
}

/** One search value: all its words, each as a prefix; undefined when it holds no word. */
export function wordCondition(param: WordParam, value: string): Condition | undefined {
  const words = wordsOf(value, 20);
  if (words.length === 0) return undefined;
  const each: Condition[] = words.map((w) => ({ param, prefix: indexKey('text', w) }));
  return each.length === 1 ? each[0] : { and: each };
}
