// Patient and legal-representative sign-in, in two steps as on the DMP's patient access:
//   1. identifier + password (scrypt) → a one-time code is sent by e-mail or SMS;
//   2. challenge id + code (6 digits, single use, 5 minutes, 5 attempts) → a bearer token.
// Failures (password or code) count per login: after 5, the login is locked, 1 minute the
// first time, doubling with each further lock-out (capped at 1 hour), until a sign-in succeeds.
// Bearer tokens are random and opaque, recorded server-side (as a SHA-256 digest) with a
// 15-minute lifetime: signing out deletes the record, so revocation is immediate.
// Nothing here logs; codes, passwords and tokens never leave these functions except to the
// code sender and to the signed-in client.
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { CredentialStore, LoginGuard, OtpChannel, PatientSession, PatientSubject } from './credential-store.ts';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, verifyPassword } from './password.ts';
import type { ScryptParameters } from './password.ts';
import { refuse } from './types.ts';
import type { Clock, PatientIdentity, Refusal, RepresentativeIdentity } from './types.ts';

/** Delivers a code. The lead's implementation writes the outbox message otpOutboxMessage() builds. */
export interface OtpSender {
  send(delivery: OtpChannel & { code: string }): Promise<void>;
}

/** The outbox message the notify worker turns into an e-mail or SMS. */
export function otpOutboxMessage(delivery: OtpChannel & { code: string }) {
  return { topic: 'otp' as const, payload: { channel: delivery.channel, to: delivery.to, code: delivery.code } };
}

export interface SignInPolicy {
  codeLifetimeMs: number;
  /** Failures (password or code) before a lock-out; also the attempts one code allows. */
  maxAttempts: number;
  firstLockMs: number;
  maxLockMs: number;
  tokenLifetimeMs: number;
  /** Least time between two codes sent to one login (no SMS flooding). */
  resendIntervalMs: number;
  scrypt?: ScryptParameters;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  codeLifetimeMs: 5 * 60_000,
  maxAttempts: 5,
  firstLockMs: 60_000,
  maxLockMs: 60 * 60_000,
  tokenLifetimeMs: 15 * 60_000,
  resendIntervalMs: 30_000,
};

export interface PatientAuthOptions {
  store: CredentialStore;
  sender: OtpSender;
  /** Server secret (≥ 32 bytes) for the codes' HMAC; shared by every instance of the server. */
  secret: Buffer;
  clock?: Clock;
  policy?: Partial<SignInPolicy>;
}

export type PatientLikeIdentity = PatientIdentity | RepresentativeIdentity;

export type StartResult = { ok: true; challengeId: string; channel: OtpChannel['channel']; expiresAt: number } | Refusal;
export type CompleteResult = { ok: true; token: string; expiresAt: number; expiresInSeconds: number; identity: PatientLikeIdentity } | Refusal;
export type TokenResult = { ok: true; identity: PatientLikeIdentity; expiresAt: number } | Refusal;

export interface NewCredential {
  login: string;
  password: string;
  subject: PatientSubject;
  otp: OtpChannel;
}

export interface PatientAuth {
  /** Creates or replaces a credential (and ends the login's sessions: the password changed). */
  setCredential(credential: NewCredential): Promise<void>;
  startSignIn(login: string, password: string): Promise<StartResult>;
  completeSignIn(challengeId: string, code: string): Promise<CompleteResult>;
  authenticate(token: string): Promise<TokenResult>;
  signOut(token: string): Promise<void>;
  signOutEverywhere(login: string): Promise<void>;
}

export function normaliseLogin(login: string): string {
  return login.normalize('NFC').trim().toLowerCase();
}

