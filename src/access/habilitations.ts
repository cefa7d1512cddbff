// Loads the habilitation matrix (profiles/habilitations.json) and the typeCode → classCode table
// it names (profiles/type-class.json), and checks them before anything decides with them: an
// operator may replace the file, and a typo there must stop the start-up with a message that
// names the file, the place and the problem, not quietly open or close a dossier.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { ACCESS_MODES } from './types.ts';
import type { ActorCategory, Cells, Habilitations, ProfessionRow } from './types.ts';

export const DEFAULT_HABILITATIONS_PATH = resolve(import.meta.dirname, '..', '..', 'profiles', 'habilitations.json');

export class HabilitationsError extends Error {
  override name = 'HabilitationsError';
}

// ---- shape (JSON Schema) ----------------------------------------------------------------------

const code = { type: 'string', minLength: 1 };
const codes = { type: 'array', items: code, uniqueItems: true };
const cell = {
  oneOf: [
    { enum: ['all', 'none'] },
    { type: 'object', required: ['types'], additionalProperties: false, properties: { types: { ...codes, minItems: 1 } } },
  ],
};
const cells = { type: 'object', additionalProperties: cell };
const modes = { type: 'array', items: { enum: ACCESS_MODES }, uniqueItems: true };
const createRule = {
  type: 'object',
  additionalProperties: false,
  properties: { classes: codes, exceptClasses: codes, resourceTypes: codes, exceptResourceTypes: codes, authoredBy: { const: 'self' } },
};

/** What each actor category may say about reading: the semantics behind each value are code. */
const READ_FORMS: Record<ActorCategory, object> = {
  professional: { enum: ['profession-row', 'none'] },
  'administrative-staff': { oneOf: [{ const: 'none' }, cells] },
  regulator: { oneOf: [{ const: 'none' }, cells] },
  patient: { enum: ['dossier', 'none'] },
  representative: { enum: ['dossier', 'none'] },
  'care-history-feed': { const: 'none' },
  operator: { const: 'none' },
  device: { const: 'none' },
};
/** Only the dossier's owners may manage resources whoever wrote them (revoking authorisations). */
const MANAGERS = new Set<ActorCategory>(['patient', 'representative']);

function actorRulesSchema(category: ActorCategory): object {
  const properties: Record<string, object> = { modes, read: READ_FORMS[category], seesMaskedIn: modes, create: { type: 'array', items: createRule } };
  if (MANAGERS.has(category)) properties.manage = codes;
  return { type: 'object', required: ['modes', 'read', 'create'], additionalProperties: false, properties };
}

const CATEGORIES = Object.keys(READ_FORMS) as ActorCategory[];

const matrixSchema = {
  type: 'object',
  required: ['source', 'version', 'typeClass', 'classes', 'professions', 'otherProfessions', 'actors', 'resourceClasses', 'directoryTypes'],
  additionalProperties: false,
  properties: {
    source: code,
    version: code,
    notes: { type: 'string' },
    typeClass: code,
    classes: { ...codes, minItems: 1 },
    professions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['label', 'professions', 'read'],
        additionalProperties: false,
        properties: { label: code, professions: { ...codes, minItems: 1 }, specialties: { ...codes, minItems: 1 }, pharmacistSections: { ...codes, minItems: 1 }, read: cells },
      },
    },
    otherProfessions: { type: 'object', required: ['label', 'read'], additionalProperties: false, properties: { label: code, read: cells } },
    actors: {
      type: 'object',
      required: CATEGORIES,
      additionalProperties: false,
      properties: Object.fromEntries(CATEGORIES.map((c) => [c, actorRulesSchema(c)])),
    },
    resourceClasses: {
      type: 'object',
      additionalProperties: {
        oneOf: [
          code,
          {
            type: 'object',
            additionalProperties: false,
            properties: {
              class: code,
              type: code,
              refine: {
                type: 'object',
                required: ['element', 'codes'],
                additionalProperties: false,
                properties: {
                  element: code,
                  codes: { type: 'object', additionalProperties: { type: 'object', additionalProperties: false, properties: { class: code, type: code } } },
                },
              },
            },
          },
        ],
      },
    },
    directoryTypes: codes,
  },
};

