import t from 'tap';
import {
  buildRegistryResponse, buildSoapEnvelope, buildSoapFault, checkActionsAgree, classifyRequestContentType, MtomError, parseSoapEnvelope,
  parseXml, SoapFault, toSoapFault, transactionFor, XDS_TRANSACTIONS, XmlError,
} from '../../src/ihe/xds/index.ts';
import { ACTION, SOAP12, soap12, WSA } from './fixtures.ts';

const QUERY_BODY = '<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/>';

function fault(run: () => unknown): SoapFault {
  try {
    run();
  } catch (error) {
    if (error instanceof SoapFault) return error;
    throw error;
  }
  throw new Error('no fault');
}

void t.test('a SOAP 1.2 request yields its action, message id and body element', async (t) => {
  const request = parseSoapEnvelope(soap12(QUERY_BODY, ACTION.iti18, { messageId: 'urn:uuid:1' }));
  t.equal(request.action, ACTION.iti18);
  t.equal(request.messageId, 'urn:uuid:1');
  t.equal(request.replyTo, 'http://www.w3.org/2005/08/addressing/anonymous');
  t.equal(request.body.name, 'AdhocQueryRequest');
});

void t.test('a SOAP 1.1 envelope gets a VersionMismatch fault', async (t) => {
  const f = fault(() => parseSoapEnvelope('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'));
  t.equal(f.code, 'VersionMismatch');
  t.equal(f.httpStatus, 500);
});

void t.test('a document that is not an envelope gets a Sender fault', async (t) => {
  const f = fault(() => parseSoapEnvelope(QUERY_BODY));
  t.equal(f.code, 'Sender');
  t.equal(f.subcode?.name, 'MalformedEnvelope');
  t.equal(f.httpStatus, 400);
});

void t.test('an envelope without wsa:Action gets the MessageAddressingHeaderRequired fault', async (t) => {
  const xml = `<env:Envelope xmlns:env="${SOAP12}"><env:Body>${QUERY_BODY}</env:Body></env:Envelope>`;
  const f = fault(() => parseSoapEnvelope(xml));
  t.equal(f.subcode?.name, 'MessageAddressingHeaderRequired');
  t.equal(f.subcode?.ns, WSA);
});

void t.test('a header block with mustUnderstand we do not understand gets a MustUnderstand fault', async (t) => {
  const headers = '<x:Mystery xmlns:x="urn:mystery" env:mustUnderstand="true"/>';
  t.equal(fault(() => parseSoapEnvelope(soap12(QUERY_BODY, ACTION.iti18, { headers }))).code, 'MustUnderstand');
});

void t.test('a WS-Security header (the VIHF) is understood and kept for the identity layer', async (t) => {
  const headers = '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" env:mustUnderstand="true"/>';
  const request = parseSoapEnvelope(soap12(QUERY_BODY, ACTION.iti18, { headers }));
  t.ok(request.headers.some((h) => h.name === 'Security'));
});

void t.test('a non-anonymous ReplyTo is refused: answers are synchronous', async (t) => {
  const xml = soap12(QUERY_BODY, ACTION.iti18).replace('http://www.w3.org/2005/08/addressing/anonymous', 'http://elsewhere.example/');
  t.equal(fault(() => parseSoapEnvelope(xml)).subcode?.name, 'OnlyAnonymousAddressSupported');
});

void t.test('a Body with two request elements is refused', async (t) => {
  t.equal(fault(() => parseSoapEnvelope(soap12(QUERY_BODY + QUERY_BODY, ACTION.iti18))).subcode?.name, 'UnexpectedBody');
});

void t.test('hostile XML in the envelope gets a Sender fault, and an oversized one HTTP 413', async (t) => {
  const xxe = '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + soap12(QUERY_BODY, ACTION.iti18).replace(/^<\?xml[^>]*\?>\n/, '');
  const hostile = fault(() => parseSoapEnvelope(xxe));
  t.equal(hostile.code, 'Sender');
  t.equal(hostile.subcode?.name, 'HostileXml');
  const big = fault(() => parseSoapEnvelope(soap12(QUERY_BODY, ACTION.iti18), { limits: { maxBytes: 100 } }));
  t.equal(big.httpStatus, 413);
});

void t.test('an unknown action gets the ActionNotSupported fault', async (t) => {
  const request = parseSoapEnvelope(soap12(QUERY_BODY, 'urn:example:NoSuchThing'));
  const f = fault(() => transactionFor(request, 'registry'));
  t.equal(f.subcode?.name, 'ActionNotSupported');
});

