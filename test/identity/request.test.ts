// identityFromRequest without a network: requests are plain objects, sockets fakes.
import t from 'tap';
import { createTestPki, identityFromRequest, mutualTlsOptions, refusalStatus } from '../../src/identity/index.ts';
import type { IdentityContext, Issued, RequestLike } from '../../src/identity/index.ts';

const pki = await createTestPki();
const context: IdentityContext = {
  trust: pki.trust,
  audience: 'urn:carnet',
  patientAuth: {
    authenticate: async (token) => token === 'p'.repeat(43)
      ? { ok: true, identity: { kind: 'patient', patientId: 'patient-1' }, expiresAt: Date.now() + 1000 }
      : { ok: false, reason: 'invalid-token', message: 'Unknown or revoked token' },
  },
};

/** A socket as Node's TLS would present it: getPeerCertificate(true) gives the raw DER. */
function socketWith(client?: Issued) {
  return { getPeerCertificate: () => (client ? { raw: client.certificate.raw } : {}) };
}

function req(headers: RequestLike['headers'] = {}, client?: Issued): RequestLike {
  return { headers, raw: { socket: socketWith(client) } };
}

const reason = async (r: RequestLike, ctx = context) => {
  const result = await identityFromRequest(r, ctx);
  return result.ok ? 'ok' : result.reason;
};

t.test('mutual TLS options ask for a client certificate without rejecting at the TLS level', async (t) => {
  const options = mutualTlsOptions({ key: 'k', cert: 'c', ca: 'a' });
  t.same(options, { key: 'k', cert: 'c', ca: 'a', requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
  t.equal(mutualTlsOptions({ key: 'k', cert: 'c', ca: 'a', crl: 'r' }).crl, 'r');
});

t.test('a request over plain HTTP (no TLS socket) and without token has no credentials', async (t) => {
  t.equal(await reason({ headers: {}, raw: { socket: {} } }), 'no-credentials');
});

t.test('a valid bearer token gives the patient', async (t) => {
  const result = await identityFromRequest(req({ authorization: `Bearer ${'p'.repeat(43)}` }), context);
  t.same(result.ok && [result.identity, result.via], [{ kind: 'patient', patientId: 'patient-1' }, 'bearer']);
});

t.test('an Authorization header that is not Bearer is refused', async (t) => {
  t.equal(await reason(req({ authorization: 'Basic dXNlcjpwYXNz' })), 'invalid-token');
});

t.test('a bearer token is refused when patient sign-in is not wired', async (t) => {
  t.equal(await reason(req({ authorization: `Bearer ${'p'.repeat(43)}` }), { trust: pki.trust, audience: 'urn:carnet' }), 'invalid-token');
});

t.test('a patient cannot declare break-the-glass', async (t) => {
  const r = req({ authorization: `Bearer ${'p'.repeat(43)}`, 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'x' });
  t.equal(await reason(r), 'mode-not-allowed');
  t.equal(refusalStatus('mode-not-allowed'), 403);
});

t.test('a repeated assertion header is refused as ambiguous', async (t) => {
  t.equal(await reason(req({ 'x-carnet-assertion': ['a', 'b'] }, pki.establishment)), 'ambiguous-credentials');
});

t.test('an access reason that is not percent-encoded UTF-8 is refused with 400', async (t) => {
  const r = req({ 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': '%E9' }, pki.professionals.generalPractitioner);
  t.equal(await reason(r), 'bad-access-mode');
  t.equal(refusalStatus('bad-access-mode'), 400);
});

t.test('break-the-glass declared without a reason is refused', async (t) => {
  t.equal(await reason(req({ 'x-carnet-access-mode': 'break-the-glass' }, pki.professionals.generalPractitioner)), 'missing-reason');
});

t.test('a physician declaring emergency-call becomes the regulator', async (t) => {
  const result = await identityFromRequest(req({ 'x-carnet-access-mode': 'centre_15' }, pki.professionals.generalPractitioner), context);
  t.same(result.ok && [result.identity.kind, result.mode], ['regulator', { kind: 'emergency-call' }]);
});

t.test('the care-history feed cannot declare an emergency mode', async (t) => {
  t.equal(await reason(req({ 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'x' }, pki.careHistoryFeed)), 'mode-not-allowed');
});

t.test('the injected clock decides certificate validity', async (t) => {
  const later: IdentityContext = { ...context, clock: () => Date.now() + 400 * 24 * 3600 * 1000 };
  t.equal(await reason(req({}, pki.professionals.nurse), later), 'expired');
});

t.test('a locked sign-in maps to 429, other refusals to 401', async (t) => {
  t.equal(refusalStatus('locked'), 429);
  t.equal(refusalStatus('revoked'), 401);
});

t.test('a trust given as a function is read on each request, so a reloaded CRL applies at once', async (t) => {
  let current = pki.trust;
  const reloading: IdentityContext = { ...context, trust: () => current };
  t.equal(await reason(req({}, pki.revoked), reloading), 'revoked');
  const { loadTrust } = await import('../../src/identity/index.ts');
  current = loadTrust({ ca: pki.ca.certPem });
  t.equal(await reason(req({}, pki.revoked), reloading), 'ok');
});

t.test('a connection reads and checks its client certificate once, whatever the number of requests', async (t) => {
  let reads = 0;
  const gp = pki.professionals.generalPractitioner;
  const socket = { getPeerCertificate: () => (reads++, { raw: gp.certificate.raw }) };
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await identityFromRequest({ headers: {}, raw: { socket } }, context));
  t.equal(reads, 1);
  t.ok(results.every((r) => r.ok && r.identity.kind === 'professional'));
});

t.test('each request on a kept connection still declares its own mode', async (t) => {
  const gp = pki.professionals.generalPractitioner;
  const socket = { getPeerCertificate: () => ({ raw: gp.certificate.raw }) };
  const normal = await identityFromRequest({ headers: {}, raw: { socket } }, context);
  const btg = await identityFromRequest({ headers: { 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'coma' }, raw: { socket } }, context);
  t.same([normal.ok && normal.mode.kind, btg.ok && btg.mode.kind], ['normal', 'break-the-glass']);
});

t.test('a certificate that expires while its connection is open is refused from then on', async (t) => {
  const gp = pki.professionals.generalPractitioner;
  const socket = { getPeerCertificate: () => ({ raw: gp.certificate.raw }) };
  t.equal(await reason({ headers: {}, raw: { socket } }), 'ok');
  const afterExpiry = Date.parse(gp.certificate.validTo) + 1000;
  t.equal(await reason({ headers: {}, raw: { socket } }, { ...context, clock: () => afterExpiry }), 'expired');
});

t.test('a reloaded revocation list applies to a kept connection at once', async (t) => {
  const { loadTrust } = await import('../../src/identity/index.ts');
  let current = loadTrust({ ca: pki.ca.certPem });
  const reloading: IdentityContext = { ...context, trust: () => current };
  const socket = { getPeerCertificate: () => ({ raw: pki.revoked.certificate.raw }) };
  t.equal(await reason({ headers: {}, raw: { socket } }, reloading), 'ok', 'not yet on the list');
  current = pki.trust;
  t.equal(await reason({ headers: {}, raw: { socket } }, reloading), 'revoked');
});
