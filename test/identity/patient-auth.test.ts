import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createPatientAuth, InMemoryCredentialStore, otpOutboxMessage } from '../../src/identity/index.ts';
import type { NewCredential, OtpChannel, SignInPolicy } from '../../src/identity/index.ts';

const MINUTE = 60_000;
const secret = randomBytes(32);
const cheap: Partial<SignInPolicy> = { scrypt: { ln: 10, r: 8, p: 1 } };

const alice: NewCredential = {
  login: 'Alice@Example.fr',
  password: 'correct horse battery staple',
  subject: { kind: 'patient', patientId: 'patient-1' },
  otp: { channel: 'email', to: 'alice@example.fr' },
};

/** A sign-in service on an in-memory store, a settable clock and a sender that keeps the codes. */
async function setup(policy: Partial<SignInPolicy> = {}) {
  const store = new InMemoryCredentialStore();
  const sent: (OtpChannel & { code: string })[] = [];
  const clock = { now: Date.UTC(2026, 2, 1, 10) };
  const auth = createPatientAuth({
    store, secret, clock: () => clock.now, policy: { ...cheap, ...policy },
    sender: { send: async (delivery) => { sent.push(delivery); } },
  });
  await auth.setCredential(alice);
  const lastCode = () => sent[sent.length - 1].code;
  return { store, sent, clock, auth, lastCode };
}

/** Password then code: the whole sign-in. */
async function signIn(s: Awaited<ReturnType<typeof setup>>) {
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) throw new Error(started.reason);
  return s.auth.completeSignIn(started.challengeId, s.lastCode());
}

t.test('password then the e-mailed code gives a bearer token for the patient', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn('  alice@example.FR ', alice.password);
  t.same(started.ok && started.channel, 'email');
  t.match(s.lastCode(), /^\d{6}$/);
  t.same(s.sent[0].to, 'alice@example.fr');
  const done = started.ok ? await s.auth.completeSignIn(started.challengeId, s.lastCode()) : started;
  t.same(done.ok && done.identity, { kind: 'patient', patientId: 'patient-1' });
  t.equal(done.ok && done.expiresInSeconds, 15 * 60);
  const checked = done.ok ? await s.auth.authenticate(done.token) : done;
  t.same(checked.ok && checked.identity, { kind: 'patient', patientId: 'patient-1' });
});

t.test('a legal representative signs in as representative of their minors', async (t) => {
  const s = await setup();
  await s.auth.setCredential({ ...alice, login: 'parent', subject: { kind: 'representative', patientIds: ['minor-1', 'minor-2'] } });
  const started = await s.auth.startSignIn('parent', alice.password);
  const done = started.ok ? await s.auth.completeSignIn(started.challengeId, s.lastCode()) : started;
  t.same(done.ok && done.identity, { kind: 'representative', patientIds: ['minor-1', 'minor-2'] });
});

t.test('a wrong password is refused and sends no code', async (t) => {
  const s = await setup();
  const result = await s.auth.startSignIn(alice.login, 'wrong');
  t.equal(!result.ok && result.reason, 'invalid-credentials');
  t.equal(s.sent.length, 0);
});

t.test('an unknown login gets the same answer as a wrong password', async (t) => {
  const s = await setup();
  const unknown = await s.auth.startSignIn('nobody@example.fr', 'whatever');
  const wrong = await s.auth.startSignIn(alice.login, 'whatever');
  t.same(unknown, wrong);
});

t.test('a code works only once', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) return t.fail(started.reason);
  t.ok((await s.auth.completeSignIn(started.challengeId, s.lastCode())).ok);
  const again = await s.auth.completeSignIn(started.challengeId, s.lastCode());
  t.equal(!again.ok && again.reason, 'invalid-code');
});

t.test('two simultaneous uses of one code give one token', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) return t.fail(started.reason);
  const results = await Promise.all([1, 2, 3].map(() => s.auth.completeSignIn(started.challengeId, s.lastCode())));
  t.equal(results.filter((r) => r.ok).length, 1);
});

