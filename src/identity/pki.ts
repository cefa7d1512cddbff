// A small certificate authority for development and tests: node-forge lays out the certificates,
// Node's crypto makes the keys and the signatures (forge's pure-JS RSA would take seconds per
// key; Node's takes tens of milliseconds). Subject conventions: subject.ts.
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPair as generateNodeKeyPair, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { NAME_OID, fromBinaryString, toBinaryString } from './der.ts';
import { CARE_HISTORY_FEED_ROLE, OPERATOR_ROLE, SECTOR_OF_ACTIVITY, professionCode, psIdNat } from './subject.ts';
import type { ProfessionalIdentity } from './types.ts';

const { pki, asn1 } = forge;
const generateRsa = promisify(generateNodeKeyPair);

export interface KeyPair {
  privateKey: KeyObject;
  /** PKCS#1 PEM ("RSA PRIVATE KEY"): what curl, OpenSSL and forge all read. */
  privateKeyPem: string;
  publicKeyPem: string;
}

export async function generateKeyPair(bits = 2048): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateRsa('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return {
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export function keyPairFromPem(privateKeyPem: string): KeyPair {
  const privateKey = createPrivateKey(privateKeyPem);
  return {
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** A certificate with its key. */
export interface Issued {
  certPem: string;
  keyPem: string;
  key: KeyPair;
  certificate: X509Certificate;
  /** Upper-case hex, as Node's X509Certificate.serialNumber gives it. */
  serial: string;
}

export interface CertificateAuthority extends Issued {
  /** The forge form, whose subject attributes become each issued certificate's issuer. */
  forgeCertificate: forge.pki.Certificate;
}

type Attribute = { type: string; value: string; valueTagClass: number };

/** UTF8String for every value: PrintableString cannot hold '_' (G15_10) or accents. */
function name(entries: [oid: string, value: string | undefined][]): Attribute[] {
  return entries
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([type, value]) => ({ type, value, valueTagClass: asn1.Type.UTF8 }));
}

/** Positive 128-bit serial (RFC 5280 allows up to 20 octets; the high bit must be clear). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x10; // no leading zero octet, so every tool prints the same hex
  return bytes.toString('hex');
}

const DAY = 24 * 60 * 60 * 1000;

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

function validity(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  // A few minutes' slack so that a client whose clock is slightly behind accepts a fresh certificate.
  const notBefore = v.notBefore ?? new Date(Date.now() - 5 * 60 * 1000);
  const notAfter = v.notAfter ?? new Date(notBefore.getTime() + defaultDays * DAY);
  return { notBefore, notAfter };
}

function subjectKeyIdentifier(publicKey: forge.pki.PublicKey): string {
  return pki.getPublicKeyFingerprint(publicKey, { type: 'RSAPublicKey' }).getBytes();
}

/** Signs with Node's crypto, then lets forge serialise (what forge's own cert.sign does, faster). */
function signCertificate(cert: forge.pki.Certificate, issuerKey: KeyObject): void {
  const algorithmOid = pki.oids.sha256WithRSAEncryption;
  const c = cert as forge.pki.Certificate & { signatureOid: string; siginfo: { algorithmOid: string }; tbsCertificate: forge.asn1.Asn1 };
  c.md = forge.md.sha256.create();
  c.signatureOid = algorithmOid;
  c.siginfo.algorithmOid = algorithmOid;
  // getTBSCertificate exists in forge but not in its type definitions.
  c.tbsCertificate = (pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const tbs = fromBinaryString(asn1.toDer(c.tbsCertificate).getBytes());
  c.signature = toBinaryString(sign('sha256', tbs, issuerKey));
}

function finish(cert: forge.pki.Certificate, key: KeyPair): Issued {
  const certPem = pki.certificateToPem(cert);
  const certificate = new X509Certificate(certPem);
  return { certPem, keyPem: key.privateKeyPem, key, certificate, serial: certificate.serialNumber };
}

export interface CaSpec extends Validity {
  commonName: string;
  organization?: string;
  key?: KeyPair;
  /** Makes an intermediate CA signed by this one (IGC-Santé has a root and intermediates). */
  issuer?: CertificateAuthority;
}

export async function createCertificateAuthority(spec: CaSpec): Promise<CertificateAuthority> {
  const key = spec.key ?? (await generateKeyPair());
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(key.publicKeyPem);
  cert.serialNumber = randomSerial();
  Object.assign(cert.validity, validity(spec, 3650));
  const subject = name([[NAME_OID.countryName, 'FR'], [NAME_OID.organizationName, spec.organization], [NAME_OID.commonName, spec.commonName]]);
  cert.setSubject(subject as forge.pki.CertificateField[]);
  cert.setIssuer(spec.issuer ? spec.issuer.forgeCertificate.subject.attributes : subject as forge.pki.CertificateField[]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    ...(spec.issuer ? [{ name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifier(spec.issuer.forgeCertificate.publicKey) }] : []),
  ]);
  signCertificate(cert, (spec.issuer ?? { key }).key.privateKey);
  return { ...finish(cert, key), forgeCertificate: cert };
}

/** A CA read back from PEM files (the development CA in the data folder). */
export function loadCertificateAuthority(certPem: string, keyPem: string): CertificateAuthority {
  const forgeCertificate = pki.certificateFromPem(certPem);
  const key = keyPairFromPem(keyPem);
  const certificate = new X509Certificate(certPem);
  return { certPem, keyPem: key.privateKeyPem, key, certificate, serial: certificate.serialNumber, forgeCertificate };
}

type Usage = 'client' | 'server' | 'client-and-server';

interface LeafSpec extends Validity {
  subject: Attribute[];
  usage: Usage;
  altNames?: string[];
  key?: KeyPair;
  days?: number;
}

async function issueLeaf(ca: CertificateAuthority, spec: LeafSpec): Promise<Issued> {
  const key = spec.key ?? (await generateKeyPair());
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(key.publicKeyPem);
  cert.serialNumber = randomSerial();
  Object.assign(cert.validity, validity(spec, spec.days ?? 365));
  cert.setSubject(spec.subject as forge.pki.CertificateField[]);
  cert.setIssuer(ca.forgeCertificate.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      clientAuth: spec.usage !== 'server',
      serverAuth: spec.usage !== 'client',
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifier(ca.forgeCertificate.publicKey) },
  ];
  if (spec.altNames?.length) {
    extensions.push({
      name: 'subjectAltName',
      altNames: spec.altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    });
  }
  cert.setExtensions(extensions);
  signCertificate(cert, ca.key.privateKey);
  return finish(cert, key);
}

export interface ProfessionalSpec extends Validity {
  /** G15 profession code, e.g. '10'. */
  profession: string;
  specialty?: string;
  pharmacistSection?: string;
  /** 11 digits. */
  rpps: string;
  surname?: string;
  givenName?: string;
  /** Struct_IdNat and name of the structure of the activity. */
  organization?: { id?: string; name?: string };
  /** Activity sector SAxx; defaults to the sector implied by `activity`, else none. */
  sector?: string;
  activity?: ProfessionalIdentity['activity'];
  key?: KeyPair;
}

/** A CPS-like client certificate (subject layout: subject.ts). */
export function issueProfessionalCertificate(ca: CertificateAuthority, spec: ProfessionalSpec): Promise<Issued> {
  if (!/^\d{11}$/.test(spec.rpps)) throw new Error('rpps must be 11 digits');
  const sector = spec.sector ?? (spec.activity ? SECTOR_OF_ACTIVITY[spec.activity] : undefined);
  return issueLeaf(ca, {
    ...spec,
    usage: 'client',
    subject: name([
      [NAME_OID.countryName, 'FR'],
      [NAME_OID.organizationName, spec.organization?.name],
      [NAME_OID.organizationalUnitName, spec.organization?.id],
      [NAME_OID.title, professionCode(spec)],
      [NAME_OID.businessCategory, sector],
      [NAME_OID.surname, spec.surname],
      [NAME_OID.givenName, spec.givenName],
      [NAME_OID.commonName, psIdNat(spec.rpps)],
    ]),
  });
}

export interface ServerSpec extends Validity {
  /** DNS names and IP addresses; the first is the common name. */
  hosts: string[];
  key?: KeyPair;
}

export function issueServerCertificate(ca: CertificateAuthority, spec: ServerSpec): Promise<Issued> {
  return issueLeaf(ca, {
    ...spec,
    usage: 'server',
    altNames: spec.hosts,
    subject: name([[NAME_OID.countryName, 'FR'], [NAME_OID.organizationName, 'Carnet'], [NAME_OID.commonName, spec.hosts[0]]]),
  });
}

export interface EstablishmentSpec extends Validity {
  /** Struct_IdNat, e.g. '1' + FINESS. */
  structureId: string;
  name: string;
  /** The application or service the certificate names (IGC-Santé ORG certificates do). */
  service?: string;
  sector?: string;
  hosts?: string[];
  key?: KeyPair;
}

/** An establishment's server certificate, usable for mutual TLS as a client (ORG AUTH_CLI-like). */
export function issueEstablishmentCertificate(ca: CertificateAuthority, spec: EstablishmentSpec): Promise<Issued> {
  return issueLeaf(ca, {
    ...spec,
    usage: 'client-and-server',
    altNames: spec.hosts,
    subject: name([
      [NAME_OID.countryName, 'FR'],
      [NAME_OID.organizationName, spec.name],
      [NAME_OID.organizationalUnitName, spec.structureId],
      [NAME_OID.businessCategory, spec.sector],
      [NAME_OID.commonName, spec.service ?? `${spec.name} AUTH_CLI`],
    ]),
  });
}

export interface SystemSpec extends Validity {
  role: 'care-history-feed' | 'operator';
  /** Names the feed or the operator (the certificate's CN). */
  id: string;
  key?: KeyPair;
}

export function issueSystemCertificate(ca: CertificateAuthority, spec: SystemSpec): Promise<Issued> {
  return issueLeaf(ca, {
    ...spec,
    usage: 'client',
    subject: name([
      [NAME_OID.countryName, 'FR'],
      [NAME_OID.title, spec.role === 'operator' ? OPERATOR_ROLE : CARE_HISTORY_FEED_ROLE],
      [NAME_OID.commonName, spec.id],
    ]),
  });
}

/** PKCS#12 bundle of a client certificate, its key and the CA (3DES: what every client imports). */
export function toPkcs12(issued: Issued, ca: Issued, password: string): Buffer {
  const key = pki.privateKeyFromPem(issued.keyPem);
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [pki.certificateFromPem(issued.certPem), pki.certificateFromPem(ca.certPem)], password, {
    algorithm: '3des',
    friendlyName: 'carnet',
  });
  return fromBinaryString(asn1.toDer(p12).getBytes());
}
