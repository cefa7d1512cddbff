// Resources are stored as JSON text and read back with their decimals as written: FHIR says a
// decimal's precision is part of its value (1.50 is not 1.5), which a JS number would lose.
// Such numbers come back as JSON.rawJSON values, which JSON.stringify writes unchanged.

/** What JSON.rawJSON returns: a frozen object that JSON.stringify writes as its raw text. */
export interface RawJsonNumber {
  readonly rawJSON: string;
}

declare global {
  // In V8 (Node >= 21) but not yet in TypeScript's standard library.
  interface JSON {
    rawJSON(text: string): RawJsonNumber;
    isRawJSON(value: unknown): value is RawJsonNumber;
  }
}

type ReviverContext = { source?: string };

function keepDecimals(this: unknown, _key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number' && context?.source !== undefined && context.source !== String(value)) return JSON.rawJSON(context.source);
  return value;
}

/**
 * Number-like tokens where JSON puts values: after `:`, `[` or `,` (and spaces), before `,`, `]`, `}` or a space
 * (strings can hold such text too; that only costs the slower path, never a wrong value).
 */
const NUMBER_TOKEN = /(?:^|[:[,])\s*(-?\d[\d.eE+-]*)(?=[,\]}\s]|$)/g;

/** True when some number's text is not what JSON.stringify would write for it (1.50, 1e2, -0…). */
function hasNonCanonicalNumber(text: string): boolean {
  for (const m of text.matchAll(NUMBER_TOKEN)) if (String(Number(m[1])) !== m[1]) return true;
  return false;
}

/** JSON.parse that keeps each number's text when the number alone would change it. */
export function parseJsonText(text: string): unknown {
  // The reviver runs for every value and costs several times the parse: most resources have
  // no number that needs it, and a scan for one is cheap.
  if (!hasNonCanonicalNumber(text)) return JSON.parse(text);
  return JSON.parse(text, keepDecimals as (key: string, value: unknown) => unknown);
}

/** The same value with plain numbers (for code that computes with them: validation, indexing). */
export function plainJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
