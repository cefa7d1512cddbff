// ITI-41 Provide and Register Document Set-b, as the Document Repository grouped with the
// Registry: each document streams from the request (MTOM attachment or inline base64) into a
// staged blob while its SHA-1 and size are measured and, for XML documents, its CDA header is
// read; then the metadata is checked against the bytes and the header, and the submission is
// registered in one commit with the documents' Binaries (submit.ts). A failure anywhere leaves
// only staged blobs, which the store reclaims.
import { cdaContradictions, createCdaReader } from '../../../cda/index.ts';
import type { CdaDocument } from '../../../cda/index.ts';
import type { DocumentMeasure } from '../digest.ts';
import { measuring } from '../digest.ts';
import type { RegistryError } from '../errors.ts';
import { hasErrors, registryError } from '../errors.ts';
import type { DocumentEntry } from '../model.ts';
import { attachmentsWanted, checkProvidedDocument, missingAttachments } from '../provide-and-register.ts';
import type { XdsRequest } from '../request.ts';
import { validateSubmission } from '../validate.ts';
import type { Call, XdsService } from './context.ts';
import type { StagedDocument } from './submit.ts';
import { registerSubmission } from './submit.ts';

/** The narrative kept per document for keyword search. */
const NARRATIVE_LIMIT = 64 * 1024;
const XML_TYPES = /^(text|application)\/([\w.+-]+\+)?xml$/i;

type Provide = Extract<XdsRequest, { transaction: 'ITI-41' }>;

interface Received extends StagedDocument {
  readonly measure: DocumentMeasure;
  readonly cda?: CdaDocument;
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of body) void chunk;
}

/** Streams one document into a staged blob, measuring it and reading its CDA header on the way. */
async function stage(svc: XdsService, entry: DocumentEntry, body: AsyncIterable<Uint8Array>): Promise<Received | RegistryError> {
  const measured = measuring(body);
  const contentType = entry.mimeType ?? 'application/octet-stream';
  let cda = XML_TYPES.test(contentType) ? createCdaReader({ maxNarrativeLength: NARRATIVE_LIMIT }) : undefined;
  async function* tee(): AsyncGenerator<Buffer> {
    for await (const chunk of measured.body) {
      if (cda) {
        try {
          cda.write(chunk);
        } catch {
          cda = undefined; // not a CDA document we can read: stored as it is, not checked against
        }
      }
      yield chunk;
    }
  }
  let blobId: string;
  try {
    blobId = (await svc.user.store.putBlob(tee(), { contentType, maxBytes: svc.user.documentLimitBytes })).id;
  } catch (error) {
    if ((error as { code?: string }).code !== 'too-large') throw error;
    await drain(measured.body);
    return registryError('XDSRepositoryError', `the document is larger than this repository accepts (${svc.user.documentLimitBytes} bytes)`, entry.entryUuid);
  }
  let document: CdaDocument | undefined;
  try {
    document = cda?.end();
  } catch {
    document = undefined;
  }
  return { blobId, contentType, measure: measured.result(), ...(document ? { cda: document, narrative: document.narrative } : {}) };
}

export async function provideAndRegister(svc: XdsService, call: Call, request: Provide): Promise<RegistryError[]> {
  const { provide } = request;
  const submission = provide.submission;
  const errors: RegistryError[] = [...provide.issues, ...validateSubmission(submission, { transaction: 'ITI-41', domain: svc.domain })];
  const entries = new Map(submission.documentEntries.map((e) => [e.entryUuid, e]));
  const wanted = attachmentsWanted(provide);
  const received = new Set<string>();
  const staged = new Map<string, Received>();
  const keep = async (id: string, body: AsyncIterable<Uint8Array>) => {
    const entry = entries.get(id);
    if (!entry || hasErrors(errors)) return drain(body);
    const result = await stage(svc, entry, body);
    if ('code' in result) errors.push(result);
    else staged.set(id, result);
  };
  for await (const attachment of request.attachments()) {
    received.add(attachment.contentId);
    const id = wanted.get(attachment.contentId);
    if (id === undefined) {
      errors.push(registryError('XDSMissingDocumentMetadata', 'an MTOM attachment is referenced by no Document element', attachment.contentId));
      await drain(attachment.body);
      continue;
    }
    await keep(id, attachment.body);
  }
  errors.push(...missingAttachments(provide, received));
  for (const d of provide.documents) if (d.content.kind === 'inline') await keep(d.id, once(d.content.bytes));
  if (hasErrors(errors)) return errors;

  for (const [i, entry] of submission.documentEntries.entries()) {
    const document = staged.get(entry.entryUuid);
    if (!document) continue;
    const checked = checkProvidedDocument(entry, document.measure, svc.repositoryUniqueId);
    errors.push(...checked.errors);
    if (document.cda) errors.push(...cdaContradictions(document.cda.header, checked.entry));
    submission.documentEntries[i] = checked.entry;
  }
  return registerSubmission(svc, call, submission, 'ITI-41', staged, errors);
}
