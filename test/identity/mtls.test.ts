// End to end over real mutual TLS: a small Fastify HTTPS server with Carnet's TLS options and
// identity plug-ins, called with each test certificate through Node's https client.
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fastify } from 'fastify';
import t from 'tap';
import {
  createPatientAuth, createTestPki, generateKeyPair, identityPlugin, InMemoryCredentialStore, mutualTlsOptions,
  patientSignInRoutes, refusalStatus, signAssertion,
} from '../../src/identity/index.ts';
import type { AssertionClaims, Issued } from '../../src/identity/index.ts';

const pki = await createTestPki();
const codes: string[] = [];
const patientAuth = createPatientAuth({
  store: new InMemoryCredentialStore(),
  secret: randomBytes(32),
  sender: { send: async ({ code }) => { codes.push(code); } },
  policy: { scrypt: { ln: 10, r: 8, p: 1 } },
});
await patientAuth.setCredential({
  login: 'patient@example.fr', password: 'a long enough password',
  subject: { kind: 'patient', patientId: 'patient-1' }, otp: { channel: 'sms', to: '+33600000000' },
});

const app = fastify({
  https: mutualTlsOptions({ key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.ca.certPem, crl: pki.crlPem }),
});
await app.register(identityPlugin, { trust: pki.trust, audience: 'urn:carnet', patientAuth });
await app.register(patientSignInRoutes, { auth: patientAuth, prefix: '/auth/patient' });
app.get('/whoami', async (request, reply) => {
  const result = request.identity;
  if (!result?.ok) return reply.code(result ? refusalStatus(result.reason) : 401).send({ reason: result?.reason });
  return { identity: result.identity, mode: result.mode, via: result.via, patient: result.patient };
});
await app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.close());
const port = (app.server.address() as AddressInfo).port;

interface Answer { status: number; body: Record<string, unknown> }

