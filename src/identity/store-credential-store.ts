// Patient sign-in records kept in the Store, as internal record types the FHIR API never serves
// (their type names are not FHIR types). Each record's id is a SHA-256 of its key, so logins and
// tokens never appear as ids. The atomic steps (counting a failure, taking a one-time code) use
// the store's optimistic concurrency: read a version, write the next one only if nobody else did.
import { createHash } from 'node:crypto';
import { indexKey, isStoreError, type ResourceBody, type Store } from '../store/index.ts';
import type { CredentialStore, LoginGuard, OtpChallenge, PatientCredential, PatientSession } from './credential-store.ts';

const TYPES = { credential: 'CarnetCredential', guard: 'CarnetLoginGuard', challenge: 'CarnetOtpChallenge', session: 'CarnetSession' } as const;
type RecordType = (typeof TYPES)[keyof typeof TYPES];

function idOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** How many times a compare-and-set step is retried under contention before giving up. */
const MAX_RETRIES = 20;

export class StoreCredentialStore implements CredentialStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async #get<T>(type: RecordType, key: string): Promise<{ value: T; version: number } | undefined> {
    const v = await this.#store.read(type, idOf(key));
    if (!v || v.deleted || !v.resource) return undefined;
    return { value: v.resource.record as T, version: v.versionId };
  }

  async #put(type: RecordType, key: string, value: object, options: { ifVersion?: number; login?: string } = {}): Promise<void> {
    // Nested, so the record's own fields (a challenge's id) never clash with the resource's.
    const resource: ResourceBody = { resourceType: type, record: value };
    const index = options.login ? [{ param: 'login', value: indexKey('exact', idOf(options.login)) }] : [];
    await this.#store.commit({ writes: [{ op: 'update', type, id: idOf(key), resource, index, ifVersion: options.ifVersion }] });
  }

  async #delete(type: RecordType, key: string, ifVersion?: number): Promise<void> {
    await this.#store.commit({ writes: [{ op: 'delete', type, id: idOf(key), ifVersion }] });
  }

  /** Read-modify-write that retries when another writer got there first. */
  async #update<T extends object>(type: RecordType, key: string, change: (current: T | undefined) => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.#get<T>(type, key);
      const next = change(current?.value);
      try {
        await this.#put(type, key, next, { ifVersion: current?.version ?? 0 });
        return next;
      } catch (error) {
        if (!isStoreError(error, 'version-conflict') || attempt >= MAX_RETRIES) throw error;
      }
    }
  }

  async getCredential(login: string): Promise<PatientCredential | undefined> {
    return (await this.#get<PatientCredential>(TYPES.credential, login))?.value;
  }

  async putCredential(credential: PatientCredential): Promise<void> {
    await this.#put(TYPES.credential, credential.login, credential);
  }

  async getGuard(login: string): Promise<LoginGuard | undefined> {
    return (await this.#get<LoginGuard>(TYPES.guard, login))?.value;
  }

  async addFailure(login: string): Promise<number> {
    const guard = await this.#update<LoginGuard>(TYPES.guard, login, (g) => ({ ...(g ?? { login, failures: 0, lockouts: 0 }), failures: (g?.failures ?? 0) + 1 }));
    return guard.failures;
  }

  async lock(login: string, lockedUntil: number, lockouts: number): Promise<void> {
    await this.#update<LoginGuard>(TYPES.guard, login, (g) => ({ ...(g ?? { login, failures: 0, lockouts: 0 }), failures: 0, lockouts, lockedUntil }));
  }

  async markCodeSent(login: string, at: number): Promise<void> {
    await this.#update<LoginGuard>(TYPES.guard, login, (g) => ({ ...(g ?? { login, failures: 0, lockouts: 0 }), lastCodeSentAt: at }));
  }

  async clearGuard(login: string): Promise<void> {
    await this.#delete(TYPES.guard, login);
  }

  async putChallenge(challenge: OtpChallenge): Promise<void> {
    await this.#put(TYPES.challenge, challenge.id, challenge);
  }

  async takeChallenge(id: string): Promise<OtpChallenge | undefined> {
    const current = await this.#get<OtpChallenge>(TYPES.challenge, id);
    if (!current) return undefined;
    try {
      // Deleting the version we read: of two concurrent takers only one succeeds.
      await this.#delete(TYPES.challenge, id, current.version);
      return current.value;
    } catch (error) {
      if (isStoreError(error, 'version-conflict')) return undefined;
      throw error;
    }
  }

  async putSession(session: PatientSession): Promise<void> {
    await this.#put(TYPES.session, session.tokenHash, session, { login: session.login });
  }

  async getSession(tokenHash: string): Promise<PatientSession | undefined> {
    return (await this.#get<PatientSession>(TYPES.session, tokenHash))?.value;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#delete(TYPES.session, tokenHash);
  }

  async deleteSessionsOf(login: string): Promise<void> {
    for (;;) {
      const page = await this.#store.search({ types: [TYPES.session], where: { param: 'login', in: [indexKey('exact', idOf(login))] }, count: 100 });
      if (page.entries.length === 0) return;
      await this.#store.commit({ writes: page.entries.map((e) => ({ op: 'delete' as const, type: TYPES.session, id: e.id })) });
    }
  }
}
