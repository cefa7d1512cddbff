import { randomBytes } from 'node:crypto';
import { fastify } from 'fastify';
import t from 'tap';
import { createPatientAuth, InMemoryCredentialStore, patientSignInRoutes } from '../../src/identity/index.ts';

async function appWithSignIn() {
  const codes: string[] = [];
  const auth = createPatientAuth({
    store: new InMemoryCredentialStore(), secret: randomBytes(32), policy: { scrypt: { ln: 10, r: 8, p: 1 } },
    sender: { send: async ({ code }) => { codes.push(code); } },
  });
  await auth.setCredential({ login: 'p', password: 'pw', subject: { kind: 'patient', patientId: 'x' }, otp: { channel: 'email', to: 'p@example.fr' } });
  const app = fastify();
  await app.register(patientSignInRoutes, { auth, prefix: '/auth/patient' });
  return { app, codes };
}

t.test('sign-in answers are never cached', async (t) => {
  const { app } = await appWithSignIn();
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'POST', url: '/auth/patient/sign-in', payload: { login: 'p', password: 'pw' } });
  t.equal(response.statusCode, 200);
  t.equal(response.headers['cache-control'], 'no-store');
});

t.test('a sign-in body without a password is refused with 400', async (t) => {
  const { app } = await appWithSignIn();
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'POST', url: '/auth/patient/sign-in', payload: { login: 'p' } });
  t.equal(response.statusCode, 400);
});

t.test('a locked-out sign-in answers 429 with Retry-After', async (t) => {
  const { app } = await appWithSignIn();
  t.teardown(() => app.close());
  let response;
  for (let i = 0; i < 5; i++) response = await app.inject({ method: 'POST', url: '/auth/patient/sign-in', payload: { login: 'p', password: 'no' } });
  t.equal(response?.statusCode, 429);
  t.equal(response?.headers['retry-after'], '60');
  t.equal(response?.json().reason, 'locked');
});

t.test('the verify answer never echoes the code', async (t) => {
  const { app, codes } = await appWithSignIn();
  t.teardown(() => app.close());
  const started = (await app.inject({ method: 'POST', url: '/auth/patient/sign-in', payload: { login: 'p', password: 'pw' } })).json();
  t.notMatch(JSON.stringify(started), codes[0]);
  const verified = await app.inject({ method: 'POST', url: '/auth/patient/verify', payload: { challengeId: started.challengeId, code: codes[0] } });
  t.equal(verified.statusCode, 200);
  t.same(Object.keys(verified.json()).sort(), ['access_token', 'expires_in', 'token_type']);
  t.equal(verified.json().expires_in, 900);
});

t.test('signing out with an unknown token still answers 204', async (t) => {
  const { app } = await appWithSignIn();
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'POST', url: '/auth/patient/sign-out', headers: { authorization: 'Bearer nothing' } });
  t.equal(response.statusCode, 204);
});
