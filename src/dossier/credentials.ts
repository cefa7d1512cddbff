// The patients' and legal representatives' sign-in credentials, as the dossier lifecycle needs
// them: issued at creation (an initial password handed over, or one set online), reset and
// unblocked by the support desk, changed by their holder, withdrawn when the dossier is purged.
// Backed by the identity module's PatientAuth and CredentialStore.
import { randomInt } from 'node:crypto';
import {
  normaliseLogin,
  verifyPassword,
  type CredentialStore,
  type NewCredential,
  type OtpChannel,
  type PatientAuth,
  type PatientSubject,
} from '../identity/index.ts';

export interface DossierCredentials {
  subjectOf(login: string): Promise<PatientSubject | undefined>;
  otpOf(login: string): Promise<OtpChannel | undefined>;
  /** Creates or replaces a credential (its sessions end). */
  set(credential: NewCredential): Promise<void>;
  /** Adds a minor to an existing representative credential. */
  addRepresented(login: string, patientId: string): Promise<void>;
  /** Withdraws a dossier from a credential; one left with no dossier stops working. */
  withdraw(login: string, patientId: string): Promise<void>;
  /** Lifts a sign-in lock-out. */
  unblock(login: string): Promise<void>;
  verify(login: string, password: string): Promise<boolean>;
}

/** What a credential whose dossier is gone keeps: a hash no password matches. */
const WITHDRAWN_HASH = 'withdrawn';

export function credentialsOver(auth: PatientAuth, store: CredentialStore): DossierCredentials {
  const get = (login: string) => store.getCredential(normaliseLogin(login));
  return {
    async subjectOf(login) {
      const credential = await get(login);
      return credential && credential.passwordHash !== WITHDRAWN_HASH ? credential.subject : undefined;
    },
    async otpOf(login) {
      return (await get(login))?.otp;
    },
    set: (credential) => auth.setCredential(credential),
    async addRepresented(login, patientId) {
      const credential = await get(login);
      if (credential?.subject.kind !== 'representative') throw new Error('not a representative credential');
      const patientIds = [...new Set([...credential.subject.patientIds, patientId])];
      await store.putCredential({ ...credential, subject: { kind: 'representative', patientIds } });
    },
    async withdraw(login, patientId) {
      const credential = await get(login);
      if (!credential) return;
      const remaining = credential.subject.kind === 'representative' ? credential.subject.patientIds.filter((id) => id !== patientId) : [];
      if (credential.subject.kind === 'patient' && credential.subject.patientId !== patientId) return;
      if (remaining.length > 0) {
        await store.putCredential({ ...credential, subject: { kind: 'representative', patientIds: remaining } });
        return;
      }
      // CredentialStore has no delete: the record keeps the login only, with nothing to sign in with.
      await store.putCredential({ login: credential.login, passwordHash: WITHDRAWN_HASH, subject: credential.subject, otp: { channel: credential.otp.channel, to: '' } });
      await store.deleteSessionsOf(credential.login);
    },
    unblock: (login) => store.clearGuard(normaliseLogin(login)),
    async verify(login, password) {
      const credential = await get(login);
      return verifyPassword(password, credential && credential.passwordHash !== WITHDRAWN_HASH ? credential.passwordHash : undefined);
    },
  };
}

/** Letters and digits that cannot be mistaken for one another on paper (no 0/O, 1/l/I). */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** An initial password to hand over on paper: 14 characters, about 81 bits. */
export function initialPassword(): string {
  let out = '';
  for (let i = 0; i < 14; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A login when none is chosen: 'c' and 10 digits, easy to type. */
export function generatedLogin(): string {
  return `c${String(randomInt(0, 10_000_000_000)).padStart(10, '0')}`;
}

export const MIN_PASSWORD_LENGTH = 12;