t.test('a code expires after 5 minutes', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) return t.fail(started.reason);
  s.clock.now += 5 * MINUTE;
  const result = await s.auth.completeSignIn(started.challengeId, s.lastCode());
  t.equal(!result.ok && result.reason, 'code-expired');
});

t.test('a code still works just before 5 minutes', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) return t.fail(started.reason);
  s.clock.now += 5 * MINUTE - 1000;
  t.ok((await s.auth.completeSignIn(started.challengeId, s.lastCode())).ok);
});

t.test('a wrong code may be retried with the right one', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) return t.fail(started.reason);
  const wrong = s.lastCode() === '000000' ? '000001' : '000000';
  const first = await s.auth.completeSignIn(started.challengeId, wrong);
  t.equal(!first.ok && first.reason, 'invalid-code');
  t.ok((await s.auth.completeSignIn(started.challengeId, s.lastCode())).ok);
});

t.test('five wrong codes lock the login for a minute, even for the right code', async (t) => {
  const s = await setup();
  const started = await s.auth.startSignIn(alice.login, alice.password);
  if (!started.ok) return t.fail(started.reason);
  const wrong = s.lastCode() === '000000' ? '000001' : '000000';
  const reasons: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await s.auth.completeSignIn(started.challengeId, wrong);
    reasons.push(r.ok ? 'ok' : r.reason);
  }
  t.same(reasons, ['invalid-code', 'invalid-code', 'invalid-code', 'invalid-code', 'locked']);
  const afterwards = await s.auth.completeSignIn(started.challengeId, s.lastCode());
  t.equal(!afterwards.ok && afterwards.reason, 'invalid-code', 'the challenge is gone');
  const password = await s.auth.startSignIn(alice.login, alice.password);
  t.same(!password.ok && [password.reason, password.retryAfterSeconds], ['locked', 60]);
});

t.test('each further lock-out doubles the wait', async (t) => {
  const s = await setup();
  const waits: number[] = [];
  for (let round = 0; round < 3; round++) {
    let last;
    for (let i = 0; i < 5; i++) last = await s.auth.startSignIn(alice.login, 'wrong');
    waits.push(last && !last.ok ? last.retryAfterSeconds ?? 0 : 0);
    s.clock.now += (last && !last.ok ? last.retryAfterSeconds ?? 0 : 0) * 1000;
  }
  t.same(waits, [60, 120, 240]);
});

t.test('the wait is capped at one hour', async (t) => {
  const s = await setup();
  let wait = 0;
  for (let round = 0; round < 10; round++) {
    let last;
    for (let i = 0; i < 5; i++) last = await s.auth.startSignIn(alice.login, 'wrong');
    wait = last && !last.ok ? last.retryAfterSeconds ?? 0 : 0;
    s.clock.now += wait * 1000;
  }
  t.equal(wait, 3600);
});

t.test('a successful sign-in resets the failures and the back-off', async (t) => {
  const s = await setup();
  for (let i = 0; i < 5; i++) await s.auth.startSignIn(alice.login, 'wrong');
  s.clock.now += MINUTE;
  t.ok((await signIn(s)).ok);
  t.equal(s.store.guards.get('alice@example.fr'), undefined);
});

t.test('unknown logins are locked out too (lock-out does not reveal which logins exist)', async (t) => {
  const s = await setup();
  let last;
  for (let i = 0; i < 5; i++) last = await s.auth.startSignIn('nobody', 'wrong');
  t.equal(last && !last.ok && last.reason, 'locked');
});

t.test('parallel wrong passwords all count towards the lock-out', async (t) => {
  const s = await setup();
  await Promise.all(Array.from({ length: 5 }, () => s.auth.startSignIn(alice.login, 'wrong')));
  const next = await s.auth.startSignIn(alice.login, alice.password);
  t.equal(!next.ok && next.reason, 'locked');
});

