// How values are normalised, identically when indexing a resource and when parsing a search,
// so that both sides meet on the same keys.

/** Lower case, accents removed, spaces folded: FHIR string search ignores case and accents. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

export { canonicalSystem } from '../code-systems.ts';

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The instants a FHIR date, dateTime or instant covers, as epoch ms: `2024` covers the whole
 * year, `2024-03-01T10:00:00Z` that second. A time without a zone is read as UTC.
 */
export function dateRange(value: string): { low: number; high: number } | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  if (mo === undefined) return { low: Date.UTC(year, 0, 1), high: Date.UTC(year + 1, 0, 1) - 1 };
  const month = Number(mo) - 1;
  if (month > 11) return undefined;
  if (d === undefined) return { low: Date.UTC(year, month, 1), high: Date.UTC(year, month + 1, 1) - 1 };
  const day = Number(d);
  // The day must exist in its month (no 30 February).
  if (day < 1 || day > new Date(Date.UTC(year, month + 1, 0)).getUTCDate()) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return undefined;
  if (h === undefined) return { low: Date.UTC(year, month, day), high: Date.UTC(year, month, day + 1) - 1 };
  const offset = !zone || zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  const base = Date.UTC(year, month, day, Number(h), Number(mi), Number(s ?? 0)) - offset;
  if (Number.isNaN(base)) return undefined;
  if (s === undefined) return { low: base, high: base + 60_000 - 1 };
  if (frac === undefined) return { low: base, high: base + 999 };
  const ms = Math.floor(Number(`0${frac}`) * 1000);
  return { low: base + ms, high: base + ms };
}
