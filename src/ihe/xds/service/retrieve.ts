// ITI-43 Retrieve Document Set: each requested document is found by uniqueId through the
// caller's gate, then its Binary is read through the gate too (a Binary follows its
// DocumentReference), and its bytes stream from the blob area into the MTOM answer. A document
// the caller may not see is answered exactly like one this repository does not hold
// (XDSDocumentUniqueIdError); the others still come (PartialSuccess).
import type { Readable } from 'node:stream';
import type { DocumentReference } from '@medplum/fhirtypes';
import { blobOf, OperationOutcomeError } from '../../../fhir/index.ts';
import type { RegistryError } from '../errors.ts';
import type { DocumentRequest, RetrievedDocument, RetrieveDocumentSetRequest } from '../retrieve.ts';
import { documentNotFound, unknownRepository } from '../retrieve.ts';
import { STATUS } from '../vocabulary.ts';
import type { Call, XdsService } from './context.ts';
import { latest } from './facts.ts';
import { localBinaryId, View, type Item } from './view.ts';

async function* blobBytes(svc: XdsService, blobId: string): AsyncGenerator<Uint8Array> {
  const stream = await svc.user.store.readBlob(blobId);
  if (!stream) throw new Error('a document blob disappeared while it was being sent');
  yield* stream as Readable;
}

async function one(svc: XdsService, view: View, call: Call, request: DocumentRequest, found: readonly Item[]): Promise<RetrievedDocument | RegistryError> {
  if (request.repositoryUniqueId !== svc.repositoryUniqueId) return unknownRepository(request);
  const versions = found.filter((i) => {
    const c = view.convert(i);
    return c.kind === 'DocumentEntry' && c.object.uniqueId === request.documentUniqueId && (c.object.repositoryUniqueId === undefined || c.object.repositoryUniqueId === svc.repositoryUniqueId);
  });
  // Every version of an entry shares the document: the current one says how to serve it.
  const approved = versions.filter((i) => view.convert(i).object.availabilityStatus === STATUS.approved);
  const item = latest(view, approved.length > 0 ? approved : versions);
  const url = item ? (item.resource as unknown as DocumentReference).content?.[0]?.attachment?.url : undefined;
  const binaryId = localBinaryId(url, call.ctx.baseUrl);
  if (!item || !binaryId) return documentNotFound(request);
  let binary;
  try {
    binary = await svc.user.read(call.ctx, 'Binary', binaryId);
  } catch (error) {
    if (error instanceof OperationOutcomeError && (error.status === 404 || error.status === 410)) return documentNotFound(request);
    throw error;
  }
  const blobId = blobOf(binary.resource);
  if (!blobId || !(await svc.user.store.blobInfo(blobId))) return documentNotFound(request);
  const entry = view.convert(item).object as { mimeType?: string };
  const mimeType = entry.mimeType ?? String((binary.resource as { contentType?: string } | undefined)?.contentType ?? 'application/octet-stream');
  return { request, mimeType, body: blobBytes(svc, blobId) };
}

export async function retrieveDocumentSet(svc: XdsService, call: Call, request: RetrieveDocumentSetRequest): Promise<{ documents: RetrievedDocument[]; errors: RegistryError[] }> {
  const view = new View(svc, call);
  const documents: RetrievedDocument[] = [];
  const errors: RegistryError[] = [...request.issues];
  // One lookup for the whole set, not one per document.
  const held = request.documents.filter((r) => r.repositoryUniqueId === svc.repositoryUniqueId).map((r) => r.documentUniqueId);
  const candidates = await view.byUniqueIds([...new Set(held)], 'DocumentReference');
  for (const r of request.documents) {
    const found = await one(svc, view, call, r, candidates);
    if ('code' in found) errors.push(found);
    else documents.push(found);
  }
  return { documents, errors };
}