function identityOf(subject: PatientSubject): PatientLikeIdentity {
  return subject.kind === 'patient'
    ? { kind: 'patient', patientId: subject.patientId }
    : { kind: 'representative', patientIds: [...subject.patientIds] };
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const CODE_FORMAT = /^\d{6}$/;
const CHALLENGE_FORMAT = /^[A-Za-z0-9_-]{22}$/;

export function createPatientAuth(options: PatientAuthOptions): PatientAuth {
  const { store, sender, secret } = options;
  if (secret.length < 32) throw new Error('The sign-in secret must be at least 32 bytes');
  const clock = options.clock ?? Date.now;
  const policy: SignInPolicy = { ...DEFAULT_SIGN_IN_POLICY, ...options.policy };
  const scryptParameters = policy.scrypt ?? DEFAULT_SCRYPT;

  const codeMac = (challengeId: string, code: string) => createHmac('sha256', secret).update(`${challengeId}:${code}`).digest();

  function lockedRefusal(guard: LoginGuard | undefined, now: number): Refusal | undefined {
    if (guard?.lockedUntil === undefined || guard.lockedUntil <= now) return undefined;
    return refuse('locked', 'Too many failed attempts: try again later', Math.ceil((guard.lockedUntil - now) / 1000));
  }

  /** Counts a failure; returns the lock-out refusal when this failure started one. */
  async function fail(login: string, guard: LoginGuard | undefined, now: number): Promise<Refusal | undefined> {
    const failures = await store.addFailure(login);
    if (failures < policy.maxAttempts) return undefined;
    const lockouts = (guard?.lockouts ?? 0) + 1;
    const duration = Math.min(policy.firstLockMs * 2 ** (lockouts - 1), policy.maxLockMs);
    await store.lock(login, now + duration, lockouts);
    return refuse('locked', 'Too many failed attempts: try again later', Math.ceil(duration / 1000));
  }

  return {
    async setCredential(credential) {
      const login = normaliseLogin(credential.login);
      const passwordHash = await hashPassword(credential.password, scryptParameters);
      await store.putCredential({ login, passwordHash, subject: credential.subject, otp: credential.otp });
      await store.deleteSessionsOf(login);
    },

    async startSignIn(rawLogin, password) {
      const login = normaliseLogin(rawLogin);
      const now = clock();
      const guard = await store.getGuard(login);
      const locked = lockedRefusal(guard, now);
      if (locked) return locked;
      const credential = await store.getCredential(login);
      // Unknown login and wrong password take the same time and give the same answer.
      const good = await verifyPassword(password, credential?.passwordHash, scryptParameters);
      if (!good || !credential) {
        return (await fail(login, guard, now)) ?? refuse('invalid-credentials', 'Unknown identifier or wrong password');
      }
      if (guard?.lastCodeSentAt !== undefined && now - guard.lastCodeSentAt < policy.resendIntervalMs) {
        const wait = Math.ceil((guard.lastCodeSentAt + policy.resendIntervalMs - now) / 1000);
        return refuse('locked', 'A code was sent a moment ago: wait before asking for another', wait);
      }
      if (needsRehash(credential.passwordHash, scryptParameters)) {
        await store.putCredential({ ...credential, passwordHash: await hashPassword(password, scryptParameters) });
      }
      const challengeId = randomBytes(16).toString('base64url');
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const expiresAt = now + policy.codeLifetimeMs;
      await store.putChallenge({ id: challengeId, login, codeMac: codeMac(challengeId, code).toString('hex'), expiresAt, attempts: 0 });
      await store.markCodeSent(login, now);
      await sender.send({ ...credential.otp, code });
      return { ok: true, challengeId, channel: credential.otp.channel, expiresAt };
    },

    async completeSignIn(challengeId, code) {
      const challenge = CHALLENGE_FORMAT.test(challengeId) ? await store.takeChallenge(challengeId) : undefined;
      if (!challenge) return refuse('invalid-code', 'Unknown or already used code');
      const now = clock();
      if (challenge.expiresAt <= now) return refuse('code-expired', 'The code has expired: sign in again');
      const guard = await store.getGuard(challenge.login);
      const locked = lockedRefusal(guard, now);
      if (locked) return locked;
      const expected = Buffer.from(challenge.codeMac, 'hex');
      const given = codeMac(challengeId, CODE_FORMAT.test(code) ? code : 'invalid');
      if (!(expected.length === given.length && timingSafeEqual(expected, given))) {
        const lockedNow = await fail(challenge.login, guard, now);
        const attempts = challenge.attempts + 1;
        // The challenge was taken out; put it back only while it has attempts left.
        if (!lockedNow && attempts < policy.maxAttempts) await store.putChallenge({ ...challenge, attempts });
        return lockedNow ?? refuse('invalid-code', 'Wrong code');
      }
      const credential = await store.getCredential(challenge.login);
      if (!credential) return refuse('invalid-credentials', 'Unknown identifier or wrong password');
      await store.clearGuard(challenge.login);
      const token = randomBytes(32).toString('base64url');
      const session: PatientSession = {
        tokenHash: tokenHash(token),
        login: challenge.login,
        subject: credential.subject,
        createdAt: now,
        expiresAt: now + policy.tokenLifetimeMs,
      };
      await store.putSession(session);
      return { ok: true, token, expiresAt: session.expiresAt, expiresInSeconds: Math.round(policy.tokenLifetimeMs / 1000), identity: identityOf(credential.subject) };
    },

    async authenticate(token) {
      if (!TOKEN_FORMAT.test(token)) return refuse('invalid-token', 'Unknown or revoked token');
      const hash = tokenHash(token);
      const session = await store.getSession(hash);
      if (!session) return refuse('invalid-token', 'Unknown or revoked token');
      if (session.expiresAt <= clock()) {
        await store.deleteSession(hash);
        return refuse('token-expired', 'The token has expired: sign in again');
      }
      return { ok: true, identity: identityOf(session.subject), expiresAt: session.expiresAt };
    },

    async signOut(token) {
      if (TOKEN_FORMAT.test(token)) await store.deleteSession(tokenHash(token));
    },

    async signOutEverywhere(login) {
      await store.deleteSessionsOf(normaliseLogin(login));
    },
  };
}
