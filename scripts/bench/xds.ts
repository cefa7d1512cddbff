// The XDS.b requests of W4 and W5, built for the load generator.
//
// W4, ITI-41 Provide and Register Document Set-b: one 50 KB CDA discharge letter over MTOM/XOP
// for a loaded patient, every request a new submission (new DocumentEntry and SubmissionSet
// uniqueIds, a new WS-Addressing MessageID; the entryUUIDs are symbolic, so the registry gives
// fresh ones to each). The metadata agrees with the CDA header (patient, uniqueId = the
// ClinicalDocument/id, type, creation time, author, confidentiality, language, title) and carries
// the document's SHA-1 and size, as a DMP document source sends them.
// W5, ITI-18 FindDocuments (LeafClass) for a loaded patient, then ITI-43 Retrieve Document Set of
// one of that patient's documents that has bytes.
//
// The ebRIM metadata and the MTOM framing come from the protocol layer's own writers
// (src/ihe/xds ebrim.ts, mtom.ts: light modules, no FHIR definitions loaded). They are written once
// per source, with placeholders, into templates; each request then only fills the placeholders
// and hashes its document (autocannon's setupRequest is synchronous, and building a 50 KB message
// from scratch per request would make the load generator, on the same 2 cores, the bottleneck).
// The small SOAP wrappers are written here rather than imported from test/ihe-http (which pulls in
// tap and the test fixtures).
import { createHash, randomUUID } from 'node:crypto';
import { buildSubmitObjectsRequest } from '../../src/ihe/xds/ebrim.ts';
import type { Author, RegistryObjects } from '../../src/ihe/xds/model.ts';
import { buildMtomMessage } from '../../src/ihe/xds/mtom.ts';
import { NS, STATUS } from '../../src/ihe/xds/vocabulary.ts';
import { serializeXml } from '../../src/ihe/xds/xml.ts';
import { DOCUMENT_ID_ROOT, DOCUMENT_TYPES, INS_SYSTEM, cdaDocument } from './generate.ts';
import { seeded } from './prng.ts';

/** The repository the bench's Carnet is configured with (XDS_REPOSITORY_UNIQUE_ID). */
export const BENCH_REPOSITORY = '1.2.250.1.999.1.9';
/** The affinity domain the requests are written for (AFFINITY_DOMAIN). */
export const BENCH_AFFINITY_DOMAIN = 'fr-dmp';

export const XDS_ACTIONS = {
  iti18: 'urn:ihe:iti:2007:RegistryStoredQuery',
  iti41: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b',
  iti43: 'urn:ihe:iti:2007:RetrieveDocumentSet',
} as const;

const FIND_DOCUMENTS = 'urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d';
/** What every successful answer carries (RegistryResponse, AdhocQueryResponse, RetrieveDocumentSetResponse). */
export const XDS_SUCCESS = 'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"';

/**
 * True when an XDS answer body (as text) says Success; a Failure or PartialSuccess inside a 200 is
 * not, nor a FindDocuments answer without any DocumentEntry (the bench only asks for patients who
 * have documents).
 */
export function xdsSucceeded(body: string): boolean {
  if (!body.includes(XDS_SUCCESS)) return false;
  return !body.includes('AdhocQueryResponse') || body.includes('ExtrinsicObject');
}

/** The telling part of a failed XDS answer: its errors, its fault, or its start. */
export function xdsFailureExcerpt(body: string, length = 1000): string {
  const at = ['RegistryErrorList', 'Fault>', 'status="'].map((marker) => body.indexOf(marker)).find((i) => i >= 0) ?? 0;
  return body.slice(Math.max(0, at - 100), at + length);
}

/** The patient id of an INS, as XDS carries it: CX with the INS assigning authority, type NH. */
export function insCx(ins: string): string {
  return `${ins}^^^&${INS_SYSTEM.slice('urn:oid:'.length)}&ISO^NH`;
}

export const soapContentType = (action: string): string => `application/soap+xml; charset=UTF-8; action="${action}"`;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function soapEnvelope(body: string, action: string, messageId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${NS.soap12}" xmlns:wsa="${NS.wsa}">` +
    `<env:Header><wsa:Action env:mustUnderstand="true">${action}</wsa:Action>` +
    `<wsa:MessageID>${messageId}</wsa:MessageID>` +
    `<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo></env:Header>` +
    `<env:Body>${body}</env:Body></env:Envelope>`
  );
}

