import t from 'tap';
import {
  attachmentsWanted, buildSubmitObjectsRequest, child, documentContent, documentNotFound, missingAttachments, NS,
  parseProvideAndRegisterRequest, parseRegisterRequest, parseRemoveMetadataRequest, parseRetrieveDocumentSetRequest, parseSoapEnvelope,
  parseUpdateDocumentSetRequest, parseXml, readMtomMessage, retrieveResponseMessage, serializeXml, transactionFor, unknownRepository,
} from '../../src/ihe/xds/index.ts';
import { ACTION, collect, frDmpSubmission, inPieces, ipfSample, soap12, needsIpf } from './fixtures.ts';

const XDSB = 'urn:ihe:iti:xds-b:2007';
const UUID1 = 'urn:uuid:11111111-1111-4111-8111-111111111111';

function provide(documents: string): string {
  const submit = serializeXml(buildSubmitObjectsRequest(frDmpSubmission()));
  return `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${XDSB}" xmlns:xop="http://www.w3.org/2004/08/xop/include">${submit}${documents}</xdsb:ProvideAndRegisterDocumentSetRequest>`;
}

void t.test('ITI-41: an inline base64 document is paired with its DocumentEntry', async (t) => {
  const body = parseSoapEnvelope(soap12(provide(`<xdsb:Document id="Document01">${Buffer.from('<ClinicalDocument/>').toString('base64')}</xdsb:Document>`), ACTION.iti41)).body;
  const request = parseProvideAndRegisterRequest(body);
  t.same(request.issues, []);
  t.same(request.documents, [{ id: 'Document01', content: { kind: 'inline', bytes: Buffer.from('<ClinicalDocument/>') } }]);
  t.equal(attachmentsWanted(request).size, 0);
});

void t.test('ITI-41: an xop:Include document names the attachment to stream', async (t) => {
  const request = parseProvideAndRegisterRequest(parseXml(provide('<xdsb:Document id="Document01"><xop:Include href="cid:doc1%40carnet"/></xdsb:Document>')));
  t.same(request.issues, []);
  t.same([...attachmentsWanted(request)], [['doc1@carnet', 'Document01']]);
  t.same(missingAttachments(request, new Set(['doc1@carnet'])), []);
  t.same(missingAttachments(request, new Set()).map((e) => [e.code, e.location]), [['XDSMissingDocument', 'Document01']]);
});

void t.test('ITI-41: a DocumentEntry without a Document is XDSMissingDocument', async (t) => {
  const request = parseProvideAndRegisterRequest(parseXml(provide('')));
  t.same(request.issues.map((e) => [e.code, e.location]), [['XDSMissingDocument', 'Document01']]);
});

void t.test('ITI-41: a Document without a DocumentEntry is XDSMissingDocumentMetadata', async (t) => {
  const request = parseProvideAndRegisterRequest(parseXml(provide('<xdsb:Document id="Document01">AA==</xdsb:Document><xdsb:Document id="Stray">AA==</xdsb:Document>')));
  t.same(request.issues.map((e) => [e.code, e.location]), [['XDSMissingDocumentMetadata', 'Stray']]);
});

void t.test('ITI-41: a Document that is neither base64 nor xop:Include is a repository metadata error', async (t) => {
  const request = parseProvideAndRegisterRequest(parseXml(provide('<xdsb:Document id="Document01">%%% not base64 %%%</xdsb:Document>')));
  t.same(request.issues.map((e) => [e.code, e.location]), [['XDSRepositoryMetadataError', 'Document01']]);
});

void t.test('ITI-41: the IPF sample travels in an MTOM package and its document is found by Content-ID', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30.xml');
  const envelope = soap12(
    `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="${XDSB}">${sample.replace(/^<\?xml[^>]*\?>/, '')}` +
      '<xdsb:Document id="Document01"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:1.document01@ipf"/></xdsb:Document>' +
      '</xdsb:ProvideAndRegisterDocumentSetRequest>',
    ACTION.iti41,
  );
  const wire = Buffer.from(
    `--MIMEBoundary_ipf\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\nContent-ID: <0.root@ipf>\r\n\r\n${envelope}\r\n` +
      '--MIMEBoundary_ipf\r\nContent-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <1.document01@ipf>\r\n\r\n<ClinicalDocument/>\r\n--MIMEBoundary_ipf--\r\n',
  );
  const message = await readMtomMessage(inPieces(wire, 100), 'MIMEBoundary_ipf', { start: '<0.root@ipf>' });
  const soap = parseSoapEnvelope(message.root.xml);
  t.equal(transactionFor(soap, 'repository').id, 'ITI-41');
  const request = parseProvideAndRegisterRequest(soap.body);
  t.same(request.issues, []);
  const wanted = attachmentsWanted(request);
  const received: [string, string][] = [];
  for await (const a of message.attachments()) received.push([wanted.get(a.contentId) ?? '?', (await collect(a.body)).toString()]);
  t.same(received, [['Document01', '<ClinicalDocument/>']]);
});

