// ITI-18 Registry Stored Query: AdhocQueryRequest → a typed query the registry translates into
// store searches, and the AdhocQueryResponse builder (ITI TF-2 3.18.4.1.2).
//
// Parameter values follow the SQL-like syntax of the TF: strings in single quotes (a quote
// doubled inside), numbers (times) bare, lists as ('a','b'). Values of one Slot, and of several
// Value elements in it, are ORed. For the AND/OR parameters (event codes, confidentiality codes,
// folder codes) several Slots of the same name are ANDed. A value we cannot read is refused with
// XDSRegistryError rather than passed on: the parsed query is all the store ever sees, so an
// injection attempt never reaches it.
import type { RegistryError, XdsErrorCode } from './errors.ts';
import { buildRegistryErrorList, registryError } from './errors.ts';
import { buildLeafClassObjects, buildObjectRefs } from './ebrim.ts';
import { isUuidUrn, isWellFormedPatientId } from './hl7v2.ts';
import type { Code, DocumentObjectType, RegistryObjects } from './model.ts';
import { allEntryUuids } from './model.ts';
import { isDtm } from './validate.ts';
import { NS, OBJECT_TYPE, RESPONSE_STATUS } from './vocabulary.ts';
import type { XmlBuild, XmlElement } from './xml.ts';
import { attr, child, childrenNamed, el, textOf } from './xml.ts';

export const STORED_QUERY_IDS = {
  FindDocuments: 'urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d',
  FindDocumentsByReferenceId: 'urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492',
  FindSubmissionSets: 'urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9',
  FindFolders: 'urn:uuid:958f3006-baad-4929-a4de-ff1114824431',
  GetAll: 'urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3',
  GetDocuments: 'urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4',
  GetFolders: 'urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4',
  GetAssociations: 'urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155',
  GetDocumentsAndAssociations: 'urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a',
  GetSubmissionSets: 'urn:uuid:51224314-5390-4169-9b91-b1980040715a',
  GetSubmissionSetAndContents: 'urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83',
  GetFolderAndContents: 'urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7',
  GetFoldersForDocument: 'urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578',
  GetRelatedDocuments: 'urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6',
} as const;
export type StoredQueryName = keyof typeof STORED_QUERY_IDS;

// ---------------------------------------------------------------------------------------------
// The typed query

/** Codes with AND/OR semantics: every inner list must match at least one of its codes. */
export type CodeQuery = Code[][];

/** Inclusive lower bound, exclusive upper bound (TF-2 3.18.4.1.2.3.6), as DTM strings. */
export interface TimeRange {
  from?: string;
  to?: string;
}

export type IdSelector = { by: 'entryUuid'; values: string[] } | { by: 'uniqueId'; values: string[] };

/** Filters on DocumentEntries; absent means "no constraint". */
export interface DocumentEntryFilter {
  classCode?: Code[];
  typeCode?: Code[];
  practiceSettingCode?: Code[];
  healthcareFacilityTypeCode?: Code[];
  formatCode?: Code[];
  eventCode?: CodeQuery;
  confidentialityCode?: CodeQuery;
  creationTime?: TimeRange;
  serviceStartTime?: TimeRange;
  serviceStopTime?: TimeRange;
  /** SQL LIKE patterns (% and _) on authorPerson, ORed. */
  authorPerson?: string[];
  /** Availability statuses (URNs), ORed. Absent only where the query has no status parameter. */
  status?: string[];
  objectType?: DocumentObjectType[];
}

/** The filters the *AndContents and GetAll queries apply to the documents they return. */
export type ContentFilter = Pick<DocumentEntryFilter, 'formatCode' | 'confidentialityCode' | 'objectType'>;

