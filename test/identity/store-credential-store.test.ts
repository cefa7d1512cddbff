// Patient sign-in records kept in the Store: the steps that must be atomic stay atomic under
// concurrency, on both stores.
import t from 'tap';
import { StoreCredentialStore } from '../../src/identity/store-credential-store.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

let store: Store;
let cleanup: () => Promise<void>;
t.before(async () => {
  ({ store, cleanup } = await openTestStore());
});
t.teardown(() => cleanup());

t.test('parallel failures are all counted', async (t) => {
  const creds = new StoreCredentialStore(store);
  const counts = await Promise.all(Array.from({ length: 8 }, () => creds.addFailure('guess@example.org')));
  t.same([...counts].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.equal((await creds.getGuard('guess@example.org'))?.failures, 8);
});

t.test('a one-time code challenge can be taken only once, even by parallel takers', async (t) => {
  const creds = new StoreCredentialStore(store);
  await creds.putChallenge({ id: 'challenge-1', login: 'x@example.org', codeMac: 'ab', expiresAt: Date.now() + 60_000, attempts: 0 });
  const taken = await Promise.all(Array.from({ length: 5 }, () => creds.takeChallenge('challenge-1')));
  t.equal(taken.filter((c) => c !== undefined).length, 1);
  t.equal(taken.find((c) => c)?.id, 'challenge-1', 'the challenge keeps its own id');
});

t.test("signing out everywhere removes every session of a login and no one else's", async (t) => {
  const creds = new StoreCredentialStore(store);
  const session = (tokenHash: string, login: string) => ({ tokenHash, login, subject: { kind: 'patient' as const, patientId: 'p' }, createdAt: 1, expiresAt: 2 });
  await creds.putSession(session('a'.repeat(64), 'one@example.org'));
  await creds.putSession(session('b'.repeat(64), 'one@example.org'));
  await creds.putSession(session('c'.repeat(64), 'two@example.org'));
  await creds.deleteSessionsOf('one@example.org');
  t.equal(await creds.getSession('a'.repeat(64)), undefined);
  t.equal(await creds.getSession('b'.repeat(64)), undefined);
  t.equal((await creds.getSession('c'.repeat(64)))?.login, 'two@example.org');
});

t.test('records hold no login in clear in their ids', async (t) => {
  const creds = new StoreCredentialStore(store);
  await creds.putCredential({ login: 'clear@example.org', passwordHash: 'scrypt$x', subject: { kind: 'patient', patientId: 'p' }, otp: { channel: 'email', to: 'clear@example.org' } });
  const history = await store.history({ type: 'CarnetCredential', count: 10 });
  t.ok(history.entries.length > 0);
  t.ok(history.entries.every((e) => !e.id.includes('clear')));
});