void t.test('ITI-42: the IPF sample reads as a registration', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs3_extra_metadata.xml');
  const soap = parseSoapEnvelope(soap12(sample, ACTION.iti42));
  t.equal(transactionFor(soap, 'registry').id, 'ITI-42');
  const request = parseRegisterRequest(soap.body);
  t.same(request.issues, []);
  t.equal(request.submission.documentEntries[0].uniqueId, '1.3.6.1.4.1.21367.2005.3.9999.32');
});

void t.test('ITI-57: the IPF update sample reads as a metadata update and a status change', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30_update.xml');
  const soap = parseSoapEnvelope(soap12(sample, ACTION.iti57));
  t.equal(transactionFor(soap, 'registry').id, 'ITI-57');
  const update = parseUpdateDocumentSetRequest(soap.body);
  t.same(update.issues, []);
  t.match(update.metadataUpdates, [{ kind: 'DocumentEntry', logicalId: 'urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e', previousVersion: '1', propagate: true }]);
  t.same(update.statusUpdates, [{
    associationId: 'Assoc2',
    targetUuid: 'urn:uuid:e0985823-dc50-45a5-a6c8-a11a829893bd',
    originalStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',
    newStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated',
  }]);
  t.same(update.newAssociations, []);
});

void t.test('ITI-57: masking a document is a new version of its entry with MASQUE_PS added', async (t) => {
  const objects = frDmpSubmission();
  objects.documentEntries[0].logicalId = UUID1;
  objects.documentEntries[0].confidentialityCodes.push({ code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' });
  objects.associations[0].previousVersion = '1';
  const update = parseUpdateDocumentSetRequest(parseXml(serializeXml(buildSubmitObjectsRequest(objects))));
  t.equal(update.metadataUpdates.length, 1);
  const [masking] = update.metadataUpdates;
  t.equal(masking.kind, 'DocumentEntry');
  if (masking.kind !== 'DocumentEntry') return;
  t.equal(masking.logicalId, UUID1);
  t.same(masking.object.confidentialityCodes.map((c) => c.code), ['N', 'MASQUE_PS']);
});

void t.test('ITI-57: a DocumentEntry without the lid of an existing entry is not an update', async (t) => {
  const update = parseUpdateDocumentSetRequest(parseXml(serializeXml(buildSubmitObjectsRequest(frDmpSubmission()))));
  t.same(update.issues.map((e) => [e.code, e.location]), [['XDSMetadataUpdateOperationError', 'Document01']]);
  t.same(update.metadataUpdates, []);
});

void t.test('ITI-62: the entryUUIDs to remove are read, duplicates once', async (t) => {
  const body = `<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="${NS.rim}"><rim:ObjectRefList>` +
    `<rim:ObjectRef id="${UUID1}"/><rim:ObjectRef id="${UUID1}"/><rim:ObjectRef id="urn:uuid:22222222-2222-4222-8222-222222222222"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`;
  const soap = parseSoapEnvelope(soap12(body, ACTION.iti62));
  t.equal(transactionFor(soap, 'registry').id, 'ITI-62');
  const request = parseRemoveMetadataRequest(soap.body);
  t.same(request, { entryUuids: [UUID1, 'urn:uuid:22222222-2222-4222-8222-222222222222'], issues: [] });
});

void t.test('ITI-62: ids that are not UUIDs, removal by query and empty requests are refused', async (t) => {
  const wrap = (inner: string) => parseXml(`<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="${NS.rim}">${inner}</lcm:RemoveObjectsRequest>`);
  t.same(parseRemoveMetadataRequest(wrap('<rim:ObjectRefList><rim:ObjectRef id="Document01"/></rim:ObjectRefList>')).issues.map((e) => e.code), ['UnresolvedReferenceException']);
  t.same(parseRemoveMetadataRequest(wrap('<rim:AdhocQuery id="x"/>')).issues.map((e) => e.code), ['XDSRegistryError']);
  t.same(parseRemoveMetadataRequest(wrap('')).issues.map((e) => e.code), ['XDSRegistryError']);
});

const retrieveBody = (requests: [string, string, string?][]) =>
  `<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="${XDSB}">${requests
    .map(([repo, doc, home]) => `<xdsb:DocumentRequest>${home ? `<xdsb:HomeCommunityId>${home}</xdsb:HomeCommunityId>` : ''}<xdsb:RepositoryUniqueId>${repo}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>${doc}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>`)
    .join('')}</xdsb:RetrieveDocumentSetRequest>`;

void t.test('ITI-43: several document requests are read in order', async (t) => {
  const soap = parseSoapEnvelope(soap12(retrieveBody([['1.2.3', '1.2.3.4.1', 'urn:oid:1.2.9'], ['1.2.3', '1.2.3.4.2']]), ACTION.iti43));
  t.equal(transactionFor(soap, 'repository').id, 'ITI-43');
  t.same(parseRetrieveDocumentSetRequest(soap.body), {
    documents: [
      { repositoryUniqueId: '1.2.3', documentUniqueId: '1.2.3.4.1', homeCommunityId: 'urn:oid:1.2.9' },
      { repositoryUniqueId: '1.2.3', documentUniqueId: '1.2.3.4.2' },
    ],
    issues: [],
  });
});

void t.test('ITI-43: a request without document or repository id is refused', async (t) => {
  const parsed = parseRetrieveDocumentSetRequest(parseXml(`<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="${XDSB}"><xdsb:DocumentRequest><xdsb:DocumentUniqueId>1.2</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest>`));
  t.same(parsed.issues.map((e) => e.code), ['XDSRepositoryError']);
  t.same(parseRetrieveDocumentSetRequest(parseXml(`<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="${XDSB}"/>`)).issues.map((e) => e.code), ['XDSRepositoryError']);
});

async function answer(found: number, errors: ReturnType<typeof documentNotFound>[]) {
  const documents = Array.from({ length: found }, (_, i) => ({
    request: { repositoryUniqueId: '1.2.3', documentUniqueId: `1.2.3.4.${i}` },
    mimeType: 'application/pdf',
    body: Buffer.from(`document ${i}`),
  }));
  const built = retrieveResponseMessage(documents, errors, 'urn:uuid:req');
  const boundary = /boundary="?([^";]+)"?/.exec(built.contentType)![1];
  const message = await readMtomMessage(inPieces(await collect(built.body), 64), boundary);
  const soap = parseSoapEnvelope(message.root.xml);
  const attachments = await Array.fromAsync(message.attachments(), async (a) => [a.contentId, (await collect(a.body)).toString()] as const);
  return { soap, attachments };
}

