// CDA R2 intake: the header fields XDS metadata must agree with (patient, document id and type,
// effective time, confidentiality, language, title, authors, facility type), and the narrative
// text kept for keyword search. Read with the same hostile-input-safe parser as XDS messages.
//
// A CDA can be large (level 1 documents embed a PDF in base64), so the reader keeps only the
// header and the section titles and texts: structured entries and the embedded body are pruned
// while they stream by, and the reader can be fed chunk by chunk (createCdaReader) alongside
// storing the document.
import type { DocumentEntry, ElementName, RegistryError, XmlElement, XmlLimits } from '../ihe/xds/index.ts';
import { attr, child, childrenNamed, deepText, hl7v2, registryError, textOf, XmlError, XmlStreamParser } from '../ihe/xds/index.ts';

export const CDA_NS = 'urn:hl7-org:v3';

export interface CdaId {
  root: string;
  extension?: string;
}

export interface CdaCode {
  code?: string;
  codeSystem?: string;
  displayName?: string;
}

export interface CdaPersonName {
  family?: string;
  given: string[];
  prefix?: string;
}

export interface CdaAuthor {
  time?: string;
  ids: CdaId[];
  /** assignedAuthor/code: the author's specialty in the DMP. */
  code?: CdaCode;
  functionCode?: CdaCode;
  name?: CdaPersonName;
  organization?: { ids: CdaId[]; name?: string; standardIndustryClassCode?: CdaCode };
}

export interface CdaHeader {
  id?: CdaId;
  setId?: CdaId;
  versionNumber?: string;
  templateIds: CdaId[];
  code?: CdaCode;
  title?: string;
  /** TS as written (e.g. 20240115103000+0100). */
  effectiveTime?: string;
  confidentialityCode?: CdaCode;
  languageCode?: string;
  patientIds: CdaId[];
  authors: CdaAuthor[];
  legalAuthenticator?: { time?: string; ids: CdaId[]; name?: CdaPersonName };
  serviceEvents: { code?: CdaCode; low?: string; high?: string }[];
  /** componentOf/encompassingEncounter/location/healthCareFacility/code. */
  healthcareFacilityTypeCode?: CdaCode;
  body: 'structured' | 'non-xml' | 'none';
}

export interface CdaDocument {
  header: CdaHeader;
  /** Section titles and texts, whitespace collapsed, at most maxNarrativeLength characters. */
  narrative: string;
}

export type CdaErrorReason = 'xml' | 'not-cda';

export class CdaError extends Error {
  readonly reason: CdaErrorReason;
  readonly xmlError?: XmlError;
  constructor(reason: CdaErrorReason, message: string, xmlError?: XmlError) {
    super(message);
    this.name = 'CdaError';
    this.reason = reason;
    this.xmlError = xmlError;
  }
}

export interface CdaReadOptions {
  limits?: Partial<XmlLimits>;
  /** Narrative kept for search, in characters (default 1 MiB). */
  maxNarrativeLength?: number;
}

/**
 * CDA documents are bigger and deeper than XDS messages; pruned elements cost no memory, so the
 * element limit only bounds work.
 */
export const DEFAULT_CDA_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxBytes: 100 * 1024 * 1024,
  maxDepth: 200,
  maxElements: 2_000_000,
  maxAttributesPerElement: 256,
});

const DEFAULT_NARRATIVE = 1024 * 1024;

/** Keeps the header and section title/text; drops structured entries and non-XML body content. */
function pruneBody(ancestors: readonly ElementName[], element: ElementName): boolean {
  if (element.ns !== CDA_NS) return false;
  const parent = ancestors[ancestors.length - 1];
  if (parent?.name === 'nonXMLBody' && element.name === 'text') return true;
  if (!ancestors.some((a) => a.name === 'structuredBody')) return false;
  return parent?.name === 'section' && element.name !== 'title' && element.name !== 'text' && element.name !== 'component' && element.name !== 'code';
}

/** A reader fed chunk by chunk (e.g. while the document streams to the blob store). */
export function createCdaReader(options: CdaReadOptions = {}): { write(chunk: Uint8Array | string): void; end(): CdaDocument } {
  const parser = new XmlStreamParser({ ...DEFAULT_CDA_LIMITS, ...options.limits }, { prune: pruneBody });
  const wrap = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      if (error instanceof XmlError) throw new CdaError('xml', `the CDA document is not acceptable XML: ${error.message}`, error);
      throw error;
    }
  };
  return {
    write: (chunk) => wrap(() => parser.write(chunk)),
    end: () => {
      const root = wrap(() => parser.end());
      return { header: headerOf(root), narrative: narrativeOf(root, options.maxNarrativeLength ?? DEFAULT_NARRATIVE) };
    },
  };
}

/** Reads a whole CDA document. Throws CdaError. */
export function readCda(input: string | Uint8Array, options: CdaReadOptions = {}): CdaDocument {
  const reader = createCdaReader(options);
  reader.write(input);
  return reader.end();
}

