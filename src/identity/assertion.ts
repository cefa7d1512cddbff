// The establishment's assertion of who its user is: Carnet's compact stand-in for the DMP's VIHF
// (a SAML 2.0 assertion in the WS-Security header, dmp-fr.md §4.3). The establishment
// authenticates with its certificate over mutual TLS and sends, in the `X-Carnet-Assertion`
// header, a JWS (compact serialisation, RS256/PS256/ES256) signed with the key of that same
// certificate. Claims map the VIHF attributes:
//
//   iss                 Issuer: the establishment's Struct_IdNat = OU of its TLS certificate
//   aud                 Ressource_URN: Carnet's audience (configured; e.g. urn:carnet)
//   iat, exp, nbf?      issue instant, expiry (at most 1 hour after iat), not-before
//   sub                 Subject/NameID: PS_IdNat (8 + RPPS); for non-health staff the local id
//   role                subject:role #1: G15 profession ('10') or TRE_A00 role
//                       (SECRETARIAT_MEDICAL = administrative staff); 'G15_10/SM26' also accepted
//   specialty?          subject:role #2 for physicians (TRE_R01, e.g. SM26)
//   pharmacist_section? subject:role #2 for pharmacists (TRE_G05, e.g. A, G)
//   structure?          Identifiant_Structure (geographic FINESS), default: iss
//   sector?             Secteur_Activite (TRE_R02 SAxx)
//   purpose_of_use      purposeofuse (TRE_R248): normal | bris_de_glace | centre_15
//                       (Carnet's normal | break-the-glass | emergency-call also accepted)
//   purpose_reason?     Mode_Acces_Raison: required for break-the-glass
//   resource_id?        resource-id: patient INS, CX form (…^^^&1.2.250.1.213.1.4.10&ISO^NH) or bare
//
// Node's crypto does JWS without a library: the format is three base64url parts and one signature.
import { constants, createPrivateKey, sign, verify } from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { identityInMode, parseAccessMode } from './access-mode.ts';
import { activityOf, isRpps, parseProfessionCode, rppsFromPsIdNat } from './subject.ts';
import { refuse } from './types.ts';
import type { AccessMode, Identity, Organization, Refusal } from './types.ts';

export const ASSERTION_HEADER = 'x-carnet-assertion';

export interface AssertionClaims {
  iss: string;
  aud: string | string[];
  iat: number;
  exp: number;
  nbf?: number;
  jti?: string;
  sub: string;
  role: string;
  specialty?: string;
  pharmacist_section?: string;
  structure?: string;
  sector?: string;
  purpose_of_use?: string;
  purpose_reason?: string;
  resource_id?: string;
}

export type AssertionAlgorithm = 'RS256' | 'PS256' | 'ES256';

/** Patient the assertion is about (the DMP's VIHF is per patient). */
export interface AssertedPatient {
  ins: string;
  /** Assigning authority OID when given in CX form (4.8 NIR, 4.9 NIA, 4.10 test…). */
  authority?: string;
}

export interface VerifiedAssertion {
  ok: true;
  identity: Identity;
  mode: AccessMode;
  patient?: AssertedPatient;
  claims: AssertionClaims;
}

export interface AssertionContext {
  /** The establishment's TLS certificate: its public key verifies the signature. */
  certificate: X509Certificate;
  /** The establishment's Struct_IdNat (from the same certificate): the only accepted issuer. */
  establishment: Organization & { id: string };
  /** Carnet's audience: `aud` must be or contain it. */
  audience: string;
  now: Date;
  /** Longest accepted exp − iat; default 3600 s. */
  maxLifetimeSeconds?: number;
  /** Tolerated clock difference with the establishment; default 60 s. */
  clockSkewSeconds?: number;
}

const MAX_TOKEN_LENGTH = 16 * 1024;
const ADMINISTRATIVE_ROLES = new Set(['SECRETARIAT_MEDICAL']);

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

interface SignatureOptions {
  key: KeyObject;
  dsaEncoding?: 'der' | 'ieee-p1363';
  padding?: number;
  saltLength?: number;
}

/** JWS signatures: ECDSA as raw r‖s (not DER), PSS with a salt as long as the hash. */
function signatureOptions(alg: AssertionAlgorithm, key: KeyObject): SignatureOptions {
  if (alg === 'ES256') return { key, dsaEncoding: 'ieee-p1363' };
  if (alg === 'PS256') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  return { key };
}