t.test('a second code cannot be asked for within 30 seconds', async (t) => {
  const s = await setup();
  await s.auth.startSignIn(alice.login, alice.password);
  const again = await s.auth.startSignIn(alice.login, alice.password);
  t.equal(!again.ok && again.reason, 'locked');
  t.equal(s.sent.length, 1);
  s.clock.now += 30_000;
  t.ok((await s.auth.startSignIn(alice.login, alice.password)).ok);
});

t.test('the store keeps no code, password or token in clear', async (t) => {
  const s = await setup();
  const done = await signIn(s);
  const dump = JSON.stringify([...s.store.credentials.values(), ...s.store.sessions.values(), ...s.store.challenges.values()]);
  t.notMatch(dump, alice.password);
  t.notMatch(dump, done.ok ? done.token : 'never');
  const started = await (async () => { s.clock.now += MINUTE; return s.auth.startSignIn(alice.login, alice.password); })();
  t.ok(started.ok);
  t.notMatch(JSON.stringify([...s.store.challenges.values()]), s.lastCode());
});

t.test('a token expires after 15 minutes', async (t) => {
  const s = await setup();
  const done = await signIn(s);
  if (!done.ok) return t.fail(done.reason);
  s.clock.now += 15 * MINUTE - 1000;
  t.ok((await s.auth.authenticate(done.token)).ok);
  s.clock.now += 1000;
  const late = await s.auth.authenticate(done.token);
  t.equal(!late.ok && late.reason, 'token-expired');
});

t.test('signing out revokes the token at once', async (t) => {
  const s = await setup();
  const done = await signIn(s);
  if (!done.ok) return t.fail(done.reason);
  await s.auth.signOut(done.token);
  const after = await s.auth.authenticate(done.token);
  t.equal(!after.ok && after.reason, 'invalid-token');
});

t.test('changing the password ends every session of the login', async (t) => {
  const s = await setup();
  const done = await signIn(s);
  if (!done.ok) return t.fail(done.reason);
  await s.auth.setCredential({ ...alice, password: 'a new password' });
  t.equal((await s.auth.authenticate(done.token)).ok, false);
});

t.test('a made-up token is refused', async (t) => {
  const s = await setup();
  const result = await s.auth.authenticate(randomBytes(32).toString('base64url'));
  t.equal(!result.ok && result.reason, 'invalid-token');
  t.equal((await s.auth.authenticate('short')).ok, false);
});

t.test('a password hashed with weaker parameters is re-hashed at sign-in', async (t) => {
  const s = await setup({ scrypt: { ln: 11, r: 8, p: 1 } });
  await createPatientAuth({ store: s.store, secret, sender: { send: async () => undefined }, policy: cheap }).setCredential(alice);
  await s.auth.startSignIn(alice.login, alice.password);
  t.match(s.store.credentials.get('alice@example.fr')?.passwordHash ?? '', /^scrypt\$ln=11,/);
});

t.test('the outbox message for a code has topic otp and the delivery details', async (t) => {
  t.same(otpOutboxMessage({ channel: 'sms', to: '+33600000000', code: '123456' }), {
    topic: 'otp', payload: { channel: 'sms', to: '+33600000000', code: '123456' },
  });
});

t.test('a secret shorter than 32 bytes is refused', async (t) => {
  t.throws(() => createPatientAuth({ store: new InMemoryCredentialStore(), secret: Buffer.alloc(8), sender: { send: async () => undefined } }));
});

t.test('two concurrent first loads of the sign-in secret get the same secret, the one in the file', async (t) => {
  const { loadOrCreateSecret } = await import('../../src/identity/secret.ts');
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const file = join(mkdtempSync(join(tmpdir(), 'carnet-secret-')), 'sign-in.secret');
  const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecret(file)));
  for (const s of secrets) t.same(s, secrets[0]);
  t.equal(readFileSync(file, 'utf8').trim(), secrets[0].toString('base64'));
});