export type StoredQuery =
  | { type: 'FindDocuments'; patientId: string; documents: DocumentEntryFilter }
  | { type: 'FindDocumentsByReferenceId'; patientId: string; referenceIds: string[]; documents: DocumentEntryFilter }
  | { type: 'FindSubmissionSets'; patientId: string; sourceIds?: string[]; submissionTime?: TimeRange; authorPerson?: string; contentTypeCodes?: Code[]; status: string[] }
  | { type: 'FindFolders'; patientId: string; lastUpdateTime?: TimeRange; codes?: CodeQuery; status: string[] }
  | { type: 'GetAll'; patientId: string; documentStatus: string[]; submissionSetStatus: string[]; folderStatus: string[]; contents: ContentFilter }
  | { type: 'GetDocuments'; ids: IdSelector }
  | { type: 'GetFolders'; ids: IdSelector }
  | { type: 'GetAssociations'; uuids: string[] }
  | { type: 'GetDocumentsAndAssociations'; ids: IdSelector }
  | { type: 'GetSubmissionSets'; uuids: string[] }
  | { type: 'GetSubmissionSetAndContents'; id: IdSelector; contents: ContentFilter }
  | { type: 'GetFolderAndContents'; id: IdSelector; contents: ContentFilter }
  | { type: 'GetFoldersForDocument'; id: IdSelector }
  | { type: 'GetRelatedDocuments'; id: IdSelector; associationTypes: string[]; objectType?: DocumentObjectType[] };

export type ReturnType = 'LeafClass' | 'ObjectRef';

export interface AdhocQueryRequest {
  readonly queryId: string;
  readonly query: StoredQuery;
  readonly returnType: ReturnType;
  readonly returnComposedObjects: boolean;
  readonly homeCommunityId?: string;
}

export type AdhocQueryParseResult =
  | { readonly ok: true; readonly request: AdhocQueryRequest; readonly warnings: readonly RegistryError[] }
  | { readonly ok: false; readonly errors: readonly RegistryError[] };

// ---------------------------------------------------------------------------------------------
// Parameter table (ITI TF-2 3.18.4.1.2.3.7)

type Kind = 'patientId' | 'time' | 'code' | 'string' | 'status' | 'uuid' | 'objectType' | 'associationType';
interface ParamSpec {
  readonly kind: Kind;
  readonly required?: boolean;
  readonly multiple?: boolean;
  /** Several Slots of this name are ANDed. */
  readonly andOr?: boolean;
}

const P = {
  single: (kind: Kind, required = false): ParamSpec => ({ kind, required }),
  multi: (kind: Kind, required = false): ParamSpec => ({ kind, required, multiple: true }),
  andOr: (kind: Kind): ParamSpec => ({ kind, multiple: true, andOr: true }),
};

const DOCUMENT_FILTER_PARAMS: Record<string, ParamSpec> = {
  $XDSDocumentEntryClassCode: P.multi('code'),
  $XDSDocumentEntryTypeCode: P.multi('code'),
  $XDSDocumentEntryPracticeSettingCode: P.multi('code'),
  $XDSDocumentEntryCreationTimeFrom: P.single('time'),
  $XDSDocumentEntryCreationTimeTo: P.single('time'),
  $XDSDocumentEntryServiceStartTimeFrom: P.single('time'),
  $XDSDocumentEntryServiceStartTimeTo: P.single('time'),
  $XDSDocumentEntryServiceStopTimeFrom: P.single('time'),
  $XDSDocumentEntryServiceStopTimeTo: P.single('time'),
  $XDSDocumentEntryHealthcareFacilityTypeCode: P.multi('code'),
  $XDSDocumentEntryEventCodeList: P.andOr('code'),
  $XDSDocumentEntryConfidentialityCode: P.andOr('code'),
  $XDSDocumentEntryAuthorPerson: P.multi('string'),
  $XDSDocumentEntryFormatCode: P.multi('code'),
  $XDSDocumentEntryStatus: P.multi('status', true),
  $XDSDocumentEntryType: P.multi('objectType'),
};

const CONTENT_PARAMS: Record<string, ParamSpec> = {
  $XDSDocumentEntryFormatCode: P.multi('code'),
  $XDSDocumentEntryConfidentialityCode: P.andOr('code'),
  $XDSDocumentEntryType: P.multi('objectType'),
};

const HOME: Record<string, ParamSpec> = { $homeCommunityId: P.single('string') };

