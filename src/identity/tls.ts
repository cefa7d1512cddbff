// Mutual TLS for Fastify/Node, and the one function that says who sent a request.
//
// Credentials, in the order they are looked for:
//   1. X-Carnet-Assertion (assertion.ts) over an establishment's client certificate;
//   2. a professional's (or system actor's) client certificate, with the optional
//      X-Carnet-Access-Mode / X-Carnet-Access-Reason headers (access-mode.ts);
//   3. Authorization: Bearer <token>: a connected device's token (registered by the dossier
//      module) or one from patient sign-in (patient-auth.ts).
// A client certificate and a bearer token together are refused as ambiguous, rather than
// guessing which one the client meant.
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { ACCESS_MODE_HEADER, ACCESS_REASON_HEADER, identityInMode, parseAccessMode } from './access-mode.ts';
import { ASSERTION_HEADER, verifyAssertion } from './assertion.ts';
import type { AssertedPatient } from './assertion.ts';
import { establishmentFromCertificate, identityFromCertificate } from './certificate.ts';
import type { PatientAuth } from './patient-auth.ts';
import type { PeerCertificateInput, Trust } from './trust.ts';
import { refuse } from './types.ts';
import type { AccessMode, Clock, DeviceIdentity, Identity, Refusal } from './types.ts';

export interface MutualTlsInput {
  key: string | Buffer;
  cert: string | Buffer;
  /** CAs whose client certificates the TLS layer asks for. */
  ca: string | Buffer;
  crl?: string | Buffer;
}

/**
 * HTTPS options asking for a client certificate without making it mandatory at the TLS level:
 * a patient has none, and a bad certificate must get a 401 with an OperationOutcome, not a TLS
 * alert the client cannot explain. identityFromRequest() does the real checks.
 */
