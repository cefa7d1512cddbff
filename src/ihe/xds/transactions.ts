// The XDS.b transactions Carnet serves, as data: endpoint, SOAP actions (ITI TF-2), the request
// element each must carry and whether MTOM applies. The HTTP layer picks the transaction from
// wsa:Action and checks the body matches before handing it to the transaction's parser.
import type { SoapRequest } from './soap.ts';
import { FAULT_SUBCODES, SoapFault } from './soap.ts';
import { NS } from './vocabulary.ts';

export type XdsEndpoint = 'registry' | 'repository';
export type TransactionId = 'ITI-18' | 'ITI-41' | 'ITI-42' | 'ITI-43' | 'ITI-57' | 'ITI-62';

export interface TransactionInfo {
  readonly id: TransactionId;
  readonly name: string;
  readonly endpoint: XdsEndpoint;
  readonly requestAction: string;
  readonly responseAction: string;
  readonly requestElement: { readonly ns: string; readonly name: string };
  /** Where MTOM is used: ITI-41 requests carry documents, ITI-43 answers do. */
  readonly mtom: 'request' | 'response' | 'none';
}

export const XDS_TRANSACTIONS: Readonly<Record<TransactionId, TransactionInfo>> = {
  'ITI-18': {
    id: 'ITI-18', name: 'Registry Stored Query', endpoint: 'registry',
    requestAction: 'urn:ihe:iti:2007:RegistryStoredQuery', responseAction: 'urn:ihe:iti:2007:RegistryStoredQueryResponse',
    requestElement: { ns: NS.query, name: 'AdhocQueryRequest' }, mtom: 'none',
  },
  'ITI-41': {
    id: 'ITI-41', name: 'Provide and Register Document Set-b', endpoint: 'repository',
    requestAction: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b', responseAction: 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse',
    requestElement: { ns: NS.xdsb, name: 'ProvideAndRegisterDocumentSetRequest' }, mtom: 'request',
  },
  'ITI-42': {
    id: 'ITI-42', name: 'Register Document Set-b', endpoint: 'registry',
    requestAction: 'urn:ihe:iti:2007:RegisterDocumentSet-b', responseAction: 'urn:ihe:iti:2007:RegisterDocumentSet-bResponse',
    requestElement: { ns: NS.lcm, name: 'SubmitObjectsRequest' }, mtom: 'none',
  },
  'ITI-43': {
    id: 'ITI-43', name: 'Retrieve Document Set', endpoint: 'repository',
    requestAction: 'urn:ihe:iti:2007:RetrieveDocumentSet', responseAction: 'urn:ihe:iti:2007:RetrieveDocumentSetResponse',
    requestElement: { ns: NS.xdsb, name: 'RetrieveDocumentSetRequest' }, mtom: 'response',
  },
  'ITI-57': {
    id: 'ITI-57', name: 'Update Document Set', endpoint: 'registry',
    requestAction: 'urn:ihe:iti:2010:UpdateDocumentSet', responseAction: 'urn:ihe:iti:2010:UpdateDocumentSetResponse',
    requestElement: { ns: NS.lcm, name: 'SubmitObjectsRequest' }, mtom: 'none',
  },
  'ITI-62': {
    id: 'ITI-62', name: 'Delete Document Set', endpoint: 'registry',
    requestAction: 'urn:ihe:iti:2010:DeleteDocumentSet', responseAction: 'urn:ihe:iti:2010:DeleteDocumentSetResponse',
    requestElement: { ns: NS.lcm, name: 'RemoveObjectsRequest' }, mtom: 'none',
  },
};

/**
 * The transaction a request asks for on this endpoint. An action unknown here, or known but
 * served by the other endpoint, is the WS-Addressing ActionNotSupported fault; a body that is not
 * the transaction's request element is a Sender fault too.
 */
export function transactionFor(request: SoapRequest, endpoint: XdsEndpoint): TransactionInfo {
  const info = Object.values(XDS_TRANSACTIONS).find((t) => t.requestAction === request.action && t.endpoint === endpoint);
  if (!info) {
    throw new SoapFault('Sender', `action not supported on the ${endpoint} endpoint`, { subcode: FAULT_SUBCODES.actionNotSupported });
  }
  const { ns, name } = info.requestElement;
  if (request.body.ns !== ns || request.body.name !== name) {
    throw new SoapFault('Sender', `the ${info.id} request body must be {${ns}}${name}`, { subcode: FAULT_SUBCODES.unexpectedBody });
  }
  return info;
}
