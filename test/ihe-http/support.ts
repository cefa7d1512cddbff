// XDS.b over HTTP in tests: posting SOAP and MTOM bodies to a Carnet app, and reading the
// answers (RegistryResponse, AdhocQueryResponse, RetrieveDocumentSetResponse, SOAP faults) with
// the protocol layer's own safe parser.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { parseMediaType } from '../../src/ihe/xds/content-type.ts';
import type { XmlElement } from '../../src/ihe/xds/index.ts';
import { attr, child, childrenNamed, NS, parseXml, readMtomMessage, textOf } from '../../src/ihe/xds/index.ts';

export const SOAP_CONTENT_TYPE = (action: string) => `application/soap+xml; charset=UTF-8; action="${action}"`;

export interface Posted {
  status: number;
  contentType: string;
  body: Buffer;
}

export async function post(app: FastifyInstance, endpoint: 'registry' | 'repository', payload: string | Buffer, contentType: string): Promise<Posted> {
  const response = await app.inject({ method: 'POST', url: `/xds/${endpoint}`, headers: { 'content-type': contentType }, payload });
  return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: response.rawPayload };
}

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536);
}

export interface Answer {
  /** The SOAP envelope. */
  envelope: XmlElement;
  /** The env:Body child. */
  body: XmlElement;
  action?: string;
  relatesTo?: string;
  /** MTOM attachments by Content-ID. */
  attachments: Map<string, Buffer>;
}

/** Reads a SOAP answer, plain or MTOM. */
export async function answerOf(posted: Posted): Promise<Answer> {
  const media = parseMediaType(posted.contentType);
  let xml: Buffer = posted.body;
  const attachments = new Map<string, Buffer>();
  if (media?.essence === 'multipart/related') {
    const message = await readMtomMessage(chunks(posted.body), media.params.get('boundary') as string);
    xml = message.root.xml;
    for await (const a of message.attachments()) {
      const parts: Buffer[] = [];
      for await (const c of a.body) parts.push(c);
      attachments.set(a.contentId, Buffer.concat(parts));
    }
  }
  const envelope = parseXml(xml);
  const header = child(envelope, NS.soap12, 'Header');
  const body = child(envelope, NS.soap12, 'Body')?.children[0] as XmlElement;
  return {
    envelope,
    body,
    action: textOf(child(header, NS.wsa, 'Action')) || undefined,
    relatesTo: textOf(child(header, NS.wsa, 'RelatesTo')) || undefined,
    attachments,
  };
}

/** Response status (Success, Failure, PartialSuccess) of a RegistryResponse-like element. */
export function statusOf(element: XmlElement): string {
  const status = attr(element, 'status') ?? attr(child(element, NS.rs, 'RegistryResponse'), 'status') ?? '';
  return status.slice(status.lastIndexOf(':') + 1);
}

export interface ErrorItem {
  code: string;
  context: string;
  severity: string;
  location?: string;
}

export function errorsOf(element: XmlElement): ErrorItem[] {
  const list = child(element, NS.rs, 'RegistryErrorList') ?? child(child(element, NS.rs, 'RegistryResponse'), NS.rs, 'RegistryErrorList');
  return childrenNamed(list, NS.rs, 'RegistryError').map((e) => ({
    code: attr(e, 'errorCode') ?? '',
    context: attr(e, 'codeContext') ?? '',
    severity: (attr(e, 'severity') ?? '').replace(/.*:/, ''),
    ...(attr(e, 'location') ? { location: attr(e, 'location') } : {}),
  }));
}

export interface Fault {
  code: string;
  subcode: string | null;
  reason: string;
}

export function faultOf(answer: Answer): Fault | undefined {
  if (answer.body.name !== 'Fault' || answer.body.ns !== NS.soap12) return undefined;
  const code = child(answer.body, NS.soap12, 'Code');
  const value = textOf(child(code, NS.soap12, 'Value')).replace(/^env:/, '');
  const subcode = textOf(child(child(code, NS.soap12, 'Subcode'), NS.soap12, 'Value')) || null;
  return { code: value, subcode, reason: textOf(child(child(answer.body, NS.soap12, 'Reason'), NS.soap12, 'Text')) };
}

const EXTERNAL_UNIQUE_ID = 'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab';

/** A returned DocumentEntry, as much as the tests look at. */
export interface ReturnedEntry {
  id: string;
  lid?: string;
  uniqueId?: string;
  status?: string;
  slots: Map<string, string[]>;
  classifications: { scheme: string; code: string }[];
  element: XmlElement;
}

export function extrinsicObjects(answer: Answer): ReturnedEntry[] {
  const list = child(answer.body, NS.rim, 'RegistryObjectList');
  return childrenNamed(list, NS.rim, 'ExtrinsicObject').map((e) => ({
    id: attr(e, 'id') ?? '',
    ...(attr(e, 'lid') ? { lid: attr(e, 'lid') } : {}),
    uniqueId: childrenNamed(e, NS.rim, 'ExternalIdentifier').find((x) => attr(x, 'identificationScheme') === EXTERNAL_UNIQUE_ID)?.attrs.value,
    ...(attr(e, 'status') ? { status: attr(e, 'status') } : {}),
    slots: new Map(childrenNamed(e, NS.rim, 'Slot').map((s) => [attr(s, 'name') ?? '', childrenNamed(child(s, NS.rim, 'ValueList'), NS.rim, 'Value').map((v) => textOf(v))])),
    classifications: childrenNamed(e, NS.rim, 'Classification').map((c) => ({ scheme: attr(c, 'classificationScheme') ?? '', code: attr(c, 'nodeRepresentation') ?? '' })),
    element: e,
  }));
}

export function registryPackages(answer: Answer): XmlElement[] {
  return childrenNamed(child(answer.body, NS.rim, 'RegistryObjectList'), NS.rim, 'RegistryPackage');
}

