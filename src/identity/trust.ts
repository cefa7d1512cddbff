// Whom Carnet trusts for client certificates, and the check of one presented chain against that:
// a path to a configured CA, every certificate in its validity period, none revoked.
// TLS is configured with rejectUnauthorized: false (so a bad certificate gets a FHIR 401, not a
// TLS alert); this check is therefore the one that counts, and it is pure: the clock is a parameter.
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { crlSignedBy, parseCrls } from './crl.ts';
import type { ParsedCrl } from './crl.ts';
import { certificateNames, normaliseSerial, pemBlocks } from './der.ts';
import { refuse } from './types.ts';
import type { Refusal } from './types.ts';

export interface Trust {
  /** The configured CAs (roots or intermediates): a path ends at one of them. */
  anchors: X509Certificate[];
  crls: ParsedCrl[];
  /** Refuse a certificate whose issuer has no current CRL (else only when its CRL went stale). */
  requireCrl: boolean;
}

export interface TrustInput {
  /** PEM bundle of CA certificates. */
  ca: string | Buffer;
  /** PEM bundle of CRLs (or one DER CRL). */
  crl?: string | Buffer;
  /** Default: true when CRLs are given (production), false without (development). */
  requireCrl?: boolean;
}

/** Reads the CA and CRL files' contents; throws on a configuration mistake (start-up fails loudly). */
export function loadTrust(input: TrustInput): Trust {
  const anchors = pemBlocks(input.ca, 'CERTIFICATE').map((der) => new X509Certificate(der));
  if (anchors.length === 0) throw new Error('No CA certificate found in the CA file');
  for (const anchor of anchors) {
    if (!anchor.ca) throw new Error(`The CA file holds a certificate that is not a CA: ${anchor.subject.replace(/\n/g, ', ')}`);
  }
  const crls = input.crl ? parseCrls(input.crl) : [];
  // A CRL file without a CRL would silently switch revocation checking off.
  if (input.crl && crls.length === 0) throw new Error('No CRL found in the CRL file (expected PEM "X509 CRL" blocks)');
  for (const crl of crls) {
    const issuers = anchors.filter((a) => certificateNames(a.raw).subject.equals(crl.issuer));
    if (issuers.length > 0 && !issuers.some((a) => crlSignedBy(crl, a.publicKey))) {
      throw new Error(`A CRL (${crl.fingerprint}) names a configured CA as issuer but is not signed by it`);
    }
  }
  return { anchors, crls, requireCrl: input.requireCrl ?? crls.length > 0 };
}

/** What Node or a caller may hand over as "the client's certificate". */
export type PeerCertificateInput = PeerCertificate | DetailedPeerCertificate | X509Certificate | Buffer | string;

/** The presented chain, leaf first (empty when the client sent no certificate). */
export function presentedChain(input: PeerCertificateInput | undefined | null): X509Certificate[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const blocks = pemBlocks(input, 'CERTIFICATE');
    if (blocks.length > 0) return blocks.map((der) => new X509Certificate(der));
    return Buffer.isBuffer(input) && input.length > 0 ? [new X509Certificate(input)] : [];
  }
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  // Node links a detailed peer certificate to its issuers; the last one points to itself.
  let current: PeerCertificateInput | undefined = input;
  while (current && chain.length < 10) {
    const x509: X509Certificate | undefined = current instanceof X509Certificate
      ? current
      : (current as PeerCertificate).raw?.length ? new X509Certificate((current as PeerCertificate).raw) : undefined;
    if (!x509 || seen.has(x509.fingerprint256)) break;
    seen.add(x509.fingerprint256);
    chain.push(x509);
    current = current instanceof X509Certificate ? current.issuerCertificate : (current as DetailedPeerCertificate).issuerCertificate;
  }
  return chain;
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
/** A list published a moment ago by a CA whose clock runs ahead still counts as current. */
const CRL_CLOCK_SKEW_MS = 5 * 60_000;
/** Longest path accepted: leaf, two intermediates, anchor. */
const MAX_PATH = 4;

export interface VerifiedChain {
  ok: true;
  leaf: X509Certificate;
  /** Leaf first, ending with the anchor. */
  path: X509Certificate[];
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function buildPath(leaf: X509Certificate, intermediates: X509Certificate[], trust: Trust): X509Certificate[] | undefined {
  const path = [leaf];
  let current = leaf;
  while (path.length < MAX_PATH) {
    const anchor = trust.anchors.find((a) => issuedBy(current, a));
    if (anchor) return [...path, anchor];
    const next = intermediates.find((c) => c.ca && !path.includes(c) && issuedBy(current, c));
    if (!next) return undefined;
    path.push(next);
    current = next;
  }
  return undefined;
}

function revocationCheck(path: X509Certificate[], trust: Trust, now: Date): Refusal | undefined {
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i];
    const issuer = path[i + 1];
    const issuerName = certificateNames(cert.raw).issuer;
    const lists = trust.crls.filter((crl) => crl.issuer.equals(issuerName) && crlSignedBy(crl, issuer.publicKey));
    const serial = normaliseSerial(cert.serialNumber);
    // A revocation stays a revocation even in a list that has since gone stale.
    if (lists.some((crl) => crl.revoked.has(serial))) {
      return refuse('revoked', i === 0 ? 'The certificate has been revoked' : 'A certificate of the chain has been revoked');
    }
    const current = lists.some((crl) => crl.thisUpdate.getTime() <= now.getTime() + CRL_CLOCK_SKEW_MS && (!crl.nextUpdate || now <= crl.nextUpdate));
    if (!current && (trust.requireCrl || lists.length > 0)) {
      return refuse('revocation-unknown', 'The revocation status of the certificate cannot be established (no current revocation list)');
    }
  }
  return undefined;
}

/** Checks a presented chain: path to a trusted CA, client usage, dates, revocation. */
export function verifyClientChain(chain: X509Certificate[], trust: Trust, now: Date): VerifiedChain | Refusal {
  const [leaf, ...intermediates] = chain;
  if (!leaf) return refuse('no-credentials', 'No client certificate was presented');
  const path = buildPath(leaf, intermediates, trust);
  if (!path) return refuse('untrusted-issuer', 'The certificate was not issued by a certificate authority Carnet trusts');
  const usages = leaf.keyUsage;
  if (leaf.ca || (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE))) {
    return refuse('not-a-client-certificate', 'The certificate is not meant for client authentication');
  }
  for (const cert of path) {
    if (now < cert.validFromDate) return refuse('not-yet-valid', 'The certificate is not valid yet');
    if (now > cert.validToDate) return refuse('expired', cert === leaf ? 'The certificate has expired' : 'A certificate of the chain has expired');
  }
  return revocationCheck(path, trust, now) ?? { ok: true, leaf, path };
}