/** ITI-18 FindDocuments of a patient's Approved documents, full metadata (LeafClass). */
export function findDocumentsBody(patientCx: string): string {
  const slot = (name: string, value: string) => `<rim:Slot name="${name}"><rim:ValueList><rim:Value>${value}</rim:Value></rim:ValueList></rim:Slot>`;
  return soapEnvelope(
    `<query:AdhocQueryRequest xmlns:query="${NS.query}" xmlns:rim="${NS.rim}"><query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>` +
      `<rim:AdhocQuery id="${FIND_DOCUMENTS}">${slot('$XDSDocumentEntryPatientId', escapeXml(`'${patientCx}'`))}${slot('$XDSDocumentEntryStatus', `('${STATUS.approved}')`)}</rim:AdhocQuery>` +
      '</query:AdhocQueryRequest>',
    XDS_ACTIONS.iti18,
    `urn:uuid:${randomUUID()}`,
  );
}

/** ITI-43 of one document of this repository. */
export function retrieveBody(documentUniqueId: string, repositoryUniqueId = BENCH_REPOSITORY): string {
  return soapEnvelope(
    `<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="${NS.xdsb}"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>${repositoryUniqueId}</xdsb:RepositoryUniqueId>` +
      `<xdsb:DocumentUniqueId>${escapeXml(documentUniqueId)}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest>`,
    XDS_ACTIONS.iti43,
    `urn:uuid:${randomUUID()}`,
  );
}

// ---- ITI-41 ----------------------------------------------------------------------------------------