/** One request on a fresh connection (no agent: no TLS session reused across certificates). */
function call(path: string, options: { client?: Issued; headers?: Record<string, string>; method?: string; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request({
      host: '127.0.0.1', port, path, method: options.method ?? 'GET', servername: 'localhost', agent: false,
      ca: pki.ca.certPem,
      ...(options.client ? { cert: options.client.certPem, key: options.client.keyPem } : {}),
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) as Record<string, unknown> : {} }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

t.test("a general practitioner's certificate is identified with RPPS, profession and specialty", async (t) => {
  const answer = await call('/whoami', { client: pki.professionals.generalPractitioner });
  t.equal(answer.status, 200);
  t.same(answer.body, {
    identity: { kind: 'professional', rpps: '99700000001', profession: '10', specialty: 'SM26' },
    mode: { kind: 'normal' }, via: 'certificate',
  });
});

t.test("a pharmacist's certificate is identified with the CNOP section", async (t) => {
  const answer = await call('/whoami', { client: pki.professionals.pharmacist });
  t.same(answer.body.identity, { kind: 'professional', rpps: '99700000003', profession: '21', pharmacistSection: 'A' });
});

t.test("a nurse's certificate is identified as profession 60", async (t) => {
  const answer = await call('/whoami', { client: pki.professionals.nurse });
  t.same(answer.body.identity, { kind: 'professional', rpps: '99700000005', profession: '60' });
});

t.test('an expired certificate gets 401 expired, not a TLS failure', async (t) => {
  t.same(await call('/whoami', { client: pki.expired }), { status: 401, body: { reason: 'expired' } });
});

t.test('a revoked certificate gets 401 revoked', async (t) => {
  t.same(await call('/whoami', { client: pki.revoked }), { status: 401, body: { reason: 'revoked' } });
});

t.test("another CA's certificate gets 401 untrusted-issuer", async (t) => {
  t.same(await call('/whoami', { client: pki.foreign }), { status: 401, body: { reason: 'untrusted-issuer' } });
});

t.test('no certificate and no token gets 401 no-credentials', async (t) => {
  t.same(await call('/whoami'), { status: 401, body: { reason: 'no-credentials' } });
});

t.test('a professional declares break-the-glass with a percent-encoded reason', async (t) => {
  const answer = await call('/whoami', {
    client: pki.professionals.generalPractitioner,
    headers: { 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': encodeURIComponent('Détresse vitale') },
  });
  t.same(answer.body.mode, { kind: 'break-the-glass', reason: 'Détresse vitale' });
});

t.test('a nurse declaring emergency-call gets 403', async (t) => {
  const answer = await call('/whoami', { client: pki.professionals.nurse, headers: { 'x-carnet-access-mode': 'emergency-call' } });
  t.same(answer, { status: 403, body: { reason: 'mode-not-allowed' } });
});

const seconds = () => Math.floor(Date.now() / 1000);
const claims = (): AssertionClaims => ({
  iss: '1990000012', aud: 'urn:carnet', iat: seconds(), exp: seconds() + 300,
  sub: '899700000002', role: '10', specialty: 'SM04', purpose_of_use: 'normal',
  resource_id: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
});

t.test("an establishment's certificate with its signed assertion identifies the user", async (t) => {
  const assertion = signAssertion(claims(), pki.establishment.key.privateKey);
  const answer = await call('/whoami', { client: pki.establishment, headers: { 'x-carnet-assertion': assertion } });
  t.equal(answer.status, 200);
  t.same(answer.body, {
    identity: { kind: 'professional', rpps: '99700000002', profession: '10', specialty: 'SM04', organization: { id: '1990000012', name: 'Hôpital de test' } },
    mode: { kind: 'normal' }, via: 'assertion', patient: { ins: '279035121518989', authority: '1.2.250.1.213.1.4.10' },
  });
});

t.test('an assertion signed by another key gets 401 bad-signature', async (t) => {
  const other = await generateKeyPair();
  const answer = await call('/whoami', { client: pki.establishment, headers: { 'x-carnet-assertion': signAssertion(claims(), other.privateKey) } });
  t.same(answer, { status: 401, body: { reason: 'bad-signature' } });
});

t.test("an assertion over a professional's certificate gets 401 not-an-establishment", async (t) => {
  const assertion = signAssertion(claims(), pki.professionals.cardiologist.key.privateKey);
  const answer = await call('/whoami', { client: pki.professionals.cardiologist, headers: { 'x-carnet-assertion': assertion } });
  t.same(answer, { status: 401, body: { reason: 'not-an-establishment' } });
});

t.test('an assertion without a client certificate gets 401', async (t) => {
  const assertion = signAssertion(claims(), pki.establishment.key.privateKey);
  t.equal((await call('/whoami', { headers: { 'x-carnet-assertion': assertion } })).status, 401);
});

t.test('a patient signs in over TLS without a certificate, uses the token, then signs out', async (t) => {
  const started = await call('/auth/patient/sign-in', { method: 'POST', body: { login: 'patient@example.fr', password: 'a long enough password' } });
  t.equal(started.status, 200);
  t.equal(started.body.channel, 'sms');
  const verified = await call('/auth/patient/verify', { method: 'POST', body: { challengeId: started.body.challengeId, code: codes.at(-1) } });
  t.equal(verified.status, 200);
  t.equal(verified.body.token_type, 'Bearer');
  const authorization = `Bearer ${String(verified.body.access_token)}`;
  const me = await call('/whoami', { headers: { authorization } });
  t.same(me.body, { identity: { kind: 'patient', patientId: 'patient-1' }, mode: { kind: 'normal' }, via: 'bearer' });
  t.equal((await call('/auth/patient/sign-out', { method: 'POST', headers: { authorization } })).status, 204);
  t.same(await call('/whoami', { headers: { authorization } }), { status: 401, body: { reason: 'invalid-token' } });
});

t.test('a client certificate and a bearer token together get 401 ambiguous-credentials', async (t) => {
  const answer = await call('/whoami', { client: pki.professionals.nurse, headers: { authorization: `Bearer ${'a'.repeat(43)}` } });
  t.same(answer, { status: 401, body: { reason: 'ambiguous-credentials' } });
});

t.test('a wrong patient password gets 401 with the reason and no code is sent', async (t) => {
  const before = codes.length;
  const answer = await call('/auth/patient/sign-in', { method: 'POST', body: { login: 'patient@example.fr', password: 'wrong' } });
  t.equal(answer.status, 401);
  t.equal(answer.body.reason, 'invalid-credentials');
  t.equal(codes.length, before);
});