interface QuerySpec {
  readonly params: Record<string, ParamSpec>;
  /** Pairs of which exactly one must be given. */
  readonly exactlyOneOf?: readonly [string, string];
}

const QUERY_SPECS: Record<StoredQueryName, QuerySpec> = {
  FindDocuments: { params: { $XDSDocumentEntryPatientId: P.single('patientId', true), ...DOCUMENT_FILTER_PARAMS } },
  FindDocumentsByReferenceId: {
    params: { $XDSDocumentEntryPatientId: P.single('patientId', true), $XDSDocumentEntryReferenceIdList: P.multi('string', true), ...DOCUMENT_FILTER_PARAMS },
  },
  FindSubmissionSets: {
    params: {
      $XDSSubmissionSetPatientId: P.single('patientId', true),
      $XDSSubmissionSetSourceId: P.multi('string'),
      $XDSSubmissionSetSubmissionTimeFrom: P.single('time'),
      $XDSSubmissionSetSubmissionTimeTo: P.single('time'),
      $XDSSubmissionSetAuthorPerson: P.single('string'),
      $XDSSubmissionSetContentType: P.multi('code'),
      $XDSSubmissionSetStatus: P.multi('status', true),
    },
  },
  FindFolders: {
    params: {
      $XDSFolderPatientId: P.single('patientId', true),
      $XDSFolderLastUpdateTimeFrom: P.single('time'),
      $XDSFolderLastUpdateTimeTo: P.single('time'),
      $XDSFolderCodeList: P.andOr('code'),
      $XDSFolderStatus: P.multi('status', true),
    },
  },
  GetAll: {
    params: {
      $patientId: P.single('patientId', true),
      $XDSDocumentEntryStatus: P.multi('status', true),
      $XDSSubmissionSetStatus: P.multi('status', true),
      $XDSFolderStatus: P.multi('status', true),
      ...CONTENT_PARAMS,
    },
  },
  GetDocuments: {
    params: { $XDSDocumentEntryEntryUUID: P.multi('uuid'), $XDSDocumentEntryUniqueId: P.multi('string'), ...HOME },
    exactlyOneOf: ['$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId'],
  },
  GetFolders: {
    params: { $XDSFolderEntryUUID: P.multi('uuid'), $XDSFolderUniqueId: P.multi('string'), ...HOME },
    exactlyOneOf: ['$XDSFolderEntryUUID', '$XDSFolderUniqueId'],
  },
  GetAssociations: { params: { $uuid: P.multi('uuid', true), ...HOME } },
  GetDocumentsAndAssociations: {
    params: { $XDSDocumentEntryEntryUUID: P.multi('uuid'), $XDSDocumentEntryUniqueId: P.multi('string'), ...HOME },
    exactlyOneOf: ['$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId'],
  },
  GetSubmissionSets: { params: { $uuid: P.multi('uuid', true), ...HOME } },
  GetSubmissionSetAndContents: {
    params: { $XDSSubmissionSetEntryUUID: P.single('uuid'), $XDSSubmissionSetUniqueId: P.single('string'), ...CONTENT_PARAMS, ...HOME },
    exactlyOneOf: ['$XDSSubmissionSetEntryUUID', '$XDSSubmissionSetUniqueId'],
  },
  GetFolderAndContents: {
    params: { $XDSFolderEntryUUID: P.single('uuid'), $XDSFolderUniqueId: P.single('string'), ...CONTENT_PARAMS, ...HOME },
    exactlyOneOf: ['$XDSFolderEntryUUID', '$XDSFolderUniqueId'],
  },
  GetFoldersForDocument: {
    params: { $XDSDocumentEntryEntryUUID: P.single('uuid'), $XDSDocumentEntryUniqueId: P.single('string'), ...HOME },
    exactlyOneOf: ['$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId'],
  },
  GetRelatedDocuments: {
    params: {
      $XDSDocumentEntryEntryUUID: P.single('uuid'),
      $XDSDocumentEntryUniqueId: P.single('string'),
      $AssociationTypes: P.multi('associationType', true),
      $XDSDocumentEntryType: P.multi('objectType'),
      ...HOME,
    },
    exactlyOneOf: ['$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId'],
  },
};

