// IHE XDS.b, one front door. The protocol layer is pure and store-agnostic: it reads and writes
// the messages (SOAP 1.2 + WS-Addressing, MTOM/XOP, ebRIM 3.0), checks metadata against XDS.b and
// an affinity domain, maps XDS objects to FHIR (MHD) and back. registerXds (routes.ts) wires it
// to HTTP, to the FHIR repository (one data model) and its access gate; service/ holds one module
// per transaction.
//
// Per transaction, what a route does with it:
//   any      readXdsRequest(contentType, body, endpoint) → the typed request of the transaction
//            (= classifyRequestContentType → readMtomMessage → parseSoapEnvelope → transactionFor → parse…)
//   ITI-41   request.provide (issues) → validateSubmission → stream request.attachments() through
//            measuring() (+ src/cda createCdaReader → cdaContradictions) → checkProvidedDocument →
//            lookupsFor/checkAgainstRegistry → assignEntryUuids → toMhd → commit → buildRegistryResponse
//   ITI-42   parseRegisterRequest → validateSubmission → checkAgainstRegistry → assignEntryUuids → toMhd → buildRegistryResponse
//   ITI-57   parseUpdateDocumentSetRequest → validateSubmission → checkAgainstRegistry → apply → buildRegistryResponse
//   ITI-62   parseRemoveMetadataRequest → checkRemoval → remove → buildRegistryResponse
//   ITI-18   parseAdhocQueryRequest → (store search) → fromMhd → buildAdhocQueryResponse
//   ITI-43   parseRetrieveDocumentSetRequest → unknownRepository/documentNotFound → retrieveResponseMessage
//   answer   buildSoapEnvelope({ action: info.responseAction, relatesTo: request.messageId, body })
//   failure  toSoapFault(error) → buildSoapFault (status fault.httpStatus)

export { parseXml, serializeXml, XmlError, XmlStreamParser, DEFAULT_XML_LIMITS, el, attr, child, childrenNamed, textOf, deepText, path } from './xml.ts';
export type { XmlElement, XmlBuild, XmlChild, XmlLimits, XmlErrorReason, XmlParseOptions, ElementName } from './xml.ts';

export {
  parseSoapEnvelope, buildSoapEnvelope, buildSoapFault, classifyRequestContentType, checkActionsAgree, toSoapFault, soapContentType,
  SoapFault, FAULT_SUBCODES, CARNET_FAULT_NS, DEFAULT_UNDERSTOOD_HEADERS,
} from './soap.ts';
export type { SoapRequest, SoapAnswer, SoapFaultCode, FaultSubcode, RequestFraming, SoapParseOptions } from './soap.ts';

export { XDS_TRANSACTIONS, transactionFor } from './transactions.ts';
export { readXdsRequest } from './request.ts';
export type { XdsRequest, ReadRequestOptions } from './request.ts';
export type { TransactionId, TransactionInfo, XdsEndpoint } from './transactions.ts';

export {
  readMtomMessage, buildMtomMessage, documentContent, contentIdFromHref, normaliseContentId, newContentId, MtomError, DEFAULT_MTOM_LIMITS,
} from './mtom.ts';
export type { MtomMessage, MtomAttachment, MtomLimits, MtomErrorReason, DocumentContent, OutgoingAttachment, OutgoingMultipart, PartHeaders } from './mtom.ts';

export { measureBytes, measuring } from './digest.ts';
export type { DocumentMeasure } from './digest.ts';

export type { Code, Slot, Author, DocumentEntry, SubmissionSet, Folder, Association, RegistryObjects, DocumentObjectType } from './model.ts';
export { emptyRegistryObjects, allEntryUuids, assignEntryUuids } from './model.ts';

export * as hl7v2 from './hl7v2.ts';
export type { Cx, Xcn, Xon, Hd } from './hl7v2.ts';

export {
  NS, OBJECT_TYPE, STATUS, ASSOCIATION_TYPE_URN, RESPONSE_STATUS, ERROR_SEVERITY, DOCUMENT_ENTRY_SCHEME, SUBMISSION_SET_SCHEME, FOLDER_SCHEME,
  DOCUMENT_AVAILABILITY,
} from './vocabulary.ts';
export type { AssociationType, ResponseStatus, ErrorSeverity } from './vocabulary.ts';

export { parseSubmitObjectsRequest, parseRegistryObjectList, buildRegistryObjectList, buildLeafClassObjects, buildSubmitObjectsRequest, buildObjectRefs } from './ebrim.ts';
export type { ParsedRegistryObjects, BuildOptions } from './ebrim.ts';

export { XDS_ERROR_CODES, registryError, hasErrors, responseStatusFor, buildRegistryResponse, buildRegistryErrorList, failureResponse } from './errors.ts';
export type { RegistryError, XdsErrorCode, ErrorCodeInfo } from './errors.ts';

export { loadAffinityDomain, loadValueSet, checkCode, isValidIns } from './affinity-domain.ts';
export type { AffinityDomain, AffinityDomainId, CodedAttribute, ValueSet } from './affinity-domain.ts';

export { validateSubmission, isDtm, isDocumentUniqueId, codedAuthorValue } from './validate.ts';
export type { SubmissionTransaction, SubmissionCheckOptions } from './validate.ts';
export { checkAgainstRegistry, lookupsFor, patientKey } from './registry-checks.ts';
export type { ExistingObject, RegistryFacts } from './registry-checks.ts';

export { parseProvideAndRegisterRequest, attachmentsWanted, missingAttachments, checkProvidedDocument } from './provide-and-register.ts';
export type { ProvideAndRegisterRequest, ProvidedDocument } from './provide-and-register.ts';
export { parseRegisterRequest } from './register.ts';
export type { RegisterRequest } from './register.ts';
export { parseUpdateDocumentSetRequest } from './update.ts';
export type { UpdateDocumentSetRequest, MetadataUpdate, StatusUpdate } from './update.ts';
export { parseRemoveMetadataRequest, checkRemoval } from './delete.ts';
export type { RemoveMetadataRequest, RemovalFacts } from './delete.ts';
export {
  parseRetrieveDocumentSetRequest, buildRetrieveDocumentSetResponse, retrieveResponseMessage, unknownRepository, documentNotFound, retrieveStatus,
} from './retrieve.ts';
export type { DocumentRequest, RetrieveDocumentSetRequest, RetrievedDocument } from './retrieve.ts';
export { parseAdhocQueryRequest, buildAdhocQueryResponse, parseQueryValue, STORED_QUERY_IDS } from './stored-query.ts';
export type {
  AdhocQueryRequest, AdhocQueryParseResult, StoredQuery, StoredQueryName, DocumentEntryFilter, ContentFilter, CodeQuery, TimeRange, IdSelector, ReturnType,
} from './stored-query.ts';

export {
  toMhd, fromMhd, documentEntryToDocumentReference, documentReferenceToDocumentEntry, submissionSetToList, folderToList, listToSubmissionSet,
  listToFolder, listKind, cxToIdentifier, identifierToCx, uniqueIdToIdentifier, identifierToUniqueId, dtmToFhir, fhirToDtm,
  codingSchemeToSystem, systemToCodingScheme, MHD_EXTENSION, XDS_EXTENSION, MHD_LIST_TYPES, PDSM_IS_ARCHIVED, LOGICAL_ID_TYPE,
} from './mhd-mapping.ts';
export type { MhdMappingOptions, MhdResources } from './mhd-mapping.ts';

export { registerXds } from './routes.ts';
export { createXdsService, DEFAULT_XDS_LIMITS } from './service/index.ts';
export type { XdsDeps, XdsLimits } from './service/index.ts';
