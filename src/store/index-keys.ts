// The encoding of index keys and sort keys that every adapter stores and compares as plain
// strings, so that both stores answer a query the same way and MongoDB can index them as
// multikey string arrays (FerretDB 1.x has no $elemMatch on sub-documents).

/** Kinds of exact-match keys; the prefix keeps kinds apart inside one parameter. */
export type IndexKeyKind =
  /** token code in any system: `code` */
  | 'code'
  /** token with its system: `system|code` */
  | 'system-code'
  /** token without a system (`|code` in FHIR syntax) */
  | 'no-system'
  /** any code of a system (`system|` in FHIR syntax) */
  | 'system'
  /** normalised string (lower case, no accents), or the display text of a token */
  | 'text'
  /** string exactly as written (the :exact modifier) */
  | 'exact'
  /** uri */
  | 'uri'
  /** identifier by its type: `typeSystem|typeCode|value` (the :of-type modifier) */
  | 'of-type'
  /** reference: `Type/id` or an absolute URL */
  | 'ref'
  /** the id part of a relative reference, for searches that give only an id */
  | 'ref-id'
  /** a reference's logical identifier: `system|value`, or `value` alone (the :identifier modifier) */
  | 'ref-identifier';

const PREFIX: Record<IndexKeyKind, string> = {
  code: 'c:',
  'system-code': 's:',
  'no-system': 'n:',
  system: 'y:',
  text: 't:',
  exact: 'e:',
  uri: 'u:',
  'of-type': 'o:',
  ref: 'r:',
  'ref-id': 'i:',
  'ref-identifier': 'd:',
};

export function indexKey(kind: IndexKeyKind, value: string): string {
  return PREFIX[kind] + value;
}

/**
 * Order-preserving string for a sort value: strings as they are, numbers (dates as epoch ms)
 * as a fixed-width hex of their IEEE-754 bits with the sign trick, so that byte order is
 * numeric order (MongoDB and SQLite both compare strings bytewise).
 */
export function sortKey(value: string | number): string {
  if (typeof value === 'string') return 's' + value;
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(value);
  if (value >= 0) buf[0] ^= 0x80;
  else for (let i = 0; i < 8; i++) buf[i] ^= 0xff;
  return 'n' + buf.toString('hex');
}

/** Separates a parameter name from its key in stored keys: `patient=r:Patient/1`. */
export const PARAM_SEPARATOR = '=';
/** Sorts after every key of a parameter (U+10FFFF encodes as F4 8F BF BF in UTF-8). */
export const KEY_MAX = '\u{10FFFF}';

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Parameter and sort-key names become part of keys and MongoDB field names: keep them plain. */
export function isPlainName(name: string): boolean {
  return NAME.test(name);
}

/** The stored strings of one parameter's keys lie in [start, end). */
export function paramRange(param: string): { start: string; end: string } {
  return { start: param + PARAM_SEPARATOR, end: param + PARAM_SEPARATOR + KEY_MAX };
}

export function paramKey(param: string, key: string): string {
  return param + PARAM_SEPARATOR + key;
}