const typeClassSchema = {
  type: 'object',
  required: ['source', 'version', 'kinds'],
  additionalProperties: false,
  properties: {
    source: code,
    version: code,
    valueSet: code,
    kinds: {
      type: 'array',
      items: { type: 'object', required: ['kind', 'class', 'types'], additionalProperties: false, properties: { kind: code, class: code, types: codes } },
    },
  },
};

const ajv = new Ajv({ allErrors: true });
const validateMatrix = ajv.compile(matrixSchema);
const validateTypeClass = ajv.compile(typeClassSchema);

function describe(error: ErrorObject): string {
  const params = error.params as { additionalProperty?: string; allowedValues?: unknown[]; allowedValue?: unknown };
  if (error.keyword === 'additionalProperties') return `has an unknown field "${params.additionalProperty}"`;
  if (error.keyword === 'enum') return `must be one of ${params.allowedValues?.map((v) => JSON.stringify(v)).join(', ')}`;
  if (error.keyword === 'const') return `must be ${JSON.stringify(params.allowedValue)}`;
  return error.message ?? 'is invalid';
}

function shapeProblems(errors: ErrorObject[] | null | undefined): string[] {
  // oneOf reports every branch; the branches' own messages are enough to find the typo.
  return (errors ?? []).filter((e) => e.keyword !== 'oneOf').map((e) => `${e.instancePath || '/'} ${describe(e)}`);
}

// ---- meaning (cross-checks the schema cannot express) ----------------------------------------

type RawMatrix = Omit<Habilitations, 'typeClass' | 'typeClassSource' | 'resourceClasses'> & {
  typeClass: string;
  resourceClasses: Record<string, string | Habilitations['resourceClasses'][string]>;
};
type RawTypeClass = { source: string; kinds: { kind: string; class: string; types: string[] }[] };

function typeClassTable(raw: RawTypeClass, classes: Set<string>, problems: string[]): Record<string, string> {
  const table: Record<string, string> = {};
  raw.kinds.forEach((kind, i) => {
    if (!classes.has(kind.class)) problems.push(`/kinds/${i}/class: unknown class ${kind.class}`);
    for (const type of kind.types) {
      if (type in table) problems.push(`/kinds/${i}/types: ${type} is already mapped to class ${table[type]}`);
      table[type] = kind.class;
    }
  });
  return table;
}

function cellProblems(where: string, row: Cells, classes: string[], typeClass: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const c of classes) if (!(c in row)) problems.push(`${where}: no cell for class ${c}`);
  for (const [c, cell] of Object.entries(row)) {
    if (!classes.includes(c)) problems.push(`${where}/${c}: unknown class ${c}`);
    if (typeof cell === 'object') {
      for (const type of cell.types) {
        if (typeClass[type] !== c) problems.push(`${where}/${c}: type ${type} is ${typeClass[type] ? `in class ${typeClass[type]}` : 'not in the type-class table'}`);
      }
    }
  }
  return problems;
}

function qualifiers(row: ProfessionRow): string {
  return [row.specialties ? 'specialties' : '', row.pharmacistSections ? 'pharmacistSections' : ''].join('+');
}

function overlaps(a: string[] | undefined, b: string[] | undefined): boolean {
  return !a || !b || a.some((x) => b.includes(x));
}

/** Two rows that could both be the most specific match for one professional make the matrix ambiguous. */
function ambiguityProblems(rows: ProfessionRow[]): string[] {
  const problems: string[] = [];
  rows.forEach((a, i) =>
    rows.slice(i + 1).forEach((b, k) => {
      const shared = a.professions.filter((p) => b.professions.includes(p));
      const same = qualifiers(a) === qualifiers(b) && overlaps(a.specialties, b.specialties) && overlaps(a.pharmacistSections, b.pharmacistSections);
      if (shared.length && same) problems.push(`/professions/${i + k + 1}: overlaps /professions/${i} for profession ${shared.join(', ')}`);
    }),
  );
  return problems;
}

