// The sax streaming XML parser, typed for the part of its API Carnet uses (sax ships no types).
// Both XML readers — FHIR XML (src/fhir/xml) and the XDS SOAP/ebRIM reader (src/ihe/xds) —
// build on it, each with its own limits and tree; DTDs are refused by both (ondoctype).
import { createRequire } from 'node:module';

export interface SaxQualifiedAttribute {
  name: string;
  value: string;
  prefix: string;
  local: string;
  uri: string;
}

export interface SaxQualifiedTag {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attributes: Record<string, SaxQualifiedAttribute>;
  ns: Record<string, string>;
  isSelfClosing: boolean;
}

export interface SaxParser {
  line: number;
  column: number;
  onerror: (error: Error) => void;
  ontext: (text: string) => void;
  oncdata: (text: string) => void;
  onopentagstart: () => void;
  onattribute: (attribute: SaxQualifiedAttribute) => void;
  onopentag: (tag: SaxQualifiedTag) => void;
  onclosetag: (name: string) => void;
  ondoctype: (doctype: string) => void;
  onsgmldeclaration: (declaration: string) => void;
  write(chunk: string): SaxParser;
  close(): SaxParser;
}

export interface SaxOptions {
  xmlns: boolean;
  strictEntities?: boolean;
  position?: boolean;
  trim?: boolean;
  normalize?: boolean;
}

interface SaxModule {
  parser(strict: boolean, options: SaxOptions): SaxParser;
}

const sax = createRequire(import.meta.url)('sax') as SaxModule;

/** A strict sax parser. */
export function saxParser(options: SaxOptions): SaxParser {
  return sax.parser(true, options);
}
