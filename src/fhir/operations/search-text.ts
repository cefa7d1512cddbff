// Patient/{id}/$search-text?q=…: keyword search across the documents of one dossier, over what
// the actor may see. Words are looked for in each DocumentReference's type, description and
// attachment titles; for CDA documents, in the title and narrative of the CDA itself (read with
// src/cda); for PDF documents (a patient's $upload, or any attachment of type application/pdf),
// in the text the PDF carries (read with src/pdf: unpdf, that is PDF.js, in a worker thread).
// A PDF without a text layer (a scan), a broken or password-protected one, or one over the
// limits (20 MiB, 500 pages, 15 s) is searched by its metadata only; it never fails the search.
//
// How the gate applies: the candidate documents are the actor's own search of the dossier's
// DocumentReferences (repository.search), so a document hidden from the actor is never even
// looked at, and the answer (matches and total) counts only visible ones. The bytes of a visible
// document's attachment are read because the document is visible.
//
// Cost: one dossier's documents are scanned (through the index on the dossier, never the whole
// collection), and each document version's text is extracted once, then kept in an internal
// record (DOCUMENT_TEXT_TYPE), which the dossier's purge removes with it. A PDF that could not
// be read is kept as read (metadata only), so a hostile one costs its time budget once; only
// when the PDF reader itself could not start is nothing kept, so a later search tries again.
// Nothing of a document's text is logged. A write-time index of words (FHIR `_content`) would
// avoid the scan; it belongs to the search index extraction.
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { CdaError, createCdaReader } from '../../cda/index.ts';
import { isPdfType, PDF_LIMITS, pdfText } from '../../pdf/index.ts';
import { indexKey, type Store, type StoredVersion } from '../../store/index.ts';
import type { RequestContext } from '../gate.ts';
import { OperationOutcomeError } from '../operation-outcome.ts';
import { searchsetBundle } from '../present.ts';
import { blobOf, type FhirRepository } from '../repository.ts';
import type { OperationHttp } from './everything.ts';
import { splitWords } from '../search/words.ts';
import { binaryIdOf, DOCUMENT_TEXT_TYPE } from './patient-data.ts';

const DEFAULT_COUNT = 50;
const MAX_COUNT = 200;
/** Documents of one dossier looked at, at most. */
const MAX_DOCUMENTS = 5000;
/** CDA documents larger than this are searched by their metadata only. */
const MAX_CDA_BYTES = 20 * 1024 * 1024;
const CDA_TYPES = /^(text\/xml|application\/xml|application\/hl7-v3\+xml|application\/cda\+xml)\b/i;
/** Bumped when the extraction changes, so older cached texts are rebuilt (2: text of PDFs). */
const TEXT_VERSION = 2;

type Json = Record<string, unknown>;

/** Every term is the start of some word of the text (so "diab" finds "diabète"). */
export function matchesAll(words: ReadonlySet<string> | readonly string[], terms: readonly string[]): boolean {
  const list = [...words];
  return terms.every((t) => list.some((w) => w.startsWith(t)));
}

function conceptTexts(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.flatMap((c: { text?: string; coding?: { display?: string }[] }) => [c?.text, ...(c?.coding ?? []).map((x) => x.display)]).filter((t): t is string => typeof t === 'string');
}

/** The searchable metadata of a DocumentReference. */
export function metadataText(doc: Json): string {
  const attachments = ((doc.content as { attachment?: { title?: string } }[] | undefined) ?? []).map((c) => c.attachment?.title);
  const context = doc.context as { event?: unknown } | undefined;
  return [...conceptTexts(doc.type), ...conceptTexts(doc.category), doc.description as string | undefined, ...attachments, ...conceptTexts(context?.event)]
    .filter((t): t is string => typeof t === 'string' && t !== '')
    .join('\n');
}

type Attachment = { contentType?: string; url?: string; data?: string };

/** The stored blob of an attachment's Binary, when there is one. */
async function binaryBlob(store: Store, attachment: Attachment): Promise<{ blob: string; size: number } | undefined> {
  const binaryId = binaryIdOf(attachment.url);
  const binary = binaryId ? await store.read('Binary', binaryId) : undefined;
  const blob = binary?.resource && !binary.deleted ? blobOf(binary.resource) : undefined;
  const info = blob ? await store.blobInfo(blob) : undefined;
  return blob && info ? { blob, size: info.size } : undefined;
}

async function cdaText(store: Store, attachment: Attachment): Promise<string> {
  const reader = createCdaReader();
  try {
    if (typeof attachment.data === 'string') {
      reader.write(Buffer.from(attachment.data, 'base64'));
    } else {
      const found = await binaryBlob(store, attachment);
      if (!found || found.size > MAX_CDA_BYTES) return '';
      for await (const chunk of (await store.readBlob(found.blob)) as Readable) reader.write(chunk as Buffer);
    }
    const cda = reader.end();
    return [cda.header.title, cda.narrative].filter(Boolean).join('\n');
  } catch (e) {
    if (e instanceof CdaError) return ''; // not a readable CDA: its metadata still counts
    throw e;
  }
}

