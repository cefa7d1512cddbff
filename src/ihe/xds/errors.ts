// XDS error codes as data (ITI TF-3 Table 4.2.4.1-2, with the Metadata Update, RMD and stored
// query additions) and the RegistryResponse that carries them.
//
// codeContext is written for the sender's engineers: it names the object (entryUUID or symbolic
// id) and the attribute at fault, and never echoes patient identifiers or demographics (answers
// and the logs that may quote them stay free of health data).
import type { ErrorSeverity, ResponseStatus } from './vocabulary.ts';
import { ERROR_SEVERITY, NS, RESPONSE_STATUS } from './vocabulary.ts';
import type { XmlBuild } from './xml.ts';
import { el } from './xml.ts';

export interface ErrorCodeInfo {
  readonly description: string;
  /** Which actor raises it, for the integration statement and for choosing among near twins. */
  readonly raisedBy: 'registry' | 'repository' | 'either';
  readonly severity: ErrorSeverity;
}

export const XDS_ERROR_CODES = {
  XDSRegistryMetadataError: { raisedBy: 'registry', severity: 'Error', description: 'Error detected in the metadata: missing or malformed attribute, wrong object structure.' },
  XDSRepositoryMetadataError: { raisedBy: 'repository', severity: 'Error', description: 'Error detected in the metadata by the repository (uniqueId, mimeType, hash or size of a provided document).' },
  XDSPatientIdDoesNotMatch: { raisedBy: 'registry', severity: 'Error', description: 'The patient id differs between objects of the submission, or from the object an association points to, or from the document content.' },
  XDSUnknownPatientId: { raisedBy: 'registry', severity: 'Error', description: 'The patient id is not known to the registry (no identity feed for it, or an assigning authority outside the affinity domain).' },
  XDSDuplicateUniqueIdInRegistry: { raisedBy: 'registry', severity: 'Error', description: 'A uniqueId in the submission is already used by another object in the registry.' },
  XDSRegistryDuplicateUniqueIdInMessage: { raisedBy: 'registry', severity: 'Error', description: 'The same uniqueId appears on two objects of the submission.' },
  XDSRepositoryDuplicateUniqueIdInMessage: { raisedBy: 'repository', severity: 'Error', description: 'Two documents of the submission carry the same uniqueId.' },
  XDSNonIdenticalHash: { raisedBy: 'registry', severity: 'Error', description: 'The document uniqueId is already registered with a different hash.' },
  XDSNonIdenticalSize: { raisedBy: 'registry', severity: 'Error', description: 'The document uniqueId is already registered with a different size.' },
  XDSMissingDocument: { raisedBy: 'repository', severity: 'Error', description: 'A DocumentEntry has no document attached to the request.' },
  XDSMissingDocumentMetadata: { raisedBy: 'repository', severity: 'Error', description: 'A document was attached without a DocumentEntry describing it.' },
  XDSUnknownRepositoryId: { raisedBy: 'repository', severity: 'Error', description: 'The repositoryUniqueId of a retrieve request is not this repository.' },
  XDSDocumentUniqueIdError: { raisedBy: 'repository', severity: 'Error', description: 'No document with this uniqueId is available in the repository.' },
  XDSRegistryDeprecatedDocumentError: { raisedBy: 'registry', severity: 'Error', description: 'An association points to a deprecated document.' },
  XDSExtraMetadataNotSaved: { raisedBy: 'registry', severity: 'Warning', description: 'Extra metadata was present but not saved.' },
  XDSRegistryError: { raisedBy: 'registry', severity: 'Error', description: 'Internal registry error, or a request the registry cannot process (malformed query value).' },
  XDSRepositoryError: { raisedBy: 'repository', severity: 'Error', description: 'Internal repository error.' },
  XDSRegistryBusy: { raisedBy: 'registry', severity: 'Error', description: 'The registry is too busy to process the request; try later.' },
  XDSRepositoryBusy: { raisedBy: 'repository', severity: 'Error', description: 'The repository is too busy to process the request; try later.' },
  XDSRegistryOutOfResources: { raisedBy: 'registry', severity: 'Error', description: 'The registry lacks the resources to process the request.' },
  XDSRepositoryOutOfResources: { raisedBy: 'repository', severity: 'Error', description: 'The repository lacks the resources to process the request.' },
  XDSRegistryNotAvailable: { raisedBy: 'repository', severity: 'Error', description: 'The repository could not reach the registry.' },
  XDSTooManyResults: { raisedBy: 'registry', severity: 'Error', description: 'The query would return more results than the registry allows.' },
  XDSResultNotSinglePatient: { raisedBy: 'registry', severity: 'Error', description: 'The query results would span more than one patient.' },
  XDSStoredQueryParamNumber: { raisedBy: 'registry', severity: 'Error', description: 'A single-valued parameter has several values, or exclusive parameters were given together (or neither).' },
  XDSStoredQueryMissingParam: { raisedBy: 'registry', severity: 'Error', description: 'A required parameter of the stored query is missing.' },
  XDSUnknownStoredQuery: { raisedBy: 'registry', severity: 'Error', description: 'The stored query id is not known to the registry.' },
  XDSUnknownCommunity: { raisedBy: 'registry', severity: 'Error', description: 'The homeCommunityId is not known.' },
  XDSMetadataUpdateError: { raisedBy: 'registry', severity: 'Error', description: 'A metadata update could not be applied.' },
  XDSMetadataUpdateOperationError: { raisedBy: 'registry', severity: 'Error', description: 'The metadata update asks for an operation the registry does not allow.' },
  XDSMetadataVersionError: { raisedBy: 'registry', severity: 'Error', description: 'The PreviousVersion of an update is not the latest version.' },
  XDSMetadataIdentifierError: { raisedBy: 'registry', severity: 'Error', description: 'The logicalId or uniqueId of an update does not match the object being updated.' },
  XDSPatientIDReconciliationError: { raisedBy: 'registry', severity: 'Error', description: 'A patient id change was asked through a metadata update.' },
  UnresolvedReferenceException: { raisedBy: 'registry', severity: 'Error', description: 'An object referenced by the request does not exist in the registry.' },
  ReferencesExistException: { raisedBy: 'registry', severity: 'Error', description: 'The object cannot be removed while other objects refer to it.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type XdsErrorCode = keyof typeof XDS_ERROR_CODES;

export interface RegistryError {
  readonly code: XdsErrorCode;
  /** What went wrong, for a human at the sending side. */
  readonly codeContext: string;
  /** Where: the object id (entryUUID or symbolic id), optionally with the attribute. */
  readonly location?: string;
  readonly severity: ErrorSeverity;
}

export function registryError(code: XdsErrorCode, codeContext: string, location?: string, severity?: ErrorSeverity): RegistryError {
  return { code, codeContext, ...(location ? { location } : {}), severity: severity ?? XDS_ERROR_CODES[code].severity };
}

export function hasErrors(errors: readonly RegistryError[]): boolean {
  return errors.some((e) => e.severity === 'Error');
}

/**
 * The response status for a set of errors. Submissions are all or nothing: any Error means
 * Failure. Queries and retrieves that still return something are PartialSuccess (`partial`).
 */
export function responseStatusFor(errors: readonly RegistryError[], options: { somethingReturned?: boolean } = {}): ResponseStatus {
  if (!hasErrors(errors)) return 'Success';
  return options.somethingReturned ? 'PartialSuccess' : 'Failure';
}

export function buildRegistryErrorList(errors: readonly RegistryError[]): XmlBuild | undefined {
  if (errors.length === 0) return undefined;
  const worst = hasErrors(errors) ? 'Error' : 'Warning';
  return el(
    'rs:RegistryErrorList',
    { highestSeverity: ERROR_SEVERITY[worst] },
    errors.map((e) =>
      el('rs:RegistryError', {
        errorCode: e.code,
        codeContext: e.codeContext,
        location: e.location,
        severity: ERROR_SEVERITY[e.severity],
      }),
    ),
  );
}

/** rs:RegistryResponse, the answer of ITI-41, ITI-42, ITI-57 and ITI-62. */
export function buildRegistryResponse(errors: readonly RegistryError[] = [], status?: ResponseStatus): XmlBuild {
  return el(
    'rs:RegistryResponse',
    { 'xmlns:rs': NS.rs, status: RESPONSE_STATUS[status ?? responseStatusFor(errors)] },
    buildRegistryErrorList(errors),
  );
}

/** A Failure answer for a request that could not be processed at all (internal error, busy…). */
export function failureResponse(code: XdsErrorCode, codeContext: string): XmlBuild {
  return buildRegistryResponse([registryError(code, codeContext)], 'Failure');
}
