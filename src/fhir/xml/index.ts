// FHIR XML format (application/fhir+xml), per https://hl7.org/fhir/R4/xml.html: reads FHIR XML
// into the JSON form the rest of Carnet works with, and writes that form back as FHIR XML.
export { parseFhirXml } from './parse.ts';
export { toFhirXml } from './serialise.ts';
export type { ToFhirXmlOptions } from './serialise.ts';
export { DEFAULT_FHIR_XML_LIMITS, FhirXmlError } from './errors.ts';
export type { FhirXmlLimits } from './errors.ts';
export { FHIR_NS, fhirTypeModel } from './model.ts';
export type { RawJsonNumber } from './primitives.ts';

export const FHIR_XML_CONTENT_TYPE = 'application/fhir+xml';