export function associations(answer: Answer): { id: string; type: string; source: string; target: string }[] {
  return childrenNamed(child(answer.body, NS.rim, 'RegistryObjectList'), NS.rim, 'Association').map((a) => ({
    id: attr(a, 'id') ?? '',
    type: (attr(a, 'associationType') ?? '').replace(/.*:/, ''),
    source: attr(a, 'sourceObject') ?? '',
    target: attr(a, 'targetObject') ?? '',
  }));
}

export function objectRefs(answer: Answer): string[] {
  return childrenNamed(child(answer.body, NS.rim, 'RegistryObjectList'), NS.rim, 'ObjectRef').map((o) => attr(o, 'id') ?? '');
}

/** ITI-43: each DocumentResponse with its bytes. */
export function retrievedDocuments(answer: Answer): { uniqueId: string; mimeType: string; bytes?: Buffer }[] {
  return childrenNamed(answer.body, NS.xdsb, 'DocumentResponse').map((d) => {
    const href = attr(child(child(d, NS.xdsb, 'Document'), NS.xop, 'Include'), 'href') ?? '';
    const cid = decodeURIComponent(href.replace(/^cid:/, ''));
    return { uniqueId: textOf(child(d, NS.xdsb, 'DocumentUniqueId')), mimeType: textOf(child(d, NS.xdsb, 'mimeType')), bytes: answer.attachments.get(cid) };
  });
}

// ---- stored queries written for tests ------------------------------------------------------------

const ACTION18 = 'urn:ihe:iti:2007:RegistryStoredQuery';

/** An ITI-18 request: `slots` values are written as given (quote strings yourself); a list of pairs may repeat a Slot. */
export function storedQuery(queryId: string, slots: Record<string, string[]> | [string, string[]][], returnType: 'LeafClass' | 'ObjectRef' = 'LeafClass'): string {
  const slotXml = (Array.isArray(slots) ? slots : Object.entries(slots))
    .map(([name, values]) => `<rim:Slot name="${name}"><rim:ValueList>${values.map((v) => `<rim:Value>${escapeXml(v)}</rim:Value>`).join('')}</rim:ValueList></rim:Slot>`)
    .join('');
  return soapEnvelope(
    `<query:AdhocQueryRequest xmlns:query="${NS.query}" xmlns:rim="${NS.rim}"><query:ResponseOption returnComposedObjects="true" returnType="${returnType}"/>` +
      `<rim:AdhocQuery id="${queryId}">${slotXml}</rim:AdhocQuery></query:AdhocQueryRequest>`,
    ACTION18,
  );
}

export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

let messageSeq = 0;
export function soapEnvelope(body: string, action: string): string {
  messageSeq += 1;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${NS.soap12}" xmlns:wsa="${NS.wsa}">` +
    `<env:Header><wsa:Action env:mustUnderstand="true">${action}</wsa:Action>` +
    `<wsa:MessageID>urn:uuid:7e570000-0000-4000-8000-${String(messageSeq).padStart(12, '0')}</wsa:MessageID></env:Header>` +
    `<env:Body>${body.replace(/^<\?xml[^>]*\?>\s*/, '')}</env:Body></env:Envelope>`
  );
}

export const QUERY = {
  FindDocuments: 'urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d',
  FindSubmissionSets: 'urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9',
  FindFolders: 'urn:uuid:958f3006-baad-4929-a4de-ff1114824431',
  GetAll: 'urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3',
  GetDocuments: 'urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4',
  GetFolders: 'urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4',
  GetAssociations: 'urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155',
  GetDocumentsAndAssociations: 'urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a',
  GetSubmissionSets: 'urn:uuid:51224314-5390-4169-9b91-b1980040715a',
  GetSubmissionSetAndContents: 'urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83',
  GetFolderAndContents: 'urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7',
  GetFoldersForDocument: 'urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578',
  GetRelatedDocuments: 'urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6',
} as const;

export const APPROVED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved';
export const DEPRECATED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated';

/** ITI-43 request for documents of one repository. */
export function retrieveRequest(repositoryUniqueId: string, documentUniqueIds: string[]): string {
  const requests = documentUniqueIds
    .map((u) => `<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>${repositoryUniqueId}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>${u}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>`)
    .join('');
  return soapEnvelope(`<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="${NS.xdsb}">${requests}</xdsb:RetrieveDocumentSetRequest>`, 'urn:ihe:iti:2007:RetrieveDocumentSet');
}

/**
 * A Patient known to the FHIR identity feed: identifier urn:oid:<authority> | id. Written with
 * PUT and its id in the body, so that its dossier is in its access index from the start.
 */
export async function createPatient(app: FastifyInstance, authority: string, id: string, extra: Record<string, unknown> = {}): Promise<string> {
  const resourceId = randomUUID();
  const response = await app.inject({
    method: 'PUT',
    url: `/fhir/Patient/${resourceId}`,
    headers: { 'content-type': 'application/fhir+json' },
    payload: JSON.stringify({ resourceType: 'Patient', id: resourceId, identifier: [{ system: `urn:oid:${authority}`, value: id }], name: [{ family: 'TEST', given: ['Jeanne'] }], birthDate: '1979-03-12', ...extra }),
  });
  if (response.statusCode !== 201) throw new Error(`patient: ${response.statusCode} ${response.body}`);
  return resourceId;
}

/** Resources of a type in the store (for "nothing was stored" checks), deleted ones excluded. */
export async function countResources(app: FastifyInstance, type: string): Promise<number> {
  const response = await app.inject({ method: 'GET', url: `/fhir/${type}?_summary=count` });
  return (JSON.parse(response.body) as { total: number }).total;
}