// ---------------------------------------------------------------------------------------------
// Value syntax

/**
 * Splits one Value element into its items: `'a'` → [a]; `('a', 'b')` → [a, b]; `20240101` →
 * [20240101]. Undefined when the text is not in that syntax.
 */
export function parseQueryValue(text: string): string[] | undefined {
  const value = text.trim();
  if (value.startsWith('(')) {
    if (!value.endsWith(')')) return undefined;
    const items: string[] = [];
    let rest = value.slice(1, -1).trim();
    if (rest === '') return undefined;
    while (rest.length > 0) {
      const item = readItem(rest);
      if (!item) return undefined;
      items.push(item.value);
      rest = item.rest.trim();
      if (rest.startsWith(',')) {
        rest = rest.slice(1).trim();
        if (rest === '') return undefined;
      } else if (rest !== '') {
        return undefined;
      }
    }
    return items;
  }
  const single = readItem(value);
  return single && single.rest.trim() === '' ? [single.value] : undefined;
}

function readItem(text: string): { value: string; rest: string } | undefined {
  if (text.startsWith("'")) {
    let value = '';
    let i = 1;
    while (i < text.length) {
      if (text[i] === "'") {
        if (text[i + 1] === "'") {
          value += "'";
          i += 2;
          continue;
        }
        return { value, rest: text.slice(i + 1) };
      }
      value += text[i];
      i += 1;
    }
    return undefined; // unterminated string
  }
  // Bare items: numbers (times), and plain tokens some senders forget to quote.
  const bare = /^[^\s'(),]+/.exec(text);
  return bare ? { value: bare[0], rest: text.slice(bare[0].length) } : undefined;
}

/** `code^^scheme` (CE with the display left out) → Code. */
function parseQueryCode(value: string): Code | undefined {
  const parts = value.split('^');
  if (parts.length !== 3 || !parts[0] || !parts[2]) return undefined;
  return { code: parts[0], codingScheme: parts[2], ...(parts[1] ? { displayName: parts[1] } : {}) };
}

const OBJECT_TYPES: Record<string, DocumentObjectType> = {
  [OBJECT_TYPE.stableDocumentEntry]: 'stable',
  [OBJECT_TYPE.onDemandDocumentEntry]: 'on-demand',
};

// ---------------------------------------------------------------------------------------------
// Parsing

/** One parameter's values: for each Slot of that name, its items (ORed). */
type RawParams = Map<string, string[][]>;

class Reader {
  readonly errors: RegistryError[] = [];
  private readonly raw: RawParams;
  private readonly specs: Record<string, ParamSpec>;
  /** Parameters already refused for a malformed value: not reported again as missing. */
  private readonly refused: ReadonlySet<string>;
  constructor(raw: RawParams, specs: Record<string, ParamSpec>, refused: ReadonlySet<string>) {
    this.raw = raw;
    this.specs = specs;
    this.refused = refused;
  }

  fail(code: XdsErrorCode, context: string, location?: string): void {
    this.errors.push(registryError(code, context, location));
  }

  has(name: string): boolean {
    return this.raw.has(name);
  }

  /** Every item of the parameter, converted, with AND groups kept apart. */
  private groups(name: string): string[][] | undefined {
    const spec = this.specs[name];
    if (!spec) return undefined;
    const groups = this.raw.get(name);
    if (!groups) {
      if (spec.required && !this.refused.has(name)) this.fail('XDSStoredQueryMissingParam', `required parameter ${name} is missing`, name);
      return undefined;
    }
    if (groups.length > 1 && !spec.andOr) {
      this.fail('XDSStoredQueryParamNumber', `parameter ${name} is given in ${groups.length} Slots`, name);
      return undefined;
    }
    if (!spec.multiple && groups[0].length !== 1) {
      this.fail('XDSStoredQueryParamNumber', `parameter ${name} takes one value, got ${groups[0].length}`, name);
      return undefined;
    }
    for (const g of groups) for (const v of g) this.check(name, spec.kind, v);
    return groups;
  }

  private check(name: string, kind: Kind, value: string): void {
    const bad = (what: string) => this.fail('XDSRegistryError', `parameter ${name}: ${what}`, name);
    switch (kind) {
      case 'patientId':
        if (!isWellFormedPatientId(value)) bad('the patient id must be id^^^&OID&ISO');
        break;
      case 'time':
        if (!isDtm(value)) bad('times are DTM (YYYY[MM[DD[hh[mm[ss]]]]])');
        break;
      case 'code':
        if (!parseQueryCode(value)) bad('codes are written code^^codingScheme');
        break;
      case 'uuid':
        if (!isUuidUrn(value)) bad('entryUUIDs are urn:uuid values');
        break;
      case 'status':
        if (!/^urn:[A-Za-z0-9:._-]+$/.test(value)) bad('statuses are URNs');
        break;
      case 'objectType':
        if (!OBJECT_TYPES[value]) bad('the DocumentEntry type is the stable or on-demand objectType UUID');
        break;
      case 'associationType':
        if (!/^urn:[A-Za-z0-9:._-]+$/.test(value)) bad('association types are URNs');
        break;
      case 'string':
        if (value === '') bad('empty value');
        break;
    }
  }

  single(name: string): string | undefined {
    return this.groups(name)?.[0][0];
  }

  list(name: string): string[] | undefined {
    return this.groups(name)?.flat();
  }

  codes(name: string): Code[] | undefined {
    return this.list(name)?.map((v) => parseQueryCode(v)).filter((c): c is Code => !!c);
  }

  codeQuery(name: string): CodeQuery | undefined {
    return this.groups(name)?.map((g) => g.map((v) => parseQueryCode(v)).filter((c): c is Code => !!c));
  }

  time(fromName: string, toName: string): TimeRange | undefined {
    const from = this.single(fromName);
    const to = this.single(toName);
    return from === undefined && to === undefined ? undefined : { ...(from ? { from } : {}), ...(to ? { to } : {}) };
  }

  objectTypes(name: string): DocumentObjectType[] | undefined {
    return this.list(name)?.map((v) => OBJECT_TYPES[v]).filter((t) => !!t);
  }

  /** One of two exclusive identifier parameters (entryUUID or uniqueId). */
  selector(uuidName: string, uniqueIdName: string, exclusive: readonly [string, string] | undefined): IdSelector | undefined {
    if (exclusive) {
      const given = exclusive.filter((n) => this.raw.has(n));
      if (given.length !== 1) {
        this.fail('XDSStoredQueryParamNumber', `exactly one of ${exclusive[0]} and ${exclusive[1]} is required, got ${given.length}`);
        return undefined;
      }
    }
    if (this.raw.has(uuidName)) {
      const values = this.list(uuidName);
      return values && { by: 'entryUuid', values };
    }
    const values = this.list(uniqueIdName);
    return values && { by: 'uniqueId', values };
  }
}

function documentFilter(r: Reader): DocumentEntryFilter {
  return compact({
    classCode: r.codes('$XDSDocumentEntryClassCode'),
    typeCode: r.codes('$XDSDocumentEntryTypeCode'),
    practiceSettingCode: r.codes('$XDSDocumentEntryPracticeSettingCode'),
    healthcareFacilityTypeCode: r.codes('$XDSDocumentEntryHealthcareFacilityTypeCode'),
    formatCode: r.codes('$XDSDocumentEntryFormatCode'),
    eventCode: r.codeQuery('$XDSDocumentEntryEventCodeList'),
    confidentialityCode: r.codeQuery('$XDSDocumentEntryConfidentialityCode'),
    creationTime: r.time('$XDSDocumentEntryCreationTimeFrom', '$XDSDocumentEntryCreationTimeTo'),
    serviceStartTime: r.time('$XDSDocumentEntryServiceStartTimeFrom', '$XDSDocumentEntryServiceStartTimeTo'),
    serviceStopTime: r.time('$XDSDocumentEntryServiceStopTimeFrom', '$XDSDocumentEntryServiceStopTimeTo'),
    authorPerson: r.list('$XDSDocumentEntryAuthorPerson'),
    status: r.list('$XDSDocumentEntryStatus'),
    objectType: r.objectTypes('$XDSDocumentEntryType'),
  });
}

function contentFilter(r: Reader): ContentFilter {
  return compact({
    formatCode: r.codes('$XDSDocumentEntryFormatCode'),
    confidentialityCode: r.codeQuery('$XDSDocumentEntryConfidentialityCode'),
    objectType: r.objectTypes('$XDSDocumentEntryType'),
  });
}

function compact<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}

