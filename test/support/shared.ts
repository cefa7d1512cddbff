// The team's shared test material (../shared beside the clone: FHIR examples, IHE sample
// messages, French reference data). On a developer's clone without it, tests that need it
// say so and skip; under CI (CI=true) its absence is an error, never a silent skip.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHARED_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared');

const underCI = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/**
 * Path of a file or folder inside shared/, or undefined when shared/ is absent locally
 * (the caller then skips with `sharedMissingReason`). Throws under CI.
 */
export function sharedPath(...parts: string[]): string | undefined {
  const path = join(SHARED_DIR, ...parts);
  if (existsSync(path)) return path;
  if (underCI) throw new Error(`shared test material missing under CI: ${path}`);
  return undefined;
}

export const sharedMissingReason = `shared/ not found at ${SHARED_DIR} (it lies beside the clone in CI)`;
