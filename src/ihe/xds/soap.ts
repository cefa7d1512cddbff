// SOAP 1.2 with WS-Addressing, as ITI TF-2 Appendix V asks: reading request envelopes,
// writing answers (wsa:Action of the response, wsa:RelatesTo the request's MessageID) and faults.
//
// Everything that is wrong with the transport or the envelope is a SoapFault; everything wrong
// with the XDS content inside a well-formed request is a RegistryResponse (errors.ts). The HTTP
// layer turns a SoapFault into its httpStatus and buildSoapFault()'s body.
import { randomUUID } from 'node:crypto';
import { formatParameter, parseMediaType } from './content-type.ts';
import { NS } from './vocabulary.ts';
import type { XmlBuild, XmlElement, XmlErrorReason, XmlLimits } from './xml.ts';
import { attr, child, childrenNamed, el, parseXml, serializeXml, textOf, XmlError } from './xml.ts';

export type SoapFaultCode = 'Sender' | 'Receiver' | 'VersionMismatch' | 'MustUnderstand' | 'DataEncodingUnknown';

export interface FaultSubcode {
  readonly ns: string;
  readonly prefix: string;
  readonly name: string;
}

/** Carnet's own subcodes, for faults that WS-Addressing and SOAP do not name. */
export const CARNET_FAULT_NS = 'urn:carnet:soap:fault';

const sub = (name: string, ns: string = CARNET_FAULT_NS, prefix = 'carnet'): FaultSubcode => ({ ns, prefix, name });

export const FAULT_SUBCODES = {
  actionNotSupported: sub('ActionNotSupported', NS.wsa, 'wsa'),
  messageAddressingHeaderRequired: sub('MessageAddressingHeaderRequired', NS.wsa, 'wsa'),
  invalidAddressingHeader: sub('InvalidAddressingHeader', NS.wsa, 'wsa'),
  onlyAnonymousAddressSupported: sub('OnlyAnonymousAddressSupported', NS.wsa, 'wsa'),
  actionMismatch: sub('ActionMismatch', NS.wsa, 'wsa'),
  unsupportedMediaType: sub('UnsupportedMediaType'),
  malformedEnvelope: sub('MalformedEnvelope'),
  malformedXml: sub('MalformedXml'),
  hostileXml: sub('HostileXml'),
  tooLarge: sub('TooLarge'),
  malformedMultipart: sub('MalformedMultipart'),
  unexpectedBody: sub('UnexpectedBody'),
  internalError: sub('InternalError'),
} as const;

const FAULT_ACTION = 'http://www.w3.org/2005/08/addressing/soap/fault';
const WSA_FAULT_ACTION = 'http://www.w3.org/2005/08/addressing/fault';
const ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';

/** SOAP 1.2 HTTP binding: Sender faults are 400, all others 500 (unless a more exact status fits). */
function defaultStatus(code: SoapFaultCode): number {
  return code === 'Sender' ? 400 : 500;
}

export class SoapFault extends Error {
  readonly code: SoapFaultCode;
  readonly subcode?: FaultSubcode;
  /** Human-readable reason, sent in env:Reason. Never carries message content. */
  readonly reason: string;
  readonly httpStatus: number;
  constructor(code: SoapFaultCode, reason: string, options: { subcode?: FaultSubcode; httpStatus?: number } = {}) {
    super(reason);
    this.name = 'SoapFault';
    this.code = code;
    this.subcode = options.subcode;
    this.reason = reason;
    this.httpStatus = options.httpStatus ?? defaultStatus(code);
  }
}

/** A parsed request envelope. */
export interface SoapRequest {
  readonly action: string;
  readonly messageId?: string;
  readonly replyTo?: string;
  readonly to?: string;
  /** All header blocks (the lead reads wsse:Security / the VIHF assertion from here). */
  readonly headers: readonly XmlElement[];
  /** The single child of env:Body: the XDS request element. */
  readonly body: XmlElement;
}

export interface SoapParseOptions {
  limits?: Partial<XmlLimits>;
  /** Namespaces of header blocks we process; a mustUnderstand block outside them is a fault. */
  understoodHeaderNamespaces?: readonly string[];
}

/** WS-Addressing, and WS-Security (whose VIHF/SAML assertion the identity layer reads). */
export const DEFAULT_UNDERSTOOD_HEADERS: readonly string[] = [NS.wsa, NS.wsse];

const XML_FAULT: Record<XmlErrorReason, { subcode: FaultSubcode; status: number }> = {
  'too-large': { subcode: FAULT_SUBCODES.tooLarge, status: 413 },
  'too-deep': { subcode: FAULT_SUBCODES.hostileXml, status: 400 },
  'too-many-elements': { subcode: FAULT_SUBCODES.hostileXml, status: 400 },
  'too-many-attributes': { subcode: FAULT_SUBCODES.hostileXml, status: 400 },
  doctype: { subcode: FAULT_SUBCODES.hostileXml, status: 400 },
  encoding: { subcode: FAULT_SUBCODES.malformedXml, status: 400 },
  malformed: { subcode: FAULT_SUBCODES.malformedXml, status: 400 },
};

