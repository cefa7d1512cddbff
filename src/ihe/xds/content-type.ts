// Media-type parsing (RFC 9110 §8.3.1): type/subtype and parameters, with quoted-string values.
// Small and strict on purpose: a Content-Type we cannot read is refused, not guessed.

export interface MediaType {
  /** Lower-cased `type/subtype`. */
  readonly essence: string;
  /** Parameters by lower-cased name; values unquoted, case kept (boundaries are case-sensitive). */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (!header || header.length > 4096) return undefined;
  const slash = header.indexOf('/');
  const firstSemicolon = header.indexOf(';');
  const essenceEnd = firstSemicolon === -1 ? header.length : firstSemicolon;
  if (slash === -1 || slash > essenceEnd) return undefined;
  const type = header.slice(0, slash).trim();
  const subtype = header.slice(slash + 1, essenceEnd).trim();
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const params = new Map<string, string>();
  let i = essenceEnd;
  while (i < header.length) {
    // at a ';'
    i += 1;
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i += 1;
    if (i >= header.length) break;
    const eq = header.indexOf('=', i);
    if (eq === -1) return undefined;
    const name = header.slice(i, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    i = eq + 1;
    let value = '';
    if (header[i] === '"') {
      i += 1;
      let closed = false;
      while (i < header.length) {
        const c = header[i];
        if (c === '\\' && i + 1 < header.length) {
          value += header[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i += 1;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
      if (!closed) return undefined;
      while (i < header.length && header[i] !== ';') {
        if (header[i] !== ' ' && header[i] !== '\t') return undefined;
        i += 1;
      }
    } else {
      const end = header.indexOf(';', i);
      value = header.slice(i, end === -1 ? header.length : end).trim();
      i = end === -1 ? header.length : end;
    }
    if (!params.has(name)) params.set(name, value);
  }
  return { essence: `${type}/${subtype}`.toLowerCase(), params };
}

/** Writes a parameter value, quoting it when it is not a plain token. */
export function formatParameter(name: string, value: string): string {
  return TOKEN.test(value) ? `${name}=${value}` : `${name}="${value.replace(/(["\\])/g, '\\$1')}"`;
}
