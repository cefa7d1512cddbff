// Code system names that mean the same system. French code systems come either as NOS canonical
// URLs (https://mos.esante.gouv.fr/NOS/...) or as `urn:oid:` systems, HL7 ones as their URI or
// their OID: codes are indexed, searched and validated after mapping each system to the first
// name of its row in profiles/code-system-aliases.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES_DIR } from './definitions.ts';

let canonicalOf: Map<string, string> | undefined;

function load(): Map<string, string> {
  const { systems } = JSON.parse(readFileSync(join(PROFILES_DIR, 'code-system-aliases.json'), 'utf8')) as { systems: string[][] };
  return new Map(systems.flatMap((names) => names.map((n) => [n, names[0]] as [string, string])));
}

/** The name a code system is compared under (itself when it has no alias). */
export function canonicalSystem(system: string): string {
  canonicalOf ??= load();
  return canonicalOf.get(system) ?? system;
}

/** Whether two system names denote the same code system. */
export function sameSystem(a: string, b: string): boolean {
  return canonicalSystem(a) === canonicalSystem(b);
}
