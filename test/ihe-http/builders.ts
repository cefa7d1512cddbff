// Requests built for the HTTP tests from the protocol layer's own model and writers: fr-dmp
// submissions with fresh uniqueIds and patients, wrapped as ITI-41 (inline or MTOM), ITI-42,
// ITI-57 and ITI-62 messages.
import { createHash, randomUUID } from 'node:crypto';
import type { Association, DocumentEntry, RegistryObjects } from '../../src/ihe/xds/index.ts';
import { buildMtomMessage, buildSubmitObjectsRequest, NS, serializeXml } from '../../src/ihe/xds/index.ts';
import { collect, frDmpSubmission } from '../ihe/fixtures.ts';
import { soapEnvelope } from './support.ts';

export const ACTIONS = {
  iti41: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
  iti42: 'urn:ihe:iti:2007:RegisterDocumentSet-b',
  iti43: 'urn:ihe:iti:2007:RetrieveDocumentSet',
  iti57: 'urn:ihe:iti:2010:UpdateDocumentSet',
  iti62: 'urn:ihe:iti:2010:DeleteDocumentSet',
} as const;

export const INS_TEST_AUTHORITY = '1.2.250.1.213.1.4.10';
export const REPOSITORY = '1.2.250.1.999.1.9';

let sequence = 0;
const run = String(Date.now() % 100000);

/** A fresh valid test INS (NIR with its key). */
export function newIns(): string {
  sequence += 1;
  const base = `1800175${String(Number(run) % 1000).padStart(3, '0')}${String(sequence % 1000).padStart(3, '0')}`;
  const key = 97n - (BigInt(base) % 97n);
  return `${base}${String(key).padStart(2, '0')}`;
}

export const cxOf = (ins: string) => `${ins}^^^&${INS_TEST_AUTHORITY}&ISO^NH`;

/** A fresh OID under the example arc. */
export function newOid(): string {
  sequence += 1;
  return `1.2.250.1.999.7.${run}.${sequence}`;
}

export interface DocumentOptions {
  typeCode?: string;
  classCode?: string;
  confidentiality?: string[];
  creationTime?: string;
  /** RPPS-holder author (PS_IdNat 8 + RPPS). */
  authorRpps?: string;
  eventCodes?: { code: string; codingScheme: string }[];
  referenceIds?: string[];
}

/** A PDF DocumentEntry for `patient` (a CX) with fresh uniqueId. */
export function documentEntry(id: string, patient: string, bytes: Buffer, options: DocumentOptions = {}): DocumentEntry {
  const base = frDmpSubmission().documentEntries[0];
  const author = base.authors[0];
  return {
    ...base,
    entryUuid: id,
    uniqueId: newOid(),
    patientId: patient,
    mimeType: 'application/pdf',
    formatCode: { code: 'urn:ihe:iti:xds-sd:pdf:2008', codingScheme: '1.3.6.1.4.1.19376.1.2.3' },
    typeCode: { code: options.typeCode ?? '11490-0', codingScheme: '2.16.840.1.113883.6.1' },
    classCode: { code: options.classCode ?? '10', codingScheme: '1.2.250.1.213.1.1.4.1' },
    confidentialityCodes: [
      { code: 'N', codingScheme: '2.16.840.1.113883.5.25' },
      ...(options.confidentiality ?? []).map((code) => ({ code, codingScheme: '1.2.250.1.213.1.1.4.13' })),
    ],
    eventCodes: options.eventCodes ?? [],
    referenceIds: options.referenceIds ?? [],
    creationTime: options.creationTime ?? base.creationTime,
    authors: [{ ...author, person: options.authorRpps ? `8${options.authorRpps}^DUPONT^JEAN^^^Dr^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS` : author.person }],
    legalAuthenticator: undefined,
    hash: createHash('sha1').update(bytes).digest('hex'),
    size: String(bytes.length),
    repositoryUniqueId: REPOSITORY,
  };
}

export function hasMember(id: string, source: string, target: string, status?: 'Original' | 'Reference', extra: Partial<Association> = {}): Association {
  return {
    entryUuid: id, type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: source, targetUuid: target,
    ...(status ? { submissionSetStatus: status } : {}), extraSlots: [], ...extra,
  };
}