/** The fault for an XML document we refused. */
export function faultForXmlError(error: XmlError): SoapFault {
  const { subcode, status } = XML_FAULT[error.reason];
  return new SoapFault('Sender', error.message, { subcode, httpStatus: status });
}

/** Reads a SOAP 1.2 envelope. Throws SoapFault only. */
export function parseSoapEnvelope(input: string | Uint8Array, options: SoapParseOptions = {}): SoapRequest {
  let root: XmlElement;
  try {
    root = parseXml(input, options.limits);
  } catch (error) {
    if (error instanceof XmlError) throw faultForXmlError(error);
    throw error;
  }
  if (root.name === 'Envelope' && root.ns === NS.soap11) {
    throw new SoapFault('VersionMismatch', 'SOAP 1.1 envelopes are not supported: XDS.b requires SOAP 1.2');
  }
  if (root.name !== 'Envelope' || root.ns !== NS.soap12) {
    throw new SoapFault('Sender', 'the message is not a SOAP 1.2 envelope', { subcode: FAULT_SUBCODES.malformedEnvelope });
  }
  const headerElements = childrenNamed(root, NS.soap12, 'Header');
  const bodies = childrenNamed(root, NS.soap12, 'Body');
  const unexpected = root.children.filter((c) => c.ns !== NS.soap12 || (c.name !== 'Header' && c.name !== 'Body'));
  if (headerElements.length > 1 || bodies.length !== 1 || unexpected.length > 0 || (headerElements[0] && root.children[0] !== headerElements[0])) {
    throw new SoapFault('Sender', 'the envelope must hold at most one Header followed by exactly one Body', { subcode: FAULT_SUBCODES.malformedEnvelope });
  }
  const headers = headerElements[0]?.children ?? [];
  const understood = options.understoodHeaderNamespaces ?? DEFAULT_UNDERSTOOD_HEADERS;
  for (const h of headers) {
    const mustUnderstand = attr(h, 'mustUnderstand', NS.soap12);
    if ((mustUnderstand === 'true' || mustUnderstand === '1') && !understood.includes(h.ns)) {
      throw new SoapFault('MustUnderstand', `header block {${h.ns}}${h.name} is not understood`);
    }
  }
  const action = singleAddressingHeader(headers, 'Action');
  if (!action) {
    throw new SoapFault('Sender', 'a wsa:Action header is required', { subcode: FAULT_SUBCODES.messageAddressingHeaderRequired });
  }
  const replyToElement = addressingHeaders(headers, 'ReplyTo');
  if (replyToElement.length > 1) throw invalidAddressing('ReplyTo');
  const replyTo = replyToElement[0] ? textOf(child(replyToElement[0], NS.wsa, 'Address')).trim() : undefined;
  if (replyTo !== undefined && replyTo !== ANONYMOUS) {
    throw new SoapFault('Sender', 'only the anonymous wsa:ReplyTo address is supported (synchronous answers)', {
      subcode: FAULT_SUBCODES.onlyAnonymousAddressSupported,
    });
  }
  const bodyChildren = bodies[0].children;
  if (bodyChildren.length !== 1) {
    throw new SoapFault('Sender', 'the SOAP Body must hold exactly one request element', { subcode: FAULT_SUBCODES.unexpectedBody });
  }
  return {
    action,
    messageId: singleAddressingHeader(headers, 'MessageID'),
    replyTo,
    to: singleAddressingHeader(headers, 'To'),
    headers,
    body: bodyChildren[0],
  };
}

function addressingHeaders(headers: readonly XmlElement[], name: string): XmlElement[] {
  return headers.filter((h) => h.ns === NS.wsa && h.name === name);
}

function invalidAddressing(name: string): SoapFault {
  return new SoapFault('Sender', `the wsa:${name} header appears more than once`, { subcode: FAULT_SUBCODES.invalidAddressingHeader });
}

function singleAddressingHeader(headers: readonly XmlElement[], name: string): string | undefined {
  const found = addressingHeaders(headers, name);
  if (found.length > 1) throw invalidAddressing(name);
  const value = found[0] ? textOf(found[0]).trim() : undefined;
  return value === '' ? undefined : value;
}

// ---------------------------------------------------------------------------------------------
// Request framing (HTTP Content-Type)

export type RequestFraming =
  | { readonly kind: 'soap'; readonly action?: string }
  | { readonly kind: 'mtom'; readonly boundary: string; readonly start?: string; readonly action?: string };

/**
 * Decides from the HTTP Content-Type how the body is framed: a plain SOAP 1.2 envelope, or an
 * MTOM/XOP multipart package. Throws a Sender fault with HTTP 415 for anything else.
 */