const v3 = (el: XmlElement | undefined, name: string) => child(el, CDA_NS, name);
const v3s = (el: XmlElement | undefined, name: string) => childrenNamed(el, CDA_NS, name);

function idOf(el: XmlElement | undefined): CdaId | undefined {
  const root = attr(el, 'root');
  if (!root) return undefined;
  const extension = attr(el, 'extension');
  return { root, ...(extension ? { extension } : {}) };
}

function idsOf(el: XmlElement | undefined): CdaId[] {
  return v3s(el, 'id').map(idOf).filter((i): i is CdaId => !!i);
}

function codeOf(el: XmlElement | undefined): CdaCode | undefined {
  if (!el) return undefined;
  const code: CdaCode = {};
  for (const key of ['code', 'codeSystem', 'displayName'] as const) {
    const value = attr(el, key);
    if (value) code[key] = value;
  }
  return Object.keys(code).length > 0 ? code : undefined;
}

function nameOf(el: XmlElement | undefined): CdaPersonName | undefined {
  const name = v3(el, 'name');
  if (!name) return undefined;
  const family = textOf(v3(name, 'family')).trim() || undefined;
  const prefix = textOf(v3(name, 'prefix')).trim() || undefined;
  return { ...(family ? { family } : {}), given: v3s(name, 'given').map((g) => textOf(g).trim()).filter((g) => g), ...(prefix ? { prefix } : {}) };
}

function headerOf(root: XmlElement): CdaHeader {
  if (root.ns !== CDA_NS || root.name !== 'ClinicalDocument') {
    throw new CdaError('not-cda', 'the document is XML but not a CDA R2 ClinicalDocument');
  }
  const authors: CdaAuthor[] = v3s(root, 'author').map((a) => {
    const assigned = v3(a, 'assignedAuthor');
    const org = v3(assigned, 'representedOrganization');
    const orgName = textOf(v3(org, 'name')).trim();
    return dropUndefined({
      time: attr(v3(a, 'time'), 'value'),
      ids: idsOf(assigned),
      code: codeOf(v3(assigned, 'code')),
      functionCode: codeOf(v3(a, 'functionCode')),
      name: nameOf(v3(assigned, 'assignedPerson')),
      organization: org ? dropUndefined({ ids: idsOf(org), name: orgName || undefined, standardIndustryClassCode: codeOf(v3(org, 'standardIndustryClassCode')) }) : undefined,
    });
  });
  const legal = v3(root, 'legalAuthenticator');
  const legalEntity = v3(legal, 'assignedEntity');
  const body = v3(root, 'component');
  const title = textOf(v3(root, 'title')).replace(/\s+/g, ' ').trim();
  return dropUndefined({
    id: idOf(v3(root, 'id')),
    setId: idOf(v3(root, 'setId')),
    versionNumber: attr(v3(root, 'versionNumber'), 'value'),
    templateIds: v3s(root, 'templateId').map(idOf).filter((i): i is CdaId => !!i),
    code: codeOf(v3(root, 'code')),
    title: title || undefined,
    effectiveTime: attr(v3(root, 'effectiveTime'), 'value'),
    confidentialityCode: codeOf(v3(root, 'confidentialityCode')),
    languageCode: attr(v3(root, 'languageCode'), 'code'),
    patientIds: v3s(root, 'recordTarget').flatMap((r) => idsOf(v3(r, 'patientRole'))),
    authors,
    legalAuthenticator: legal ? dropUndefined({ time: attr(v3(legal, 'time'), 'value'), ids: idsOf(legalEntity), name: nameOf(v3(legalEntity, 'assignedPerson')) }) : undefined,
    serviceEvents: v3s(root, 'documentationOf').map((d) => {
      const event = v3(d, 'serviceEvent');
      const time = v3(event, 'effectiveTime');
      return dropUndefined({ code: codeOf(v3(event, 'code')), low: attr(v3(time, 'low'), 'value'), high: attr(v3(time, 'high'), 'value') });
    }),
    healthcareFacilityTypeCode: codeOf(v3(v3(v3(v3(v3(root, 'componentOf'), 'encompassingEncounter'), 'location'), 'healthCareFacility'), 'code')),
    body: v3(body, 'structuredBody') ? 'structured' : v3(body, 'nonXMLBody') ? 'non-xml' : 'none',
  });
}

function narrativeOf(root: XmlElement, max: number): string {
  const parts: string[] = [];
  let length = 0;
  const sections = (el: XmlElement | undefined): XmlElement[] => v3s(el, 'component').map((c) => v3(c, 'section')).filter((s): s is XmlElement => !!s);
  // Depth-first over sections (iterative; depth is bounded by the parser anyway).
  const stack = sections(v3(v3(root, 'component'), 'structuredBody')).reverse();
  while (stack.length > 0 && length < max) {
    const section = stack.pop()!;
    for (const part of [v3(section, 'title'), v3(section, 'text')]) {
      const text = deepText(part, ' ').replace(/\s+/g, ' ').trim();
      if (text) {
        parts.push(text);
        length += text.length + 1;
      }
    }
    stack.push(...sections(section).reverse());
  }
  return parts.join('\n').slice(0, max);
}

