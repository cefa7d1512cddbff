// ITI-41 Provide and Register Document Set-b (repository side): the request is a
// SubmitObjectsRequest plus one <Document id="…"> per DocumentEntry, each holding base64 text or
// an xop:Include pointing at an MTOM attachment.
//
// Parsing pairs documents with entries (XDSMissingDocument / XDSMissingDocumentMetadata) and says
// which attachments the caller must stream, without touching any bytes of the attachments.
import { parseSubmitObjectsRequest } from './ebrim.ts';
import type { RegistryError } from './errors.ts';
import { registryError } from './errors.ts';
import type { DocumentMeasure } from './digest.ts';
import type { DocumentEntry, RegistryObjects } from './model.ts';
import type { DocumentContent } from './mtom.ts';
import { documentContent } from './mtom.ts';
import { NS } from './vocabulary.ts';
import type { XmlElement } from './xml.ts';
import { attr, child, childrenNamed } from './xml.ts';

export interface ProvidedDocument {
  /** The Document/@id, which is the id of its DocumentEntry in the submission. */
  readonly id: string;
  readonly content: DocumentContent;
}

export interface ProvideAndRegisterRequest {
  readonly submission: RegistryObjects;
  readonly documents: readonly ProvidedDocument[];
  /** Structural problems found while reading (RegistryErrors for the answer). */
  readonly issues: readonly RegistryError[];
}

/** Reads xdsb:ProvideAndRegisterDocumentSetRequest (the SOAP Body child). */
export function parseProvideAndRegisterRequest(body: XmlElement): ProvideAndRegisterRequest {
  const issues: RegistryError[] = [];
  const submit = child(body, NS.lcm, 'SubmitObjectsRequest');
  if (!submit) {
    return {
      submission: { submissionSets: [], documentEntries: [], folders: [], associations: [] },
      documents: [],
      issues: [registryError('XDSRepositoryMetadataError', 'ProvideAndRegisterDocumentSetRequest without lcm:SubmitObjectsRequest')],
    };
  }
  const parsed = parseSubmitObjectsRequest(submit);
  issues.push(...parsed.issues);
  const documents: ProvidedDocument[] = [];
  const ids = new Set<string>();
  for (const d of childrenNamed(body, NS.xdsb, 'Document')) {
    const id = attr(d, 'id');
    if (!id) {
      issues.push(registryError('XDSRepositoryMetadataError', 'a Document element has no id attribute'));
      continue;
    }
    if (ids.has(id)) {
      issues.push(registryError('XDSRepositoryMetadataError', 'two Document elements share this id', id));
      continue;
    }
    ids.add(id);
    const content = documentContent(d);
    if (!content) {
      issues.push(registryError('XDSRepositoryMetadataError', 'the Document holds neither valid base64 nor an xop:Include with a cid: reference', id));
      continue;
    }
    documents.push({ id, content });
  }
  const entryIds = new Set(parsed.objects.documentEntries.map((e) => e.entryUuid));
  for (const e of parsed.objects.documentEntries) {
    if (!ids.has(e.entryUuid)) issues.push(registryError('XDSMissingDocument', 'no Document element for this DocumentEntry', e.entryUuid));
  }
  for (const id of ids) {
    if (!entryIds.has(id)) issues.push(registryError('XDSMissingDocumentMetadata', 'no DocumentEntry describes this Document', id));
  }
  return { submission: parsed.objects, documents, issues };
}

/**
 * Content-ID → Document id for the documents sent as MTOM attachments: the caller streams each
 * attachment to the blob store under its document, and reports an unexpected one or a missing
 * one (missingAttachments) as XDSMissingDocument.
 */
export function attachmentsWanted(request: ProvideAndRegisterRequest): Map<string, string> {
  const wanted = new Map<string, string>();
  for (const d of request.documents) if (d.content.kind === 'attachment') wanted.set(d.content.contentId, d.id);
  return wanted;
}

/** Errors for xop:Include references no attachment answered (call after reading all attachments). */
export function missingAttachments(request: ProvideAndRegisterRequest, receivedContentIds: ReadonlySet<string>): RegistryError[] {
  return request.documents
    .filter((d) => d.content.kind === 'attachment' && !receivedContentIds.has(d.content.contentId))
    .map((d) => registryError('XDSMissingDocument', 'the xop:Include of this Document names no attachment of the message', d.id));
}

/**
 * Compares what the source said about a document with the bytes received (TF-2 3.41.4.1.3:
 * a mismatch is XDSRepositoryMetadataError), and returns the entry completed with what the
 * repository must add before registering it (hash, size, repositoryUniqueId).
 */
export function checkProvidedDocument(entry: DocumentEntry, measured: DocumentMeasure, repositoryUniqueId: string): { errors: RegistryError[]; entry: DocumentEntry } {
  const errors: RegistryError[] = [];
  if (entry.hash !== undefined && entry.hash.toLowerCase() !== measured.sha1) {
    errors.push(registryError('XDSRepositoryMetadataError', 'DocumentEntry.hash does not match the SHA-1 of the document received', entry.entryUuid));
  }
  if (entry.size !== undefined && entry.size !== String(measured.size)) {
    errors.push(registryError('XDSRepositoryMetadataError', 'DocumentEntry.size does not match the size of the document received', entry.entryUuid));
  }
  return { errors, entry: { ...entry, hash: measured.sha1, size: String(measured.size), repositoryUniqueId } };
}
