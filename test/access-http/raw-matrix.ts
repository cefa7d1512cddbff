// The habilitation matrix as the raw JSON files say it (profiles/habilitations.json and the
// type-class table), read by a few lines independent of the access engine: the HTTP access
// tests compute their expectations from it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type RawCell = 'all' | 'none' | { types: string[] };
export type RawCells = Record<string, RawCell>;
export type RawClassRule = string | { class?: string; type?: string; refine?: { element: string; codes: Record<string, { class?: string; type?: string }> } };
export interface RawMatrix {
  typeClass: string;
  classes: string[];
  professions: { label: string; professions: string[]; specialties?: string[]; pharmacistSections?: string[]; read: RawCells }[];
  otherProfessions: { label: string; read: RawCells };
  actors: Record<string, { read: string | RawCells }>;
  resourceClasses: Record<string, RawClassRule>;
}

const PROFILES = resolve(import.meta.dirname, '..', '..', 'profiles');
export const raw = JSON.parse(readFileSync(resolve(PROFILES, 'habilitations.json'), 'utf8')) as RawMatrix;
export const rawTypes = JSON.parse(readFileSync(resolve(PROFILES, raw.typeClass), 'utf8')) as { kinds: { class: string; types: string[] }[] };

/** typeCode → its code system OID in the J07 value set (XDS names the system of each code). */
const j07 = JSON.parse(readFileSync(resolve(PROFILES, 'fr-dmp-valueset-j07-type-code.json'), 'utf8')) as { compose: { include: { system: string; concept: { code: string }[] }[] } };
export const typeScheme = new Map(j07.compose.include.flatMap((i) => i.concept.map((c) => [c.code, i.system.replace(/^urn:oid:/, '')] as const)));

/** The classes documents can have: those of the type-class table (lists have a class of their own). */
export const documentClasses = raw.classes.filter((c) => rawTypes.kinds.some((k) => k.class === c));
export const typesOfClass = (c: string): string[] => rawTypes.kinds.filter((k) => k.class === c).flatMap((k) => k.types);
export const cellOpens = (cells: RawCells, c: string | undefined, type: string | undefined): boolean => {
  const cell = c === undefined ? undefined : cells[c];
  return cell === 'all' || (typeof cell === 'object' && type !== undefined && cell.types.includes(type));
};

/** Every row of cells in the file: rows, other professions, and actors that read through fixed cells. */
export const allCells: RawCells[] = [...raw.professions.map((r) => r.read), raw.otherProfessions.read, ...Object.values(raw.actors).map((a) => a.read).filter((r): r is RawCells => typeof r === 'object')];

/** Class and type of a structured resource, from the resourceClasses table (refined by `code`). */
export function structuredClass(type: string, code?: string): { classCode?: string; typeCode?: string } {
  const rule = raw.resourceClasses[type];
  if (rule === undefined) return {};
  if (typeof rule === 'string') return { classCode: rule };
  const refined = code !== undefined ? rule.refine?.codes[code] : undefined;
  return { classCode: refined?.class ?? rule.class, typeCode: refined?.type ?? rule.type };
}


/** The class a document type belongs to in the type-class table. */
export const classOfType = (type: string): string | undefined => rawTypes.kinds.find((k) => k.types.includes(type))?.class;

/** The cells of a profession's row: the row naming its pharmacist section if any, else its plain row, else "other professions". */
export function professionCells(profession: string, pharmacistSection?: string): RawCells {
  const rows = raw.professions.filter((r) => r.professions.includes(profession));
  const qualified = pharmacistSection === undefined ? undefined : rows.find((r) => r.pharmacistSections?.includes(pharmacistSection));
  return (qualified ?? rows.find((r) => !r.pharmacistSections && !r.specialties))?.read ?? raw.otherProfessions.read;
}