/** Signs claims as a compact JWS: for establishments' clients, tools and tests. */
export function signAssertion(claims: AssertionClaims, privateKey: KeyObject | string, alg: AssertionAlgorithm = 'RS256'): string {
  const input = `${base64url(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signature = sign('sha256', Buffer.from(input), signatureOptions(alg, key));
  return `${input}.${signature.toString('base64url')}`;
}

function decodeJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The algorithm must fit the key: an RSA certificate cannot be used with ES256 and so on. */
function algorithmFitsKey(alg: string, certificate: X509Certificate): alg is AssertionAlgorithm {
  const type = certificate.publicKey.asymmetricKeyType;
  if (alg === 'RS256' || alg === 'PS256') return type === 'rsa';
  if (alg === 'ES256') return type === 'ec' && certificate.publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  return false;
}

export function parseInsResource(value: string): AssertedPatient | undefined {
  const cx = /^([0-9A-Za-z]{1,30})\^\^\^&([0-9]+(?:\.[0-9]+)+)&ISO\^NH$/.exec(value);
  if (cx) return { ins: cx[1], authority: cx[2] };
  return /^[0-9A-Za-z]{1,30}$/.test(value) ? { ins: value } : undefined;
}

const optionalStrings = ['specialty', 'pharmacist_section', 'structure', 'sector', 'purpose_of_use', 'purpose_reason', 'resource_id', 'jti'] as const;

function readClaims(payload: unknown): AssertionClaims | undefined {
  if (!isObject(payload)) return undefined;
  const { iss, aud, iat, exp, nbf, sub, role } = payload;
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof role !== 'string') return undefined;
  if (!(typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string')))) return undefined;
  if (typeof iat !== 'number' || typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) return undefined;
  for (const name of optionalStrings) {
    if (payload[name] !== undefined && typeof payload[name] !== 'string') return undefined;
  }
  return payload as unknown as AssertionClaims;
}

/** The user as the establishment vouches for them (before the access mode is applied). */
function identityOf(claims: AssertionClaims, establishment: Organization & { id: string }): Identity | Refusal {
  const organization: Organization = { id: claims.structure ?? establishment.id, ...(establishment.name ? { name: establishment.name } : {}) };
  if (ADMINISTRATIVE_ROLES.has(claims.role)) {
    if (!/^[\x21-\x7e]{1,64}$/.test(claims.sub)) return refuse('malformed-assertion', 'The assertion subject id is not usable');
    return { kind: 'professional', rpps: claims.sub, profession: claims.role, role: 'administrative-staff', organization };
  }
  const code = parseProfessionCode(/^\d{2}$/.test(claims.role) ? `G15_${claims.role}` : claims.role);
  if (!code) return refuse('unknown-role', 'The assertion names a role Carnet does not know');
  const specialty = claims.specialty ?? code.specialty;
  const pharmacistSection = claims.pharmacist_section ?? code.pharmacistSection;
  const rpps = rppsFromPsIdNat(claims.sub) ?? (isRpps(claims.sub) ? claims.sub : undefined);
  if (!rpps) return refuse('unknown-identifier', 'The assertion subject is not an RPPS-based national id (8 + 11 digits)');
  const activity = activityOf(claims.sector, specialty);
  return {
    kind: 'professional',
    rpps,
    profession: code.profession,
    ...(specialty ? { specialty } : {}),
    ...(pharmacistSection ? { pharmacistSection } : {}),
    ...(activity ? { activity } : {}),
    organization,
  };
}

/** Verifies an assertion sent over an establishment's mutual-TLS connection. */
export function verifyAssertion(token: string, context: AssertionContext): VerifiedAssertion | Refusal {
  const skew = context.clockSkewSeconds ?? 60;
  const maxLifetime = context.maxLifetimeSeconds ?? 3600;
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    return refuse('malformed-assertion', 'The assertion is not a compact JWS');
  }
  const [headerPart, payloadPart, signaturePart] = token.split('.');
  let header: unknown;
  let payload: unknown;
  try {
    header = decodeJson(headerPart);
    payload = decodeJson(payloadPart);
  } catch {
    return refuse('malformed-assertion', 'The assertion is not valid JSON');
  }
  if (!isObject(header) || typeof header.alg !== 'string') return refuse('malformed-assertion', 'The assertion header has no algorithm');
  // No extension Carnet would have to understand ("crit"), no key other than the TLS one.
  if (header.crit !== undefined || header.jku !== undefined || header.jwk !== undefined || header.x5u !== undefined) {
    return refuse('unsupported-algorithm', 'The assertion header asks for features Carnet does not support');
  }
  const alg = header.alg;
  if (!algorithmFitsKey(alg, context.certificate)) {
    return refuse('unsupported-algorithm', 'The assertion algorithm is not RS256, PS256 or ES256 matching the certificate key');
  }
  let signed = false;
  try {
    signed = verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), signatureOptions(alg, context.certificate.publicKey), Buffer.from(signaturePart, 'base64url'));
  } catch {
    signed = false;
  }
  if (!signed) return refuse('bad-signature', 'The assertion signature does not match the establishment certificate');

  const claims = readClaims(payload);
  if (!claims) return refuse('malformed-assertion', 'The assertion lacks required claims (iss, aud, iat, exp, sub, role)');
  if (claims.iss !== context.establishment.id) return refuse('wrong-issuer', 'The assertion issuer is not the establishment of the certificate');
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(context.audience)) return refuse('wrong-audience', 'The assertion is not meant for this server');
  const now = context.now.getTime() / 1000;
  if (now > claims.exp + skew) return refuse('assertion-expired', 'The assertion has expired');
  if (claims.iat > now + skew || (claims.nbf !== undefined && claims.nbf > now + skew)) {
    return refuse('assertion-not-yet-valid', 'The assertion is not valid yet');
  }
  if (claims.exp - claims.iat > maxLifetime) return refuse('assertion-lifetime-too-long', `The assertion lives longer than ${maxLifetime} seconds`);

  const mode = parseAccessMode(claims.purpose_of_use, claims.purpose_reason);
  if ('ok' in mode) return mode;
  let patient: AssertedPatient | undefined;
  if (claims.resource_id !== undefined) {
    patient = parseInsResource(claims.resource_id);
    if (!patient) return refuse('malformed-assertion', 'The assertion patient id (resource_id) is not an INS');
  }
  const vouched = identityOf(claims, context.establishment);
  if ('ok' in vouched) return vouched;
  const identity = identityInMode(vouched, mode);
  if ('ok' in identity) return identity;
  return { ok: true, identity, mode, ...(patient ? { patient } : {}), claims };
}