void t.test('ITI-43: every document found is a Success answer whose xop:Includes name the attachments', async (t) => {
  const { soap, attachments } = await answer(2, []);
  t.equal(soap.action, 'urn:ihe:iti:2007:RetrieveDocumentSetResponse');
  t.equal(soap.body.name, 'RetrieveDocumentSetResponse');
  t.equal(child(soap.body, NS.rs, 'RegistryResponse')?.attrs.status, 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success');
  const responses = soap.body.children.filter((c) => c.name === 'DocumentResponse');
  const included = responses.map((r) => documentContent(child(r, XDSB, 'Document')!));
  t.same(included.map((c) => (c?.kind === 'attachment' ? c.contentId : undefined)), attachments.map(([id]) => id));
  t.same(attachments.map(([, body]) => body), ['document 0', 'document 1']);
});

void t.test('ITI-43: some documents missing is PartialSuccess with an error per missing one', async (t) => {
  const missing = documentNotFound({ repositoryUniqueId: '1.2.3', documentUniqueId: '1.2.3.4.9' });
  const { soap, attachments } = await answer(1, [missing]);
  const response = child(soap.body, NS.rs, 'RegistryResponse')!;
  t.equal(response.attrs.status, 'urn:ihe:iti:2007:ResponseStatusType:PartialSuccess');
  t.equal(response.children[0].children[0].attrs.errorCode, 'XDSDocumentUniqueIdError');
  t.equal(response.children[0].children[0].attrs.location, '1.2.3.4.9');
  t.equal(attachments.length, 1);
});

void t.test('ITI-43: no document found, or an unknown repository, is Failure', async (t) => {
  const { soap, attachments } = await answer(0, [unknownRepository({ repositoryUniqueId: '9.9.9', documentUniqueId: '1.2' })]);
  const response = child(soap.body, NS.rs, 'RegistryResponse')!;
  t.equal(response.attrs.status, 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure');
  t.equal(response.children[0].children[0].attrs.errorCode, 'XDSUnknownRepositoryId');
  t.equal(attachments.length, 0);
});