/** A submission of documents for one patient: SubmissionSet01 with Document01..n. */
export function submission(patient: string, documents: { bytes: Buffer; options?: DocumentOptions }[]): RegistryObjects {
  const base = frDmpSubmission();
  const set = { ...base.submissionSets[0], uniqueId: newOid(), patientId: patient };
  const entries = documents.map((d, i) => documentEntry(`Document0${i + 1}`, patient, d.bytes, d.options));
  return {
    submissionSets: [set],
    documentEntries: entries,
    folders: [],
    associations: entries.map((e, i) => hasMember(`Association0${i + 1}`, 'SubmissionSet01', e.entryUuid, 'Original')),
  };
}

export function iti42(objects: RegistryObjects): string {
  return soapEnvelope(serializeXml(buildSubmitObjectsRequest(objects)), ACTIONS.iti42);
}

export function iti57(objects: RegistryObjects): string {
  return soapEnvelope(serializeXml(buildSubmitObjectsRequest(objects)), ACTIONS.iti57);
}

export function iti62(uuids: string[]): string {
  const refs = uuids.map((u) => `<rim:ObjectRef id="${u}"/>`).join('');
  return soapEnvelope(`<lcm:RemoveObjectsRequest xmlns:lcm="${NS.lcm}" xmlns:rim="${NS.rim}"><rim:ObjectRefList>${refs}</rim:ObjectRefList></lcm:RemoveObjectsRequest>`, ACTIONS.iti62);
}

/** ITI-41 with documents inline (base64) in a plain SOAP message. */
export function iti41Inline(objects: RegistryObjects, documents: Map<string, Buffer>): { body: string; contentType: string } {
  const docs = [...documents].map(([id, bytes]) => `<xdsb:Document id="${id}">${bytes.toString('base64')}</xdsb:Document>`).join('');
  const body = `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${NS.xdsb}">${serializeXml(buildSubmitObjectsRequest(objects))}${docs}</xdsb:ProvideAndRegisterDocumentSetRequest>`;
  return { body: soapEnvelope(body, ACTIONS.iti41), contentType: `application/soap+xml; charset=UTF-8; action="${ACTIONS.iti41}"` };
}

/** ITI-41 body (SubmitObjectsRequest XML given) with documents as MTOM attachments: an MTOM stream. */
export function iti41MtomStream(submitObjectsXml: string, documents: { id: string; contentType: string; body: Uint8Array | AsyncIterable<Uint8Array> }[]): { contentType: string; body: AsyncIterable<Buffer> } {
  const withIds = documents.map((d) => ({ ...d, contentId: `${randomUUID()}@test` }));
  const docs = withIds.map((d) => `<xdsb:Document id="${d.id}"><xop:Include xmlns:xop="${NS.xop}" href="cid:${encodeURIComponent(d.contentId)}"/></xdsb:Document>`).join('');
  const envelope = soapEnvelope(
    `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${NS.xdsb}">${submitObjectsXml.replace(/^<\?xml[^>]*\?>\s*/, '')}${docs}</xdsb:ProvideAndRegisterDocumentSetRequest>`,
    ACTIONS.iti41,
  );
  return buildMtomMessage(envelope, withIds.map((d) => ({ contentId: d.contentId, contentType: d.contentType, body: d.body })), { action: ACTIONS.iti41 });
}

/** The same, collected into one buffer (for inject). */
export async function iti41Mtom(objects: RegistryObjects | string, documents: Map<string, Buffer>, contentType = 'application/pdf'): Promise<{ body: Buffer; contentType: string }> {
  const xml = typeof objects === 'string' ? objects : serializeXml(buildSubmitObjectsRequest(objects));
  const message = iti41MtomStream(xml, [...documents].map(([id, bytes]) => ({ id, contentType, body: bytes })));
  return { body: await collect(message.body), contentType: message.contentType };
}

/** Bytes that look like a small PDF, different for each call. */
export function pdf(text: string = randomUUID()): Buffer {
  return Buffer.from(`%PDF-1.4\n% Carnet test document ${text}\n%%EOF\n`);
}
