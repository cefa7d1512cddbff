// ITI-43 Retrieve Document Set: several DocumentRequests in, one MTOM answer out, with a
// DocumentResponse per document found and a RegistryError per one that was not (PartialSuccess).
import type { RegistryError } from './errors.ts';
import { buildRegistryErrorList, registryError } from './errors.ts';
import type { OutgoingMultipart } from './mtom.ts';
import { buildMtomMessage, newContentId } from './mtom.ts';
import { buildSoapEnvelope } from './soap.ts';
import { XDS_TRANSACTIONS } from './transactions.ts';
import type { ResponseStatus } from './vocabulary.ts';
import { NS, RESPONSE_STATUS } from './vocabulary.ts';
import type { XmlBuild, XmlElement } from './xml.ts';
import { child, childrenNamed, el, textOf } from './xml.ts';

export interface DocumentRequest {
  readonly homeCommunityId?: string;
  readonly repositoryUniqueId: string;
  readonly documentUniqueId: string;
}

export interface RetrieveDocumentSetRequest {
  readonly documents: readonly DocumentRequest[];
  readonly issues: readonly RegistryError[];
}

/** Reads xdsb:RetrieveDocumentSetRequest (the SOAP Body child). */
export function parseRetrieveDocumentSetRequest(body: XmlElement): RetrieveDocumentSetRequest {
  const issues: RegistryError[] = [];
  const documents: DocumentRequest[] = [];
  for (const r of childrenNamed(body, NS.xdsb, 'DocumentRequest')) {
    const value = (name: string) => textOf(child(r, NS.xdsb, name)).trim() || undefined;
    const repositoryUniqueId = value('RepositoryUniqueId');
    const documentUniqueId = value('DocumentUniqueId');
    const homeCommunityId = value('HomeCommunityId');
    if (!repositoryUniqueId) issues.push(registryError('XDSRepositoryError', 'a DocumentRequest has no RepositoryUniqueId', documentUniqueId));
    if (!documentUniqueId) issues.push(registryError('XDSDocumentUniqueIdError', 'a DocumentRequest has no DocumentUniqueId'));
    if (repositoryUniqueId && documentUniqueId) {
      documents.push({ repositoryUniqueId, documentUniqueId, ...(homeCommunityId ? { homeCommunityId } : {}) });
    }
  }
  if (documents.length === 0 && issues.length === 0) issues.push(registryError('XDSRepositoryError', 'the request asks for no document'));
  return { documents, issues };
}

/** The error for a DocumentRequest naming another repository. */
export function unknownRepository(request: DocumentRequest): RegistryError {
  return registryError('XDSUnknownRepositoryId', `repository ${request.repositoryUniqueId} is not this repository`, request.documentUniqueId);
}

/** The error for a document this repository does not hold (or may not hand out). */
export function documentNotFound(request: DocumentRequest): RegistryError {
  return registryError('XDSDocumentUniqueIdError', 'no document with this uniqueId is available', request.documentUniqueId);
}

export interface RetrievedDocument {
  readonly request: DocumentRequest;
  readonly mimeType: string;
  readonly body: Uint8Array | AsyncIterable<Uint8Array>;
}

/** Success when every document came, PartialSuccess when some did, Failure when none did. */
export function retrieveStatus(found: number, errors: readonly RegistryError[]): ResponseStatus {
  if (!errors.some((e) => e.severity === 'Error')) return 'Success';
  return found > 0 ? 'PartialSuccess' : 'Failure';
}

/** xdsb:RetrieveDocumentSetResponse; each document's bytes referenced by xop:Include to contentIds[i]. */
export function buildRetrieveDocumentSetResponse(
  documents: readonly { request: DocumentRequest; mimeType: string; contentId: string }[],
  errors: readonly RegistryError[],
): XmlBuild {
  return el(
    'xdsb:RetrieveDocumentSetResponse',
    { 'xmlns:xdsb': NS.xdsb, 'xmlns:rs': NS.rs, 'xmlns:xop': NS.xop },
    el('rs:RegistryResponse', { status: RESPONSE_STATUS[retrieveStatus(documents.length, errors)] }, buildRegistryErrorList(errors)),
    documents.map((d) =>
      el(
        'xdsb:DocumentResponse',
        {},
        d.request.homeCommunityId !== undefined && el('xdsb:HomeCommunityId', {}, d.request.homeCommunityId),
        el('xdsb:RepositoryUniqueId', {}, d.request.repositoryUniqueId),
        el('xdsb:DocumentUniqueId', {}, d.request.documentUniqueId),
        el('xdsb:mimeType', {}, d.mimeType),
        el('xdsb:Document', {}, el('xop:Include', { href: `cid:${encodeURIComponent(d.contentId)}` })),
      ),
    ),
  );
}

/**
 * The whole ITI-43 answer as an MTOM stream: SOAP envelope (response action, RelatesTo) as the
 * root part and one attachment per document, streamed from `body`.
 */
export function retrieveResponseMessage(
  documents: readonly RetrievedDocument[],
  errors: readonly RegistryError[],
  relatesTo?: string,
): OutgoingMultipart {
  const withIds = documents.map((d) => ({ ...d, contentId: newContentId() }));
  const action = XDS_TRANSACTIONS['ITI-43'].responseAction;
  const envelope = buildSoapEnvelope({ action, relatesTo, body: buildRetrieveDocumentSetResponse(withIds, errors) });
  return buildMtomMessage(
    envelope,
    withIds.map((d) => ({ contentId: d.contentId, contentType: d.mimeType, body: d.body })),
    { action },
  );
}
