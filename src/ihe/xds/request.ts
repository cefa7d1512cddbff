// The transport front of both endpoints: from an HTTP Content-Type and body stream to the typed
// request of the transaction wsa:Action names. Everything here is decided by the message alone;
// what the registry then does (validation against its state, storing, answering) is the caller's.
//
// Throws SoapFault (wrong content type, malformed or hostile envelope, unknown action, body too
// large) or MtomError (broken multipart); toSoapFault() turns either into the answer.
import type { AdhocQueryParseResult } from './stored-query.ts';
import { parseAdhocQueryRequest } from './stored-query.ts';
import type { RemoveMetadataRequest } from './delete.ts';
import { parseRemoveMetadataRequest } from './delete.ts';
import type { MtomAttachment, MtomLimits } from './mtom.ts';
import { readMtomMessage } from './mtom.ts';
import type { ProvideAndRegisterRequest } from './provide-and-register.ts';
import { parseProvideAndRegisterRequest } from './provide-and-register.ts';
import type { RegisterRequest } from './register.ts';
import { parseRegisterRequest } from './register.ts';
import type { RetrieveDocumentSetRequest } from './retrieve.ts';
import { parseRetrieveDocumentSetRequest } from './retrieve.ts';
import type { SoapRequest } from './soap.ts';
import { checkActionsAgree, classifyRequestContentType, FAULT_SUBCODES, parseSoapEnvelope, SoapFault } from './soap.ts';
import type { TransactionInfo, XdsEndpoint } from './transactions.ts';
import { transactionFor } from './transactions.ts';
import type { UpdateDocumentSetRequest } from './update.ts';
import { parseUpdateDocumentSetRequest } from './update.ts';
import type { XmlLimits } from './xml.ts';
import { DEFAULT_XML_LIMITS } from './xml.ts';

interface Common {
  readonly soap: SoapRequest;
  readonly info: TransactionInfo;
  /** MTOM attachments still to be read, in order (empty for a plain SOAP body). Single use. */
  readonly attachments: () => AsyncGenerator<MtomAttachment, void, undefined>;
}

export type XdsRequest =
  | (Common & { readonly transaction: 'ITI-18'; readonly query: AdhocQueryParseResult })
  | (Common & { readonly transaction: 'ITI-41'; readonly provide: ProvideAndRegisterRequest })
  | (Common & { readonly transaction: 'ITI-42'; readonly register: RegisterRequest })
  | (Common & { readonly transaction: 'ITI-43'; readonly retrieve: RetrieveDocumentSetRequest })
  | (Common & { readonly transaction: 'ITI-57'; readonly update: UpdateDocumentSetRequest })
  | (Common & { readonly transaction: 'ITI-62'; readonly remove: RemoveMetadataRequest });

export interface ReadRequestOptions {
  readonly xmlLimits?: Partial<XmlLimits>;
  readonly mtomLimits?: Partial<MtomLimits>;
}

async function* none(): AsyncGenerator<MtomAttachment, void, undefined> {
  // A plain SOAP request has no attachments.
}

/** Reads a whole (non-multipart) body, refusing it as soon as it passes the limit. */
async function readBounded(body: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) throw new SoapFault('Sender', `the SOAP message exceeds ${max} bytes`, { subcode: FAULT_SUBCODES.tooLarge, httpStatus: 413 });
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, size);
}

/** Decodes one XDS request arriving at `endpoint`. */
export async function readXdsRequest(
  contentType: string | undefined,
  body: AsyncIterable<Uint8Array>,
  endpoint: XdsEndpoint,
  options: ReadRequestOptions = {},
): Promise<XdsRequest> {
  const framing = classifyRequestContentType(contentType);
  const xmlLimits = { ...DEFAULT_XML_LIMITS, ...options.xmlLimits };
  let xml: Buffer;
  let attachments: Common['attachments'] = none;
  if (framing.kind === 'mtom') {
    const message = await readMtomMessage(body, framing.boundary, {
      start: framing.start,
      limits: { maxRootBytes: xmlLimits.maxBytes, ...options.mtomLimits },
    });
    xml = message.root.xml;
    attachments = () => message.attachments();
  } else {
    xml = await readBounded(body, xmlLimits.maxBytes);
  }
  const soap = parseSoapEnvelope(xml, { limits: xmlLimits });
  checkActionsAgree(framing, soap);
  const info = transactionFor(soap, endpoint);
  const common = { soap, info, attachments };
  switch (info.id) {
    case 'ITI-18':
      return { ...common, transaction: info.id, query: parseAdhocQueryRequest(soap.body) };
    case 'ITI-41':
      return { ...common, transaction: info.id, provide: parseProvideAndRegisterRequest(soap.body) };
    case 'ITI-42':
      return { ...common, transaction: info.id, register: parseRegisterRequest(soap.body) };
    case 'ITI-43':
      return { ...common, transaction: info.id, retrieve: parseRetrieveDocumentSetRequest(soap.body) };
    case 'ITI-57':
      return { ...common, transaction: info.id, update: parseUpdateDocumentSetRequest(soap.body) };
    case 'ITI-62':
      return { ...common, transaction: info.id, remove: parseRemoveMetadataRequest(soap.body) };
  }
}