/** A text cut at its placeholders once, filled many times. */
class Template {
  readonly #parts: string[] = [];
  readonly #keys: string[] = [];
  constructor(text: string, keys: readonly string[]) {
    const pattern = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    let last = 0;
    for (const m of text.matchAll(pattern)) {
      this.#parts.push(text.slice(last, m.index));
      this.#keys.push(m[0]);
      last = m.index + m[0].length;
    }
    this.#parts.push(text.slice(last));
    for (const k of keys) if (!this.#keys.includes(k)) throw new Error(`template: placeholder ${k} not found`);
  }

  fill(values: Record<string, string>): string {
    let out = this.#parts[0];
    for (let i = 0; i < this.#keys.length; i++) out += values[this.#keys[i]] + this.#parts[i + 1];
    return out;
  }
}

const PH = {
  uniqueId: '@@DOC_UNIQUE_ID@@',
  setUniqueId: '@@SET_UNIQUE_ID@@',
  patient: '@@PATIENT_CX@@',
  ins: '@@PATIENT_INS@@',
  hash: '@@DOC_SHA1@@',
  size: '@@DOC_SIZE@@',
  messageId: '@@MESSAGE_ID@@',
  envelope: '@@ENVELOPE@@',
  document: '@@DOCUMENT@@',
} as const;

/** Fresh, never reused OIDs: this process's start time and pid, then a counter. */
const OID_STEM = `${Date.now()}.${process.pid}`;
let oidSequence = 0;
const freshOid = (arc: number): string => `1.2.250.1.999.${arc}.${OID_STEM}.${++oidSequence}`;

export interface ProvideRequestSource {
  contentType: string;
  /** A new submission for this patient (its INS), every call. */
  next(ins: string): Buffer;
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * ITI-41 messages: a CDA discharge letter of about `size` bytes (default 50 KB) by `author`
 * ([id, rpps]), over MTOM. The templates are built once here (async: the MTOM writer streams).
 */
export async function provideRequests(author: [string, string], options: { size?: number; seed?: number } = {}): Promise<ProvideRequestSource> {
  const type = DOCUMENT_TYPES.find((t) => t.code === '11490-0') ?? DOCUMENT_TYPES[0];
  const date = new Date(Date.UTC(2025, 5, 12, 9, 30, 0));
  const [, rpps] = author;
  // The generator's CDA, its id made a placeholder (a pure OID: the DocumentEntry uniqueId).
  const cda = cdaDocument(seeded(options.seed ?? 41), { size: options.size ?? 50_000, ins: PH.ins, family: 'DUPONT', given: 'Marie', authorRpps: rpps, type, date, id: 'W4' })
    .toString('utf8')
    .replace(`<id root="${DOCUMENT_ID_ROOT}" extension="W4"/>`, `<id root="${PH.uniqueId}"/>`);
  const documentTemplate = new Template(cda, [PH.uniqueId, PH.ins]);
  // The CDA's effectiveTime is written as local time +0100: the metadata carries it in UTC.
  const creationTime = new Date(date.getTime() - 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const person = `8${rpps}^DUPONT^JEAN^^^Dr^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS`;
  const authorOf = (): Author => ({
    person,
    institutions: ['Hôpital Saint-Exemple^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1234567890'],
    roles: [],
    specialties: ['G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5'],
    telecoms: [],
  });
  const objects: RegistryObjects = {
    submissionSets: [{
      entryUuid: 'SubmissionSet01',
      uniqueId: PH.setUniqueId,
      sourceId: '1.2.250.1.999.1',
      patientId: PH.patient,
      submissionTime: creationTime,
      contentTypeCode: { code: type.code, codingScheme: '2.16.840.1.113883.6.1', displayName: type.display },
      authors: [authorOf()],
      intendedRecipients: [],
      title: type.display,
      limitedMetadata: false,
      extraSlots: [],
    }],
    documentEntries: [{
      entryUuid: 'Document01',
      objectType: 'stable',
      uniqueId: PH.uniqueId,
      patientId: PH.patient,
      sourcePatientId: `${PH.ins}^^^&1.2.250.1.999.1.2&ISO^PI`,
      sourcePatientInfo: ['PID-5|DUPONT^MARIE', 'PID-8|F'],
      classCode: { code: type.classCode, codingScheme: '1.2.250.1.213.1.1.4.1', displayName: type.classDisplay },
      typeCode: { code: type.code, codingScheme: '2.16.840.1.113883.6.1', displayName: type.display },
      formatCode: { code: 'urn:asip:ci-sis:ldl-ses:2017', codingScheme: '1.2.250.1.213.1.1.4.2.282' },
      healthcareFacilityTypeCode: { code: 'SA01', codingScheme: '1.2.250.1.71.4.2.4' },
      practiceSettingCode: { code: 'ETABLISSEMENT', codingScheme: '1.2.250.1.213.1.1.4.9' },
      confidentialityCodes: [{ code: 'N', codingScheme: '2.16.840.1.113883.5.25', displayName: 'Normal' }],
      eventCodes: [],
      authors: [authorOf()],
      creationTime,
      serviceStartTime: creationTime,
      serviceStopTime: creationTime,
      languageCode: 'fr-FR',
      mimeType: 'text/xml',
      hash: PH.hash,
      size: PH.size,
      title: type.display,
      referenceIds: [],
      limitedMetadata: false,
      extraSlots: [],
    }],
    folders: [],
    associations: [{
      entryUuid: 'Association01',
      type: 'HasMember',
      typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
      sourceUuid: 'SubmissionSet01',
      targetUuid: 'Document01',
      submissionSetStatus: 'Original',
      extraSlots: [],
    }],
  };
  const contentId = `document01.${randomUUID()}@bench.carnet`;
  const envelope = soapEnvelope(
    `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${NS.xdsb}">${serializeXml(buildSubmitObjectsRequest(objects))}` +
      `<xdsb:Document id="Document01"><xop:Include xmlns:xop="${NS.xop}" href="cid:${encodeURIComponent(contentId)}"/></xdsb:Document>` +
      '</xdsb:ProvideAndRegisterDocumentSetRequest>',
    XDS_ACTIONS.iti41,
    PH.messageId,
  );
  const envelopeTemplate = new Template(envelope, [PH.uniqueId, PH.setUniqueId, PH.patient, PH.ins, PH.hash, PH.size, PH.messageId]);
  // The MTOM framing around an envelope and a document placeholder, cut into three pieces.
  const message = buildMtomMessage(PH.envelope, [{ contentId, contentType: 'text/xml', body: Buffer.from(PH.document) }], { action: XDS_ACTIONS.iti41 });
  const framing = (await collect(message.body)).toString('latin1');
  const [head, rest] = framing.split(PH.envelope);
  const [middle, tail] = rest.split(PH.document);
  const [headBytes, middleBytes, tailBytes] = [head, middle, tail].map((s) => Buffer.from(s, 'latin1'));
  return {
    contentType: message.contentType,
    next(ins: string): Buffer {
      const uniqueId = freshOid(2);
      const document = Buffer.from(documentTemplate.fill({ [PH.uniqueId]: uniqueId, [PH.ins]: ins }), 'utf8');
      const xml = envelopeTemplate.fill({
        [PH.uniqueId]: uniqueId,
        [PH.setUniqueId]: freshOid(3),
        [PH.patient]: escapeXml(insCx(ins)),
        [PH.ins]: ins,
        [PH.hash]: createHash('sha1').update(document).digest('hex'),
        [PH.size]: String(document.length),
        [PH.messageId]: `urn:uuid:${randomUUID()}`,
      });
      return Buffer.concat([headBytes, Buffer.from(xml, 'utf8'), middleBytes, document, tailBytes]);
    },
  };
}