function buildQuery(name: StoredQueryName, r: Reader, spec: QuerySpec): StoredQuery {
  const ex = spec.exactlyOneOf;
  switch (name) {
    case 'FindDocuments':
      return { type: name, patientId: r.single('$XDSDocumentEntryPatientId') ?? '', documents: documentFilter(r) };
    case 'FindDocumentsByReferenceId':
      return {
        type: name,
        patientId: r.single('$XDSDocumentEntryPatientId') ?? '',
        referenceIds: r.list('$XDSDocumentEntryReferenceIdList') ?? [],
        documents: documentFilter(r),
      };
    case 'FindSubmissionSets':
      return compact({
        type: name,
        patientId: r.single('$XDSSubmissionSetPatientId') ?? '',
        sourceIds: r.list('$XDSSubmissionSetSourceId'),
        submissionTime: r.time('$XDSSubmissionSetSubmissionTimeFrom', '$XDSSubmissionSetSubmissionTimeTo'),
        authorPerson: r.single('$XDSSubmissionSetAuthorPerson'),
        contentTypeCodes: r.codes('$XDSSubmissionSetContentType'),
        status: r.list('$XDSSubmissionSetStatus') ?? [],
      });
    case 'FindFolders':
      return compact({
        type: name,
        patientId: r.single('$XDSFolderPatientId') ?? '',
        lastUpdateTime: r.time('$XDSFolderLastUpdateTimeFrom', '$XDSFolderLastUpdateTimeTo'),
        codes: r.codeQuery('$XDSFolderCodeList'),
        status: r.list('$XDSFolderStatus') ?? [],
      });
    case 'GetAll':
      return {
        type: name,
        patientId: r.single('$patientId') ?? '',
        documentStatus: r.list('$XDSDocumentEntryStatus') ?? [],
        submissionSetStatus: r.list('$XDSSubmissionSetStatus') ?? [],
        folderStatus: r.list('$XDSFolderStatus') ?? [],
        contents: contentFilter(r),
      };
    case 'GetDocuments':
    case 'GetDocumentsAndAssociations':
      return { type: name, ids: r.selector('$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId', ex) ?? { by: 'entryUuid', values: [] } };
    case 'GetFolders':
      return { type: name, ids: r.selector('$XDSFolderEntryUUID', '$XDSFolderUniqueId', ex) ?? { by: 'entryUuid', values: [] } };
    case 'GetAssociations':
    case 'GetSubmissionSets':
      return { type: name, uuids: r.list('$uuid') ?? [] };
    case 'GetSubmissionSetAndContents':
      return { type: name, id: r.selector('$XDSSubmissionSetEntryUUID', '$XDSSubmissionSetUniqueId', ex) ?? { by: 'entryUuid', values: [] }, contents: contentFilter(r) };
    case 'GetFolderAndContents':
      return { type: name, id: r.selector('$XDSFolderEntryUUID', '$XDSFolderUniqueId', ex) ?? { by: 'entryUuid', values: [] }, contents: contentFilter(r) };
    case 'GetFoldersForDocument':
      return { type: name, id: r.selector('$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId', ex) ?? { by: 'entryUuid', values: [] } };
    case 'GetRelatedDocuments':
      return compact({
        type: name,
        id: r.selector('$XDSDocumentEntryEntryUUID', '$XDSDocumentEntryUniqueId', ex) ?? { by: 'entryUuid', values: [] },
        associationTypes: r.list('$AssociationTypes') ?? [],
        objectType: r.objectTypes('$XDSDocumentEntryType'),
      }) as StoredQuery;
  }
}