function dropUndefined<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}

// ---------------------------------------------------------------------------------------------
// Contradictions between XDS metadata and the CDA header

/**
 * CDA TS (YYYYMMDDHHMMSS[.f][±ZZZZ]) as an XDS DTM in UTC. Without a zone only a date is
 * unambiguous, so finer precision is then left out of the comparison.
 */
export function cdaTimeToUtcDtm(ts: string | undefined): string | undefined {
  const m = ts && /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(ts);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, zone] = m;
  const dateOnly = `${y}${mo ?? ''}${d ?? ''}`;
  if (!h) return dateOnly;
  if (!zone) return undefined;
  const sign = zone[0] === '-' ? -1 : 1;
  const offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  const utc = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0), Number(s ?? 0)) - offsetMinutes * 60_000);
  const full = utc.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return full.slice(0, 8 + 2 + (mi ? 2 : 0) + (s ? 2 : 0));
}

function sameAtCommonPrecision(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n) === b.slice(0, n);
}

function cdaIdMatches(id: CdaId, value: string, oid: string | undefined): boolean {
  return id.extension !== undefined ? id.extension === value && id.root === oid : id.root === value && !oid;
}

/**
 * Where the XDS metadata contradicts the CDA header (the DMP builds one from the other), as
 * RegistryErrors for the submission's answer. Patient mismatches are XDSPatientIdDoesNotMatch;
 * the rest XDSRepositoryMetadataError (the repository is the actor that reads the content). A
 * differing title is only a warning: titles are legitimately shortened.
 */
export function cdaContradictions(header: CdaHeader, entry: DocumentEntry): RegistryError[] {
  const errors: RegistryError[] = [];
  const at = entry.entryUuid;
  const contradiction = (what: string) => errors.push(registryError('XDSRepositoryMetadataError', `${what} contradicts the CDA header`, at));

  if (entry.patientId && header.patientIds.length > 0) {
    const cx = hl7v2.parseCx(entry.patientId);
    const oid = cx.assigningAuthority?.universalId;
    if (!header.patientIds.some((id) => cdaIdMatches(id, cx.id, oid))) {
      errors.push(registryError('XDSPatientIdDoesNotMatch', 'DocumentEntry.patientId is not a recordTarget id of the CDA document', at));
    }
  }
  if (entry.uniqueId && header.id) {
    const expected = header.id.extension ? `${header.id.root}^${header.id.extension}` : header.id.root;
    if (entry.uniqueId !== expected) contradiction('DocumentEntry.uniqueId (expected ClinicalDocument/id as root^extension)');
  }
  if (entry.typeCode && header.code?.code) {
    if (entry.typeCode.code !== header.code.code || (header.code.codeSystem && entry.typeCode.codingScheme !== header.code.codeSystem)) {
      contradiction('DocumentEntry.typeCode');
    }
  }
  if (entry.creationTime && header.effectiveTime) {
    const cda = cdaTimeToUtcDtm(header.effectiveTime);
    if (cda && !sameAtCommonPrecision(cda, entry.creationTime)) contradiction('DocumentEntry.creationTime');
  }
  const confidentiality = header.confidentialityCode;
  if (confidentiality?.code && entry.confidentialityCodes.length > 0) {
    const found = entry.confidentialityCodes.some((c) => c.code === confidentiality.code && (!confidentiality.codeSystem || c.codingScheme === confidentiality.codeSystem));
    if (!found) contradiction('DocumentEntry.confidentialityCode (missing the CDA confidentialityCode)');
  }
  if (entry.languageCode && header.languageCode && entry.languageCode.toLowerCase() !== header.languageCode.toLowerCase()) {
    contradiction('DocumentEntry.languageCode');
  }
  if (entry.title && header.title && entry.title.replace(/\s+/g, ' ').trim() !== header.title) {
    errors.push(registryError('XDSRepositoryMetadataError', 'DocumentEntry.title differs from the CDA title', at, 'Warning'));
  }
  const cdaAuthorIds = header.authors.flatMap((a) => a.ids);
  if (cdaAuthorIds.length > 0) {
    for (const author of entry.authors) {
      const xcn = author.person ? hl7v2.parseXcn(author.person) : undefined;
      const oid = xcn?.assigningAuthority?.universalId;
      if (xcn?.id && oid && !cdaAuthorIds.some((id) => cdaIdMatches(id, xcn.id!, oid))) {
        contradiction('DocumentEntry.author (authorPerson is not an author of the CDA document)');
      }
    }
  }
  const facility = header.healthcareFacilityTypeCode;
  if (entry.healthcareFacilityTypeCode && facility?.code && entry.healthcareFacilityTypeCode.code !== facility.code) {
    contradiction('DocumentEntry.healthcareFacilityTypeCode');
  }
  return errors;
}