export function classifyRequestContentType(header: string | undefined): RequestFraming {
  const media = parseMediaType(header);
  const unsupported = (why: string) => new SoapFault('Sender', why, { subcode: FAULT_SUBCODES.unsupportedMediaType, httpStatus: 415 });
  if (!media) throw unsupported('missing or unreadable Content-Type');
  const charset = media.params.get('charset');
  if (charset && !/^utf-8$/i.test(charset)) throw unsupported(`unsupported charset ${charset.slice(0, 40)}`);
  if (media.essence === 'application/soap+xml') {
    return { kind: 'soap', action: media.params.get('action') || undefined };
  }
  if (media.essence === 'text/xml') {
    throw new SoapFault('VersionMismatch', 'text/xml is the SOAP 1.1 media type: XDS.b requires SOAP 1.2 (application/soap+xml)', {
      httpStatus: 415,
    });
  }
  if (media.essence === 'multipart/related') {
    const type = media.params.get('type')?.toLowerCase();
    const boundary = media.params.get('boundary');
    if (type !== 'application/xop+xml') throw unsupported('multipart/related bodies must have type="application/xop+xml" (MTOM)');
    if (!boundary || boundary.length > 70) throw unsupported('multipart/related without a valid boundary');
    const startInfo = parseMediaType(media.params.get('start-info'));
    if (media.params.has('start-info') && startInfo?.essence !== 'application/soap+xml') {
      throw unsupported('MTOM start-info must be application/soap+xml');
    }
    const action = media.params.get('action') || startInfo?.params.get('action') || undefined;
    const start = media.params.get('start');
    return { kind: 'mtom', boundary, ...(start ? { start } : {}), ...(action ? { action } : {}) };
  }
  throw unsupported(`unsupported Content-Type ${media.essence}`);
}

/** The Content-Type action parameter, when present, must agree with wsa:Action. */
export function checkActionsAgree(framing: RequestFraming, request: SoapRequest): void {
  if (framing.action && framing.action !== request.action) {
    throw new SoapFault('Sender', 'the Content-Type action parameter differs from wsa:Action', { subcode: FAULT_SUBCODES.actionMismatch });
  }
}

// ---------------------------------------------------------------------------------------------
// Answers

export interface SoapAnswer {
  readonly action: string;
  /** The request's wsa:MessageID, when it had one. */
  readonly relatesTo?: string;
  readonly body: XmlBuild;
  /** Defaults to a fresh urn:uuid. */
  readonly messageId?: string;
}

function envelope(action: string, relatesTo: string | undefined, messageId: string | undefined, body: XmlBuild): XmlBuild {
  return el(
    'env:Envelope',
    { 'xmlns:env': NS.soap12, 'xmlns:wsa': NS.wsa },
    el(
      'env:Header',
      {},
      el('wsa:Action', { 'env:mustUnderstand': 'true' }, action),
      el('wsa:MessageID', {}, messageId ?? `urn:uuid:${randomUUID()}`),
      relatesTo !== undefined && el('wsa:RelatesTo', {}, relatesTo),
    ),
    el('env:Body', {}, body),
  );
}

/** The whole response envelope as a string. */
export function buildSoapEnvelope(answer: SoapAnswer): string {
  return serializeXml(envelope(answer.action, answer.relatesTo, answer.messageId, answer.body), { declaration: true });
}

/** A fault envelope (SOAP 1.2 env:Fault with Code/Subcode and Reason). */
export function buildSoapFault(fault: SoapFault, relatesTo?: string): string {
  const sub = fault.subcode;
  const action = sub?.ns === NS.wsa ? WSA_FAULT_ACTION : FAULT_ACTION;
  const code = el(
    'env:Code',
    {},
    el('env:Value', {}, `env:${fault.code}`),
    sub && el('env:Subcode', {}, el('env:Value', sub.ns === NS.wsa ? {} : { [`xmlns:${sub.prefix}`]: sub.ns }, `${sub.prefix}:${sub.name}`)),
  );
  const body = el('env:Fault', {}, code, el('env:Reason', {}, el('env:Text', { 'xml:lang': 'en' }, fault.reason)));
  return serializeXml(envelope(action, relatesTo, undefined, body), { declaration: true });
}

/**
 * Any error into a fault: SoapFault as is, refused XML as a Sender fault, anything else as a
 * Receiver fault whose reason says nothing about the internals (the caller logs the original).
 */
export function toSoapFault(error: unknown): SoapFault {
  if (error instanceof SoapFault) return error;
  if (error instanceof XmlError) return faultForXmlError(error);
  if (error && typeof error === 'object' && 'toSoapFault' in error && typeof error.toSoapFault === 'function') {
    return (error as { toSoapFault(): SoapFault }).toSoapFault();
  }
  return new SoapFault('Receiver', 'internal error', { subcode: FAULT_SUBCODES.internalError });
}

/** Content-Type of a plain SOAP 1.2 answer. */
export function soapContentType(action?: string): string {
  return ['application/soap+xml', 'charset=UTF-8', ...(action ? [formatParameter('action', action)] : [])].join('; ');
}
