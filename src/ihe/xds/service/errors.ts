// How refusals of the repository (the FHIR layer's OperationOutcomeErrors) become XDS errors.
//
// Access refusals are RegistryErrors, not SOAP faults: the request was understood, the registry
// declines it. They use XDSRegistryError (XDS defines no access code) with a codeContext that
// starts with "access denied", and say nothing about what is hidden: a document the caller may
// not see is answered exactly like one that does not exist.
import { OperationOutcomeError } from '../../../fhir/index.ts';
import type { RegistryError } from '../errors.ts';
import { registryError } from '../errors.ts';

export const ACCESS_DENIED = 'access denied';

/** A transaction that stops with these errors (nothing is stored). */
export class XdsRefusal extends Error {
  readonly errors: readonly RegistryError[];
  constructor(errors: readonly RegistryError[]) {
    super(errors.map((e) => e.code).join(', '));
    this.name = 'XdsRefusal';
    this.errors = errors;
  }
}

export function accessDenied(what: string, location?: string): RegistryError {
  return registryError('XDSRegistryError', `${ACCESS_DENIED}: ${what}`, location);
}

/**
 * A repository error as the RegistryError of the transaction; `what` says what was being done
 * ("register the submission", "search the dossier"). Errors that are not the repository's are
 * rethrown (the route answers them with a Receiver fault).
 */
export function fromRepositoryError(error: unknown, what: string, location?: string): RegistryError {
  if (error instanceof XdsRefusal) return error.errors[0];
  if (!(error instanceof OperationOutcomeError)) throw error;
  const diagnostics = error.issues.find((i) => i.diagnostics)?.diagnostics;
  switch (error.status) {
    case 401:
    case 403:
    case 404:
    case 410:
      return accessDenied(`the caller may not ${what}`, location);
    case 409:
      return registryError('XDSRegistryMetadataError', 'an object with this entryUUID is already in the registry', location);
    case 412:
      return registryError('XDSRegistryError', 'the registry changed while the request was processed: send it again', location);
    case 413:
      return registryError('XDSRepositoryError', diagnostics ?? 'too large', location);
    case 422:
      // The metadata mapped to FHIR breaks a FHIR rule (a profile, a value the FHIR side needs).
      return registryError('XDSRegistryMetadataError', `the metadata cannot be stored: ${(diagnostics ?? 'invalid').slice(0, 300)}`, location);
    case 400:
      return registryError('XDSRegistryError', `the registry cannot ${what}: ${(diagnostics ?? 'invalid request').slice(0, 300)}`, location);
    case 503:
      return registryError('XDSRegistryBusy', 'the database is unavailable; try again', location);
    default:
      throw error;
  }
}

/** Runs a repository call, turning its refusal into an XdsRefusal. */
export async function guarded<T>(what: string, run: () => Promise<T>, location?: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof XdsRefusal) throw error;
    throw new XdsRefusal([fromRepositoryError(error, what, location)]);
  }
}
