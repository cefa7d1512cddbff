// Content negotiation for FHIR: which format a client sent and which it wants, from
// Content-Type, Accept and _format (https://hl7.org/fhir/R4/http.html#mime-type).
import { OperationOutcomeError } from './operation-outcome.ts';

export type FhirFormat = 'json' | 'xml';

export const CONTENT_TYPES: Record<FhirFormat, string> = {
  json: 'application/fhir+json; charset=utf-8',
  xml: 'application/fhir+xml; charset=utf-8',
};

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir', 'json', 'text/json']);
const XML_TYPES = new Set(['application/fhir+xml', 'application/xml', 'application/xml+fhir', 'xml', 'text/xml']);

function formatOf(mime: string): FhirFormat | undefined {
  const bare = mime.split(';')[0].trim().toLowerCase();
  if (JSON_TYPES.has(bare)) return 'json';
  if (XML_TYPES.has(bare)) return 'xml';
  return undefined;
}

/** The format of a request body; 415 for anything else. */
export function requestFormat(contentType: string | undefined): FhirFormat {
  const format = contentType ? formatOf(contentType) : undefined;
  if (!format) {
    throw new OperationOutcomeError(415, [
      { severity: 'error', code: 'not-supported', diagnostics: `content type ${contentType ?? '(none)'} is not supported: send application/fhir+json or application/fhir+xml` },
    ]);
  }
  return format;
}

/** The format to answer in: _format wins, then Accept (by q-value), then JSON; 406 when nothing fits. */
export function responseFormat(accept: string | undefined, formatParam: string | undefined): FhirFormat {
  if (formatParam) {
    const f = formatOf(formatParam);
    if (!f) throw new OperationOutcomeError(406, [{ severity: 'error', code: 'not-supported', diagnostics: `_format ${formatParam} is not supported` }]);
    return f;
  }
  if (!accept) return 'json';
  const ranges = accept
    .split(',')
    .map((part) => {
      const [mime, ...params] = part.trim().split(';');
      const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? 1);
      return { mime: mime.trim().toLowerCase(), q: Number.isNaN(q) ? 0 : q };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const r of ranges) {
    if (r.mime === '*/*' || r.mime === 'application/*') return 'json';
    const f = formatOf(r.mime);
    if (f) return f;
  }
  throw new OperationOutcomeError(406, [{ severity: 'error', code: 'not-supported', diagnostics: `none of the accepted types (${accept}) is served: use application/fhir+json or application/fhir+xml` }]);
}

/** FHIR resources nest a few dozen levels at most; deeper JSON is refused before it is parsed. */
export const MAX_JSON_DEPTH = 100;

/** Whether JSON text nests objects and arrays deeper than `max` (strings are skipped). */
export function jsonDepthExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
