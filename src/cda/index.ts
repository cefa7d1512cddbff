// CDA R2 intake: header reading, narrative text for search, and the checks that XDS metadata
// does not contradict the document.
export {
  CDA_NS, CdaError, cdaContradictions, cdaTimeToUtcDtm, createCdaReader, DEFAULT_CDA_LIMITS, readCda,
} from './header.ts';
export type { CdaAuthor, CdaCode, CdaDocument, CdaErrorReason, CdaHeader, CdaId, CdaPersonName, CdaReadOptions } from './header.ts';