function meaningProblems(raw: RawMatrix, typeClass: Record<string, string>): string[] {
  const problems: string[] = [];
  const classes = raw.classes;
  raw.professions.forEach((row, i) => problems.push(...cellProblems(`/professions/${i}/read`, row.read, classes, typeClass)));
  problems.push(...cellProblems('/otherProfessions/read', raw.otherProfessions.read, classes, typeClass));
  problems.push(...ambiguityProblems(raw.professions));
  for (const category of CATEGORIES) {
    const rules = raw.actors[category];
    if (typeof rules.read === 'object') problems.push(...cellProblems(`/actors/${category}/read`, rules.read, classes, typeClass));
    rules.create.forEach((rule, i) => {
      for (const c of [...(rule.classes ?? []), ...(rule.exceptClasses ?? [])]) {
        if (!classes.includes(c)) problems.push(`/actors/${category}/create/${i}: unknown class ${c}`);
      }
    });
  }
  for (const [type, rule] of Object.entries(raw.resourceClasses)) {
    const targets = typeof rule === 'string' ? [{ class: rule }] : [rule, ...Object.values(rule.refine?.codes ?? {})];
    for (const t of targets) {
      if (t.class !== undefined && !classes.includes(t.class)) problems.push(`/resourceClasses/${type}: unknown class ${t.class}`);
      if (t.type !== undefined && !(t.type in typeClass)) problems.push(`/resourceClasses/${type}: type ${t.type} is not in the type-class table`);
    }
  }
  for (const type of raw.directoryTypes) {
    if (type in raw.resourceClasses) problems.push(`/directoryTypes: ${type} also has a class in /resourceClasses`);
  }
  return problems;
}

function fail(file: string, problems: string[]): never {
  const shown = problems.slice(0, 10);
  const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
  throw new HabilitationsError(`invalid habilitation data in ${file}:\n  ${shown.join('\n  ')}${more}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Checks already-parsed matrix and type-class documents and returns the matrix the engine uses
 * (frozen). `files` only names the documents in error messages.
 */
export function habilitationsFromJson(matrix: unknown, typeClass: unknown, files = { matrix: 'habilitations.json', typeClass: 'type-class.json' }): Habilitations {
  if (!validateMatrix(matrix)) fail(files.matrix, shapeProblems(validateMatrix.errors));
  if (!validateTypeClass(typeClass)) fail(files.typeClass, shapeProblems(validateTypeClass.errors));
  const raw = matrix as RawMatrix;
  const typeProblems: string[] = [];
  const table = typeClassTable(typeClass as RawTypeClass, new Set(raw.classes), typeProblems);
  if (typeProblems.length) fail(files.typeClass, typeProblems);
  const problems = meaningProblems(raw, table);
  if (problems.length) fail(files.matrix, problems);
  const resourceClasses = Object.fromEntries(Object.entries(raw.resourceClasses).map(([type, rule]) => [type, typeof rule === 'string' ? { class: rule } : rule]));
  return deepFreeze({ ...raw, resourceClasses, typeClass: table, typeClassSource: (typeClass as RawTypeClass).source });
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HabilitationsError(`cannot read habilitation data ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HabilitationsError(`habilitation data ${file} is not JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads and checks a habilitation matrix (default: profiles/habilitations.json) and the
 * type-class table its `typeClass` field names (a path relative to the matrix file).
 * Throws HabilitationsError naming the file and every problem found. Synchronous: start-up only.
 */
export function loadHabilitations(path: string = DEFAULT_HABILITATIONS_PATH): Habilitations {
  const matrixFile = resolve(path);
  const matrix = readJson(matrixFile);
  const typeClassName = (matrix as { typeClass?: unknown } | null)?.typeClass;
  if (typeof typeClassName !== 'string' || typeClassName === '') fail(matrixFile, ['/typeClass must name the type-class table file']);
  const typeClassFile = resolve(dirname(matrixFile), typeClassName);
  return habilitationsFromJson(matrix, readJson(typeClassFile), { matrix: matrixFile, typeClass: typeClassFile });
}

let cached: Habilitations | undefined;

/** The shipped matrix, loaded once (for callers and tests that do not configure another). */
export function defaultHabilitations(): Habilitations {
  cached ??= loadHabilitations();
  return cached;
}