export function mutualTlsOptions(input: MutualTlsInput): TlsOptions & SecureContextOptions & { requestCert: true; rejectUnauthorized: false } {
  return {
    key: input.key,
    cert: input.cert,
    ca: input.ca,
    ...(input.crl ? { crl: input.crl } : {}),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/** What identityFromRequest reads from a request (a FastifyRequest fits). */
export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  raw: { socket?: unknown };
}

export interface IdentityContext {
  /** Or a function returning the current one: lets the server reload a CRL file on a timer. */
  trust: Trust | (() => Trust);
  /** The audience establishments' assertions must name (e.g. 'urn:carnet'). */
  audience: string;
  /** Checks patients' bearer tokens; without it, bearer tokens are refused. */
  patientAuth?: Pick<PatientAuth, 'authenticate'>;
  /**
   * The device a bearer token stands for, or undefined when it is not a (live) device token;
   * asked before patientAuth. The dossier module keeps device tokens (authenticateDevice).
   */
  deviceAuth?: (token: string) => Promise<DeviceIdentity | undefined>;
  clock?: Clock;
}

export type IdentityResult =
  | {
    ok: true;
    identity: Identity;
    mode: AccessMode;
    via: 'assertion' | 'certificate' | 'bearer';
    /** The patient an establishment's assertion is about: requests must stay within this dossier. */
    patient?: AssertedPatient;
  }
  | Refusal;

interface TlsSocketLike {
  getPeerCertificate(detailed: true): PeerCertificateInput & { raw?: Buffer };
}

/**
 * What a TLS connection proved, kept for its lifetime: the client certificate does not change on
 * a connection (Node allows no renegotiation under TLS 1.3, and Carnet asks for the certificate
 * at the handshake), so reading and verifying it once per connection instead of per request
 * saves about 15% of an audited read's CPU. The verdict is reused only with the same trust (a
 * reloaded CRL gets a fresh check) and while the certificate is within its validity dates.
 */
interface ConnectionProof {
  peer: PeerCertificateInput | undefined;
  verdict?: { trust: Trust; validFrom: number; validTo: number; result: ReturnType<typeof identityFromCertificate> & { ok: true } };
}
const connections = new WeakMap<object, ConnectionProof>();

function connectionOf(socket: unknown): ConnectionProof | undefined {
  const tls = socket as Partial<TlsSocketLike> | undefined;
  if (!tls || typeof tls.getPeerCertificate !== 'function') return undefined;
  let proof = connections.get(tls);
  if (!proof) {
    const peer = tls.getPeerCertificate(true);
    // Node returns an empty object when the client sent no certificate.
    proof = { peer: peer && peer.raw?.length ? peer : undefined };
    connections.set(tls, proof);
  }
  return proof;
}

/** The client's certificate chain, or undefined without TLS or without a client certificate. */
export function peerCertificateOf(socket: unknown): PeerCertificateInput | undefined {
  return connectionOf(socket)?.peer;
}

/** identityFromCertificate, its verdict kept on the connection (see ConnectionProof). */
function certificateIdentity(proof: ConnectionProof, trust: Trust, now: Date): ReturnType<typeof identityFromCertificate> {
  const kept = proof.verdict;
  const at = now.getTime();
  if (kept && kept.trust === trust && kept.validFrom <= at && at <= kept.validTo) return kept.result;
  const result = identityFromCertificate(proof.peer, trust, now);
  if (result.ok) proof.verdict = { trust, validFrom: Date.parse(result.certificate.validFrom), validTo: Date.parse(result.certificate.validTo), result };
  return result;
}

type HeaderValue = { value?: string } | { repeated: true };

function single(headers: RequestLike['headers'], name: string): HeaderValue {
  const value = headers[name];
  if (Array.isArray(value)) return value.length > 1 ? { repeated: true } : { value: value[0] };
  return { value };
}

function bearerToken(authorization: string | undefined): string | undefined | null {
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  return match ? match[1] : null; // null: an Authorization header Carnet cannot use
}

function declaredMode(headers: RequestLike['headers']): AccessMode | Refusal {
  const mode = single(headers, ACCESS_MODE_HEADER);
  const reason = single(headers, ACCESS_REASON_HEADER);
  if ('repeated' in mode || 'repeated' in reason) return refuse('bad-access-mode', 'The access mode headers must appear once');
  let decoded: string | undefined;
  try {
    decoded = reason.value === undefined ? undefined : decodeURIComponent(reason.value);
  } catch {
    return refuse('bad-access-mode', 'The access reason must be percent-encoded UTF-8');
  }
  return parseAccessMode(mode.value, decoded);
}

export async function identityFromRequest(request: RequestLike, context: IdentityContext): Promise<IdentityResult> {
  const now = new Date((context.clock ?? Date.now)());
  const trust = typeof context.trust === 'function' ? context.trust() : context.trust;
  const proof = connectionOf(request.raw.socket);
  const peer = proof?.peer;
  const assertion = single(request.headers, ASSERTION_HEADER);
  const authorization = single(request.headers, 'authorization');
  if ('repeated' in assertion || 'repeated' in authorization) {
    return refuse('ambiguous-credentials', 'Credentials headers must appear once');
  }
  const token = bearerToken(authorization.value);
  if (token === null) return refuse('invalid-token', 'The Authorization header must be "Bearer <token>"');

  if (assertion.value !== undefined) {
    if (token !== undefined) return refuse('ambiguous-credentials', 'Send either an assertion or a bearer token, not both');
    if (!peer) return refuse('no-credentials', "An assertion is accepted only over an establishment's client certificate");
    const establishment = establishmentFromCertificate(peer, trust, now);
    if (!establishment.ok) return establishment;
    const verified = verifyAssertion(assertion.value, {
      certificate: establishment.certificate,
      establishment: establishment.organization,
      audience: context.audience,
      now,
    });
    if (!verified.ok) return verified;
    return { ok: true, identity: verified.identity, mode: verified.mode, via: 'assertion', ...(verified.patient ? { patient: verified.patient } : {}) };
  }

  const mode = declaredMode(request.headers);
  if ('ok' in mode) return mode;

  if (peer) {
    if (token !== undefined) return refuse('ambiguous-credentials', 'Send either a client certificate or a bearer token, not both');
    const fromCertificate = certificateIdentity(proof as ConnectionProof, trust, now);
    if (!fromCertificate.ok) return fromCertificate;
    const identity = identityInMode(fromCertificate.identity, mode);
    if ('ok' in identity) return identity;
    return { ok: true, identity, mode, via: 'certificate' };
  }

  if (token !== undefined) {
    if (mode.kind !== 'normal') return refuse('mode-not-allowed', 'Only health professionals can declare an emergency access mode');
    const device = await context.deviceAuth?.(token);
    if (device) return { ok: true, identity: { kind: 'device', patientId: device.patientId, deviceId: device.deviceId }, mode, via: 'bearer' };
    if (!context.patientAuth) return refuse('invalid-token', 'Unknown or revoked token');
    const session = await context.patientAuth.authenticate(token);
    if (!session.ok) return session;
    return { ok: true, identity: session.identity, mode, via: 'bearer' };
  }

  return refuse('no-credentials', 'No credentials: present a client certificate, an assertion or a bearer token');
}