/** The text of a PDF attachment; cacheable is false when the PDF reader could not start. */
async function pdfAttachmentText(store: Store, attachment: Attachment): Promise<{ text: string; cacheable: boolean }> {
  let bytes: Buffer;
  if (typeof attachment.data === 'string') {
    if (attachment.data.length > (PDF_LIMITS.maxBytes / 3) * 4 + 4) return { text: '', cacheable: true };
    bytes = Buffer.from(attachment.data, 'base64');
  } else {
    const found = await binaryBlob(store, attachment);
    if (!found || found.size > PDF_LIMITS.maxBytes) return { text: '', cacheable: true };
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of (await store.readBlob(found.blob)) as Readable) {
      size += (chunk as Buffer).length;
      if (size > PDF_LIMITS.maxBytes) return { text: '', cacheable: true };
      chunks.push(chunk as Buffer);
    }
    bytes = Buffer.concat(chunks);
  }
  const { text, outcome } = await pdfText(bytes);
  return { text, cacheable: outcome !== 'unavailable' };
}

/** The text of one document version: from the cache, else extracted and cached. */
async function documentText(store: Store, patientId: string, doc: StoredVersion): Promise<string> {
  const id = createHash('sha256').update(`${TEXT_VERSION}:${doc.type}/${doc.id}/${doc.versionId}`).digest('hex');
  const cached = await store.read(DOCUMENT_TEXT_TYPE, id);
  if (cached?.resource && !cached.deleted) return String((cached.resource.record as { text?: string }).text ?? '');
  const body = doc.resource as Json;
  const parts = [metadataText(body)];
  let cacheable = true;
  for (const c of (body.content as { attachment?: Attachment }[] | undefined) ?? []) {
    if (c.attachment && CDA_TYPES.test(c.attachment.contentType ?? '')) parts.push(await cdaText(store, c.attachment));
    else if (c.attachment && isPdfType(c.attachment.contentType)) {
      const pdf = await pdfAttachmentText(store, c.attachment);
      parts.push(pdf.text);
      cacheable &&= pdf.cacheable;
    }
  }
  const text = parts.filter(Boolean).join('\n');
  if (!cacheable) return text;
  const record = { resourceType: DOCUMENT_TEXT_TYPE, record: { text, document: `${doc.type}/${doc.id}`, versionId: doc.versionId } };
  // A cache: a failure to keep it only costs the next search the extraction again.
  await store.commit({ writes: [{ op: 'update', type: DOCUMENT_TEXT_TYPE, id, resource: record, index: [{ param: 'patient', value: indexKey('exact', patientId) }] }] }).catch(() => undefined);
  return text;
}

export async function searchText(repository: FhirRepository, ctx: RequestContext, patientId: string, query: string, count: number): Promise<{ matches: StoredVersion[]; total: number }> {
  const terms = splitWords(query);
  if (terms.length === 0) throw new OperationOutcomeError(400, [{ severity: 'error', code: 'required', diagnostics: 'q must hold at least one word', expression: ['q'] }]);
  await repository.read(ctx, 'Patient', patientId);
  const matches: StoredVersion[] = [];
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await repository.search({ ...ctx, strict: true }, 'DocumentReference', [['patient', patientId], ['_count', '500'], ...(cursor ? [['_cursor', cursor] as [string, string]] : [])], { audited: false });
    for (const doc of page.matches) {
      if (matchesAll(new Set(splitWords(await documentText(repository.store, patientId, doc))), terms)) matches.push(doc);
    }
    seen += page.matches.length;
    cursor = page.next;
  } while (cursor && seen < MAX_DOCUMENTS);
  await repository.recordSearch(ctx, { type: 'DocumentReference', patientId, operation: '$search-text' });
  const dateOf = (v: StoredVersion) => String((v.resource as Json).date ?? v.lastUpdated);
  matches.sort((a, b) => dateOf(b).localeCompare(dateOf(a)));
  return { matches: matches.slice(0, count), total: matches.length };
}

export function searchTextRoutes(app: FastifyInstance, repository: FhirRepository, http: OperationHttp): void {
  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$search-text', async (request, reply) => {
    const ctx = http.contextOf(request);
    repository.checkId(request.params.id);
    const q = request.url.indexOf('?');
    const params = new URLSearchParams(q === -1 ? '' : request.url.slice(q + 1));
    const rawCount = params.get('_count');
    const count = rawCount === null ? DEFAULT_COUNT : Number(rawCount);
    if (!Number.isInteger(count) || count < 1) throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: '_count must be a whole number above 0', expression: ['_count'] }]);
    const result = await searchText(repository, ctx, request.params.id, params.get('q') ?? '', Math.min(count, MAX_COUNT));
    const self = `${ctx.baseUrl}/Patient/${request.params.id}/$search-text?${params.toString()}`;
    return http.send(request, reply, 200, searchsetBundle({ baseUrl: ctx.baseUrl, selfUrl: self, total: result.total, matches: result.matches, included: [], shape: {}, warnings: [] }));
  });
}

