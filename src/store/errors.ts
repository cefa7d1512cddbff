// Store errors carry a code the protocol layers map to their own format
// (FHIR: 409/412/404/410/503; XDS: RegistryError codes).

export type StoreErrorCode =
  /** ifVersion did not match, or a concurrent writer won the same version. */
  | 'version-conflict'
  /** create of an id that already exists. */
  | 'already-exists'
  /** a blob grew past PutBlobOptions.maxBytes. */
  | 'too-large'
  /** the database cannot be reached or refused the operation for a transient reason. */
  | 'unavailable'
  /** a bad cursor or query shape. */
  | 'bad-request';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}
