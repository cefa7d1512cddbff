// The HL7 v2.5 data types XDS metadata is written in (ITI TF-3 Table 4.2.3.1.7-2): CX for patient
// and reference ids, XCN for persons, XON for organisations, HD for assigning authorities.
// Parsing never throws: a value that is not in the expected shape still parses (into its first
// component) and the metadata checks decide whether the shape was required.

/** HD: namespace id & universal id & universal id type (e.g. `&1.2.250.1.213.1.4.8&ISO`). */
export interface Hd {
  namespaceId?: string;
  universalId?: string;
  universalIdType?: string;
}

/** CX: id ^ ^ ^ assigning authority (HD) ^ identifier type code ^ assigning facility. */
export interface Cx {
  id: string;
  /** CX.2 check digit and CX.3 its scheme; kept for faithful round trips. */
  checkDigit?: string;
  checkDigitScheme?: string;
  assigningAuthority?: Hd;
  identifierTypeCode?: string;
  assigningFacility?: Hd;
}

/** XCN: id ^ family ^ given ^ further given ^ suffix ^ prefix ^ degree ^ ^ authority ^ name type ^ … ^ id type. */
export interface Xcn {
  id?: string;
  familyName?: string;
  givenName?: string;
  secondAndFurtherGivenNames?: string;
  suffix?: string;
  prefix?: string;
  degree?: string;
  assigningAuthority?: Hd;
  nameTypeCode?: string;
  identifierTypeCode?: string;
}

/** XON: organisation name ^ ^ id number (deprecated) ^ ^ ^ authority ^ id type ^ ^ ^ organisation identifier. */
export interface Xon {
  organizationName?: string;
  idNumber?: string;
  assigningAuthority?: Hd;
  identifierTypeCode?: string;
  organizationIdentifier?: string;
}

// XDS values use the standard HL7 separators: ^ components, & sub-components. Escape sequences
// (\S\, \T\) are rare in XDS and are kept as written.
function components(value: string): string[] {
  return value.split('^');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function clean<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}

/** Joins components, dropping trailing empty ones (the canonical XDS form). */
function join(parts: (string | undefined)[], separator = '^'): string {
  const values = parts.map((p) => p ?? '');
  while (values.length > 0 && values[values.length - 1] === '') values.pop();
  return values.join(separator);
}

export function parseHd(value: string | undefined): Hd | undefined {
  if (!value) return undefined;
  const [namespaceId, universalId, universalIdType] = value.split('&');
  const hd = clean({ namespaceId: nonEmpty(namespaceId), universalId: nonEmpty(universalId), universalIdType: nonEmpty(universalIdType) });
  return Object.keys(hd).length > 0 ? hd : undefined;
}

export function formatHd(hd: Hd | undefined): string {
  return hd ? join([hd.namespaceId, hd.universalId, hd.universalIdType], '&') : '';
}

export function parseCx(value: string): Cx {
  const c = components(value);
  return clean({
    id: c[0] ?? '',
    checkDigit: nonEmpty(c[1]),
    checkDigitScheme: nonEmpty(c[2]),
    assigningAuthority: parseHd(c[3]),
    identifierTypeCode: nonEmpty(c[4]),
    assigningFacility: parseHd(c[5]),
  });
}

export function formatCx(cx: Cx): string {
  return join([cx.id, cx.checkDigit, cx.checkDigitScheme, formatHd(cx.assigningAuthority), cx.identifierTypeCode, formatHd(cx.assigningFacility)]);
}

export function parseXcn(value: string): Xcn {
  const c = components(value);
  return clean({
    id: nonEmpty(c[0]),
    familyName: nonEmpty(c[1]),
    givenName: nonEmpty(c[2]),
    secondAndFurtherGivenNames: nonEmpty(c[3]),
    suffix: nonEmpty(c[4]),
    prefix: nonEmpty(c[5]),
    degree: nonEmpty(c[6]),
    assigningAuthority: parseHd(c[8]),
    nameTypeCode: nonEmpty(c[9]),
    identifierTypeCode: nonEmpty(c[12]),
  });
}

export function formatXcn(xcn: Xcn): string {
  return join([
    xcn.id, xcn.familyName, xcn.givenName, xcn.secondAndFurtherGivenNames, xcn.suffix, xcn.prefix, xcn.degree,
    undefined, formatHd(xcn.assigningAuthority), xcn.nameTypeCode, undefined, undefined, xcn.identifierTypeCode,
  ]);
}

export function parseXon(value: string): Xon {
  const c = components(value);
  return clean({
    organizationName: nonEmpty(c[0]),
    idNumber: nonEmpty(c[2]),
    assigningAuthority: parseHd(c[5]),
    identifierTypeCode: nonEmpty(c[6]),
    organizationIdentifier: nonEmpty(c[9]),
  });
}

export function formatXon(xon: Xon): string {
  return join([
    xon.organizationName, undefined, xon.idNumber, undefined, undefined, formatHd(xon.assigningAuthority),
    xon.identifierTypeCode, undefined, undefined, xon.organizationIdentifier,
  ]);
}

/** An ISO OID: digits separated by dots, no leading zeros, at most 64 characters (ITI TF-3 4.2.3.1.7). */
export function isOid(value: string | undefined): boolean {
  return !!value && value.length <= 64 && /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/.test(value);
}

export function isUuidUrn(value: string | undefined): boolean {
  return !!value && /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);
}

/**
 * The patient-id shape XDS requires (ITI TF-3 4.2.3.2.16): an id, and an assigning authority
 * given only by an ISO OID (no namespace id, no other components than CX.1, CX.4 and CX.5).
 */
export function isWellFormedPatientId(value: string): boolean {
  const c = components(value);
  if (!c[0] || c[1] || c[2] || c.length > 5) return false;
  const hd = parseHd(c[3]);
  return !!hd && !hd.namespaceId && hd.universalIdType === 'ISO' && isOid(hd.universalId);
}

/** The assigning-authority OID of a CX value, if any. */
export function assigningAuthorityOf(cx: Cx | undefined): string | undefined {
  return cx?.assigningAuthority?.universalId;
}

/** Two CX values name the same patient when id and assigning authority OID match. */
export function sameCx(a: Cx | undefined, b: Cx | undefined): boolean {
  return !!a && !!b && a.id === b.id && assigningAuthorityOf(a) === assigningAuthorityOf(b);
}
