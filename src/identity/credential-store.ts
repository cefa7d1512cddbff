// What patient sign-in needs to keep, behind a small interface: the lead backs it by the Store
// (resources + append-only log), tests use the in-memory version below. Records hold no secret
// in clear: passwords as scrypt hashes, one-time codes as HMACs, tokens as SHA-256 digests.

export type PatientSubject =
  | { kind: 'patient'; patientId: string }
  | { kind: 'representative'; patientIds: string[] };

/** Where one-time codes go (the DMP requires an e-mail or mobile channel for patient access). */
export interface OtpChannel {
  channel: 'email' | 'sms';
  to: string;
}

export interface PatientCredential {
  /** Normalised sign-in identifier (trimmed, NFC, lower case). */
  login: string;
  /** hashPassword() output. */
  passwordHash: string;
  subject: PatientSubject;
  otp: OtpChannel;
}

/** Failed-attempt bookkeeping per login; kept for unknown logins too, so lock-out reveals nothing. */
export interface LoginGuard {
  login: string;
  /** Failures since the last lock-out or success. */
  failures: number;
  /** Lock-outs since the last success: the back-off doubles with each. */
  lockouts: number;
  lockedUntil?: number;
  lastCodeSentAt?: number;
}

export interface OtpChallenge {
  /** Random id the client sends back with the code. */
  id: string;
  login: string;
  /** HMAC-SHA256(server secret, id + code), hex. */
  codeMac: string;
  expiresAt: number;
  attempts: number;
}

export interface PatientSession {
  /** SHA-256 of the bearer token, hex: a leaked table gives no usable token. */
  tokenHash: string;
  login: string;
  subject: PatientSubject;
  createdAt: number;
  expiresAt: number;
}

export interface CredentialStore {
  getCredential(login: string): Promise<PatientCredential | undefined>;
  putCredential(credential: PatientCredential): Promise<void>;

  getGuard(login: string): Promise<LoginGuard | undefined>;
  /** Atomically adds one failure and returns the new count (parallel guesses must all count). */
  addFailure(login: string): Promise<number>;
  /** Starts a lock-out: sets lockedUntil and lockouts, resets failures to 0. */
  lock(login: string, lockedUntil: number, lockouts: number): Promise<void>;
  markCodeSent(login: string, at: number): Promise<void>;
  /** After a successful sign-in: forget failures and lock-outs. */
  clearGuard(login: string): Promise<void>;

  putChallenge(challenge: OtpChallenge): Promise<void>;
  /** Removes and returns the challenge in one step, so that a code is used at most once. */
  takeChallenge(id: string): Promise<OtpChallenge | undefined>;

  putSession(session: PatientSession): Promise<void>;
  getSession(tokenHash: string): Promise<PatientSession | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  deleteSessionsOf(login: string): Promise<void>;
}

/** For tests and single-process development. */
export class InMemoryCredentialStore implements CredentialStore {
  readonly credentials = new Map<string, PatientCredential>();
  readonly guards = new Map<string, LoginGuard>();
  readonly challenges = new Map<string, OtpChallenge>();
  readonly sessions = new Map<string, PatientSession>();

  async getCredential(login: string) {
    return clone(this.credentials.get(login));
  }
  async putCredential(credential: PatientCredential) {
    this.credentials.set(credential.login, clone(credential));
  }
  async getGuard(login: string) {
    return clone(this.guards.get(login));
  }
  async addFailure(login: string) {
    const guard = this.guards.get(login) ?? { login, failures: 0, lockouts: 0 };
    guard.failures += 1;
    this.guards.set(login, guard);
    return guard.failures;
  }
  async lock(login: string, lockedUntil: number, lockouts: number) {
    const guard = this.guards.get(login) ?? { login, failures: 0, lockouts: 0 };
    this.guards.set(login, { ...guard, failures: 0, lockouts, lockedUntil });
  }
  async markCodeSent(login: string, at: number) {
    const guard = this.guards.get(login) ?? { login, failures: 0, lockouts: 0 };
    this.guards.set(login, { ...guard, lastCodeSentAt: at });
  }
  async clearGuard(login: string) {
    this.guards.delete(login);
  }
  async putChallenge(challenge: OtpChallenge) {
    this.challenges.set(challenge.id, clone(challenge));
  }
  async takeChallenge(id: string) {
    const challenge = this.challenges.get(id);
    this.challenges.delete(id);
    return challenge;
  }
  async putSession(session: PatientSession) {
    this.sessions.set(session.tokenHash, clone(session));
  }
  async getSession(tokenHash: string) {
    return clone(this.sessions.get(tokenHash));
  }
  async deleteSession(tokenHash: string) {
    this.sessions.delete(tokenHash);
  }
  async deleteSessionsOf(login: string) {
    for (const [hash, session] of this.sessions) if (session.login === login) this.sessions.delete(hash);
  }
}

/** Copies, so callers cannot change stored records behind the store's back (as a database would not let them). */
function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