void t.test('a repository action sent to the registry endpoint is not supported there', async (t) => {
  const request = parseSoapEnvelope(soap12('<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"/>', ACTION.iti43));
  t.equal(transactionFor(request, 'repository').id, 'ITI-43');
  t.equal(fault(() => transactionFor(request, 'registry')).subcode?.name, 'ActionNotSupported');
});

void t.test('a body that is not the request element of the action is refused', async (t) => {
  const request = parseSoapEnvelope(soap12(QUERY_BODY, ACTION.iti42));
  t.equal(fault(() => transactionFor(request, 'registry')).subcode?.name, 'UnexpectedBody');
});

void t.test('the content type says whether the body is plain SOAP or MTOM', async (t) => {
  t.same(classifyRequestContentType('application/soap+xml; charset=UTF-8; action="urn:ihe:iti:2007:RegistryStoredQuery"'), {
    kind: 'soap',
    action: ACTION.iti18,
  });
  t.same(
    classifyRequestContentType('multipart/related; type="application/xop+xml"; boundary="MIME_b"; start="<root@x>"; start-info="application/soap+xml"'),
    { kind: 'mtom', boundary: 'MIME_b', start: '<root@x>' },
  );
});

void t.test('a wrong content type gets a Sender fault with HTTP 415', async (t) => {
  for (const header of [undefined, 'text/plain', 'application/json', 'multipart/related; boundary=x', 'application/soap+xml; charset=ISO-8859-1']) {
    const f = fault(() => classifyRequestContentType(header));
    t.equal(f.code, 'Sender', String(header));
    t.equal(f.httpStatus, 415, String(header));
  }
});

void t.test('text/xml, the SOAP 1.1 media type, gets a VersionMismatch fault', async (t) => {
  t.equal(fault(() => classifyRequestContentType('text/xml; charset=utf-8')).code, 'VersionMismatch');
});

void t.test('a content-type action that contradicts wsa:Action is refused', async (t) => {
  const request = parseSoapEnvelope(soap12(QUERY_BODY, ACTION.iti18));
  t.equal(fault(() => checkActionsAgree({ kind: 'soap', action: ACTION.iti42 }, request)).subcode?.name, 'ActionMismatch');
  t.doesNotThrow(() => checkActionsAgree({ kind: 'soap', action: ACTION.iti18 }, request));
});

void t.test('the answer carries the response action and relates to the request message id', async (t) => {
  const xml = buildSoapEnvelope({ action: XDS_TRANSACTIONS['ITI-42'].responseAction, relatesTo: 'urn:uuid:req', body: buildRegistryResponse() });
  const envelope = parseXml(xml);
  const header = envelope.children[0];
  const text = (name: string) => header.children.find((c) => c.name === name)?.content.join('');
  t.equal(text('Action'), 'urn:ihe:iti:2007:RegisterDocumentSet-bResponse');
  t.equal(text('RelatesTo'), 'urn:uuid:req');
  t.match(text('MessageID'), /^urn:uuid:/);
  t.equal(envelope.children[1].children[0].name, 'RegistryResponse');
});

void t.test('a fault envelope has the SOAP 1.2 code, subcode and reason', async (t) => {
  const xml = buildSoapFault(new SoapFault('Sender', 'bad thing', { subcode: { ns: 'urn:carnet:soap:fault', prefix: 'carnet', name: 'HostileXml' } }), 'urn:uuid:r');
  t.match(xml, /<env:Value>env:Sender<\/env:Value>/);
  t.match(xml, /<env:Value xmlns:carnet="urn:carnet:soap:fault">carnet:HostileXml<\/env:Value>/);
  t.match(xml, /<env:Text xml:lang="en">bad thing<\/env:Text>/);
  t.match(xml, /http:\/\/www.w3.org\/2005\/08\/addressing\/soap\/fault/);
  t.doesNotThrow(() => parseXml(xml));
});

void t.test('any error becomes a fault; unexpected ones say nothing about the internals', async (t) => {
  t.equal(toSoapFault(new XmlError('doctype', 'x')).subcode?.name, 'HostileXml');
  t.equal(toSoapFault(new MtomError('truncated', 'cut')).subcode?.name, 'MalformedMultipart');
  const internal = toSoapFault(new Error('database password is hunter2'));
  t.equal(internal.code, 'Receiver');
  t.notMatch(internal.reason, /hunter2/);
});
