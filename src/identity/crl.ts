// Certificate revocation lists (RFC 5280 §5): written for the development and test CAs, read for
// every configured CA. Neither node-forge nor Node's crypto handles CRLs, so this builds and reads
// the few ASN.1 fields with forge's ASN.1 codec and signs/verifies with Node's crypto.
import { createHash, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { SIGNATURE_HASH, asn1Time, certificateNames, children, fromBinaryString, normaliseSerial, parseDer, pemBlocks, toBinaryString, toPem } from './der.ts';
import type { CertificateAuthority } from './pki.ts';

const { asn1, pki } = forge;
const { Class, Type } = asn1;

export interface RevokedEntry {
  /** Hex serial number of the revoked certificate. */
  serial: string;
  revokedAt: Date;
}

export interface CrlSpec {
  revoked: RevokedEntry[];
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** cRLNumber: must grow with each list the CA publishes. */
  number?: number;
}

const DAY = 24 * 60 * 60 * 1000;

function integerFromHex(hex: string): forge.asn1.Asn1 {
  const digits = normaliseSerial(hex);
  let bytes = Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, toBinaryString(bytes));
}

function time(date: Date): forge.asn1.Asn1 {
  // UTCTime up to 2049, GeneralizedTime after, as RFC 5280 §5.1.2.4 requires.
  return date.getUTCFullYear() < 2050
    ? asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function extension(oid: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(oid).getBytes()),
    asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, asn1.toDer(value).getBytes()),
  ]);
}

/** A CRL signed by `ca` (SHA-256 with RSA), as PEM. */
export function createCrl(ca: CertificateAuthority, spec: CrlSpec): string {
  const thisUpdate = spec.thisUpdate ?? new Date();
  const nextUpdate = spec.nextUpdate ?? new Date(thisUpdate.getTime() + 30 * DAY);
  const algorithm = asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(pki.oids.sha256WithRSAEncryption).getBytes()),
    asn1.create(Class.UNIVERSAL, Type.NULL, false, ''),
  ]);
  // The issuer is the CA's subject exactly as encoded in its certificate: verifiers compare bytes.
  const issuer = parseDer(certificateNames(ca.certificate.raw).subject);
  const keyIdentifier = pki.getPublicKeyFingerprint(ca.forgeCertificate.publicKey, { type: 'RSAPublicKey' }).getBytes();
  const tbsFields: forge.asn1.Asn1[] = [
    asn1.create(Class.UNIVERSAL, Type.INTEGER, false, '\x01'), // v2
    algorithm,
    issuer,
    time(thisUpdate),
    time(nextUpdate),
  ];
  // RFC 5280: with nothing revoked the list is absent, not empty.
  if (spec.revoked.length > 0) {
    tbsFields.push(asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, spec.revoked.map((entry) =>
      asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [integerFromHex(entry.serial), time(entry.revokedAt)]))));
  }
  const crlNumber = integerFromHex((spec.number ?? 1).toString(16));
  const authorityKeyIdentifier = asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    asn1.create(Class.CONTEXT_SPECIFIC, 0, false, keyIdentifier),
  ]);
  tbsFields.push(asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [
    asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
      extension('2.5.29.35', authorityKeyIdentifier),
      extension('2.5.29.20', crlNumber),
    ]),
  ]));
  const tbs = asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, tbsFields);
  const signature = sign('sha256', fromBinaryString(asn1.toDer(tbs).getBytes()), ca.key.privateKey);
  const list = asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    tbs,
    algorithm,
    asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${toBinaryString(signature)}`),
  ]);
  return toPem(fromBinaryString(asn1.toDer(list).getBytes()), 'X509 CRL');
}

export interface ParsedCrl {
  /** DER of the issuer Name: matched byte for byte against a CA's subject. */
  issuer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  revoked: Set<string>;
  /** The signed bytes, exactly as received (a re-encoding could differ and fail to verify). */
  tbs: Buffer;
  signature: Buffer;
  /** Hash of the signature algorithm, or undefined when Carnet does not support it. */
  hash?: string;
  /** Fingerprint of the whole list, to tell lists apart in logs. */
  fingerprint: string;
}

/** Where the DER element starting at `offset` has its contents and where it ends. */
function elementAt(der: Buffer, offset: number): { contents: number; end: number } {
  let pos = offset + 1; // one-octet tags only: CRLs use no others at this level
  const first = der[pos++];
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[pos++];
  }
  if (pos + length > der.length) throw new Error('truncated DER');
  return { contents: pos, end: pos + length };
}

/** The bytes of the first element inside the outer SEQUENCE (the TBSCertList). */
function signedPart(der: Buffer): Buffer {
  const start = elementAt(der, 0).contents;
  return der.subarray(start, elementAt(der, start).end);
}

export function parseCrl(der: Buffer): ParsedCrl {
  const [tbs, algorithm, signatureBits] = children(parseDer(der));
  const fields = children(tbs);
  let i = fields[0].type === Type.INTEGER && fields[0].tagClass === Class.UNIVERSAL ? 1 : 0;
  i++; // signature AlgorithmIdentifier (repeated outside)
  const issuerNode = fields[i++];
  const thisUpdate = asn1Time(fields[i++]);
  let nextUpdate: Date | undefined;
  const maybeNext = fields[i];
  if (maybeNext && maybeNext.tagClass === Class.UNIVERSAL && (maybeNext.type === Type.UTCTIME || maybeNext.type === Type.GENERALIZEDTIME)) {
    nextUpdate = asn1Time(maybeNext);
    i++;
  }
  const revoked = new Set<string>();
  const maybeList = fields[i];
  if (maybeList && maybeList.tagClass === Class.UNIVERSAL && maybeList.type === Type.SEQUENCE) {
    for (const entry of children(maybeList)) {
      const serial = children(entry)[0].value as string;
      revoked.add(normaliseSerial(fromBinaryString(serial).toString('hex')));
    }
  }
  const algorithmOid = asn1.derToOid(children(algorithm)[0].value as string);
  const bits = fromBinaryString(signatureBits.value as string);
  return {
    issuer: fromBinaryString(asn1.toDer(issuerNode).getBytes()),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    revoked,
    tbs: signedPart(der),
    signature: bits.subarray(1), // first octet: unused bits (0)
    ...(SIGNATURE_HASH[algorithmOid] ? { hash: SIGNATURE_HASH[algorithmOid] } : {}),
    fingerprint: createHash('sha256').update(der).digest('hex').slice(0, 16),
  };
}

/** Every CRL of a PEM bundle ("X509 CRL" blocks), or one DER list. */
export function parseCrls(input: string | Buffer): ParsedCrl[] {
  const blocks = pemBlocks(input, 'X509 CRL');
  if (blocks.length === 0 && Buffer.isBuffer(input) && input[0] === 0x30) return [parseCrl(input)];
  return blocks.map(parseCrl);
}

export function crlSignedBy(crl: ParsedCrl, publicKey: KeyObject): boolean {
  if (!crl.hash) return false;
  try {
    return verify(crl.hash, crl.tbs, publicKey, crl.signature);
  } catch {
    return false;
  }
}