/** Reads query:AdhocQueryRequest (the SOAP Body child of ITI-18). */
export function parseAdhocQueryRequest(body: XmlElement): AdhocQueryParseResult {
  const errors: RegistryError[] = [];
  const option = child(body, NS.query, 'ResponseOption');
  const returnTypeText = attr(option, 'returnType');
  if (returnTypeText !== 'LeafClass' && returnTypeText !== 'ObjectRef') {
    errors.push(registryError('XDSRegistryError', 'ResponseOption/@returnType must be LeafClass or ObjectRef'));
  }
  const query = child(body, NS.rim, 'AdhocQuery');
  const queryId = (attr(query, 'id') ?? '').trim();
  const name = (Object.keys(STORED_QUERY_IDS) as StoredQueryName[]).find((n) => STORED_QUERY_IDS[n] === queryId);
  if (!name) {
    errors.push(registryError('XDSUnknownStoredQuery', `unknown stored query id ${queryId.slice(0, 80) || '(none)'}`, queryId || undefined));
    return { ok: false, errors };
  }
  const spec = QUERY_SPECS[name];
  const raw: RawParams = new Map();
  const refused = new Set<string>();
  const warnings: RegistryError[] = [];
  for (const s of childrenNamed(query, NS.rim, 'Slot')) {
    const slotName = attr(s, 'name') ?? '';
    if (!spec.params[slotName]) {
      // Unknown parameters are ignored, with a warning so the sender can see it.
      warnings.push(registryError('XDSRegistryError', `parameter ${slotName.slice(0, 80)} is not a parameter of ${name}; ignored`, slotName, 'Warning'));
      continue;
    }
    const items: string[] = [];
    for (const v of childrenNamed(child(s, NS.rim, 'ValueList'), NS.rim, 'Value')) {
      const parsed = parseQueryValue(textOf(v));
      if (!parsed) {
        errors.push(registryError('XDSRegistryError', `parameter ${slotName}: a value is not a quoted string, a number or a ('…','…') list`, slotName));
        refused.add(slotName);
        continue;
      }
      items.push(...parsed);
    }
    if (refused.has(slotName)) continue;
    if (items.length === 0) {
      errors.push(registryError('XDSStoredQueryParamNumber', `parameter ${slotName} has no value`, slotName));
      continue;
    }
    raw.set(slotName, [...(raw.get(slotName) ?? []), items]);
  }
  const reader = new Reader(raw, spec.params, refused);
  const stored = buildQuery(name, reader, spec);
  errors.push(...reader.errors);
  if (errors.length > 0) return { ok: false, errors: [...errors, ...warnings] };
  const home = attr(query, 'home') || (spec.params.$homeCommunityId ? reader.single('$homeCommunityId') : undefined) || undefined;
  return {
    ok: true,
    warnings,
    request: {
      queryId,
      query: stored,
      returnType: returnTypeText as ReturnType,
      returnComposedObjects: attr(option, 'returnComposedObjects') === 'true',
      ...(home ? { homeCommunityId: home } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Response

/**
 * query:AdhocQueryResponse. With errors and results the status is PartialSuccess, with errors
 * only Failure (TF-2 3.18.4.1.3).
 */
export function buildAdhocQueryResponse(
  returnType: ReturnType,
  objects: RegistryObjects | undefined,
  errors: readonly RegistryError[] = [],
): XmlBuild {
  const ids = objects ? allEntryUuids(objects) : [];
  const hasError = errors.some((e) => e.severity === 'Error');
  const status = !hasError ? 'Success' : ids.length > 0 ? 'PartialSuccess' : 'Failure';
  return el(
    'query:AdhocQueryResponse',
    { 'xmlns:query': NS.query, 'xmlns:rim': NS.rim, 'xmlns:rs': NS.rs, status: RESPONSE_STATUS[status] },
    buildRegistryErrorList(errors),
    el('rim:RegistryObjectList', {}, objects ? (returnType === 'LeafClass' ? buildLeafClassObjects(objects) : buildObjectRefs(ids)) : []),
  );
}
