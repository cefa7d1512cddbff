// Small DER readers for what Node's X509Certificate does not expose: the subject attributes by
// OID (Node only gives a display string), and the raw issuer/subject names (to match a CRL to
// its CA byte for byte). node-forge's ASN.1 parser does the decoding; forge's certificate parser
// is not used because it rejects every key that is not RSA.
import forge from 'node-forge';

const { asn1 } = forge;

/** OIDs of the name attributes Carnet reads or writes. */
export const NAME_OID = {
  countryName: '2.5.4.6',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  commonName: '2.5.4.3',
  surname: '2.5.4.4',
  givenName: '2.5.4.42',
  title: '2.5.4.12',
  businessCategory: '2.5.4.15',
} as const;

export interface NameAttribute {
  oid: string;
  value: string;
}

export interface CertificateNames {
  /** DER of the issuer Name. */
  issuer: Buffer;
  /** DER of the subject Name. */
  subject: Buffer;
  subjectAttributes: NameAttribute[];
}

export function toBinaryString(bytes: Buffer): string {
  return bytes.toString('binary');
}

export function fromBinaryString(bytes: string): Buffer {
  return Buffer.from(bytes, 'binary');
}

export function parseDer(der: Buffer): forge.asn1.Asn1 {
  return asn1.fromDer(toBinaryString(der), { strict: true, decodeBitStrings: false } as unknown as boolean);
}

export function derOf(node: forge.asn1.Asn1): Buffer {
  return fromBinaryString(asn1.toDer(node).getBytes());
}

export function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new Error('expected a constructed ASN.1 value');
  return node.value;
}

/** Text of a DirectoryString-like value (UTF8String, PrintableString, IA5String, BMPString…). */
export function stringValue(node: forge.asn1.Asn1): string {
  const bytes = node.value as string;
  switch (node.type) {
    case asn1.Type.UTF8:
      return forge.util.decodeUtf8(bytes);
    case asn1.Type.BMPSTRING:
      return fromBinaryString(bytes).swap16().toString('utf16le');
    default:
      // PrintableString, IA5String, TeletexString, VisibleString: treat bytes as Latin-1.
      return bytes;
  }
}

export function nameAttributes(name: forge.asn1.Asn1): NameAttribute[] {
  const attributes: NameAttribute[] = [];
  for (const rdn of children(name)) {
    for (const typeAndValue of children(rdn)) {
      const [type, value] = children(typeAndValue);
      attributes.push({ oid: asn1.derToOid(type.value as string), value: stringValue(value) });
    }
  }
  return attributes;
}

/**
 * The issuer and subject of a DER certificate. TBSCertificate: [0] version (optional),
 * serialNumber, signature, issuer, validity, subject, …
 */
export function certificateNames(der: Buffer): CertificateNames {
  const tbs = children(parseDer(der))[0];
  const fields = children(tbs);
  const offset = fields[0].tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const issuer = fields[offset + 2];
  const subject = fields[offset + 4];
  return { issuer: derOf(issuer), subject: derOf(subject), subjectAttributes: nameAttributes(subject) };
}

/** First value of an attribute, trimmed; undefined when absent or blank. */
export function attribute(attributes: NameAttribute[], oid: string): string | undefined {
  const value = attributes.find((a) => a.oid === oid)?.value.trim();
  return value ? value : undefined;
}

/** Serial numbers compared as upper-case hex without leading zeros (Node and DER differ). */
export function normaliseSerial(hex: string): string {
  const stripped = hex.replace(/[^0-9a-f]/gi, '').replace(/^0+/, '').toUpperCase();
  return stripped === '' ? '0' : stripped;
}

export function asn1Time(node: forge.asn1.Asn1): Date {
  if (node.type === asn1.Type.UTCTIME) return asn1.utcTimeToDate(node.value as string);
  if (node.type === asn1.Type.GENERALIZEDTIME) return asn1.generalizedTimeToDate(node.value as string);
  throw new Error('expected a UTCTime or GeneralizedTime');
}

/** Signature algorithm OIDs Carnet verifies (certificate lists, assertions use their own). */
export const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption (old CRLs still use it)
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** PEM blocks of one label from a bundle (e.g. every CERTIFICATE of a CA file), as DER. */
export function pemBlocks(pem: string | Buffer, label: string): Buffer[] {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...text.matchAll(pattern)].map((m) => Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

export function toPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
