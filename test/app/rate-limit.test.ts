// Rate limiting per identity: the window arithmetic and the keys (pure), then a real server over
// mutual TLS where one professional past the limit gets 429 in the protocol's own format while
// another goes on.
import t from 'tap';
import { RateLimiter, rateKey } from '../../src/rate-limit.ts';
import { secureApp, type SecureApp } from '../dossier/support.ts';

const MINUTE = 60_000;
const START = 100 * MINUTE;

t.test('a key may make its quota in a minute, and is refused after it until the next minute', async (t) => {
  const limiter = new RateLimiter(2);
  t.same([limiter.take('a', START).allowed, limiter.take('a', START + 1).allowed, limiter.take('a', START + 2).allowed], [true, true, false]);
  t.same(limiter.take('a', START + 30_000), { allowed: false, retryAfterSeconds: 30 }, 'Retry-After says when the window ends');
  t.equal(limiter.take('a', START + MINUTE).allowed, true, 'a new minute starts afresh');
});

t.test('keys are counted apart', async (t) => {
  const limiter = new RateLimiter(1);
  t.same([limiter.take('a', START).allowed, limiter.take('b', START).allowed], [true, true]);
});

t.test('requests count against the identity, or the client address without one', async (t) => {
  const mode = { kind: 'normal' as const };
  t.equal(rateKey({ ok: true, identity: { kind: 'professional', rpps: '99700000001', profession: '10' }, mode, via: 'certificate' }, '10.0.0.1'), 'professional:99700000001');
  t.equal(rateKey({ ok: true, identity: { kind: 'patient', patientId: 'p1' }, mode, via: 'bearer' }, '10.0.0.1'), 'patient:p1');
  t.equal(rateKey({ ok: false, reason: 'no-credentials', message: 'none' }, '10.0.0.1'), 'address:10.0.0.1');
  t.equal(rateKey(null, '10.0.0.2'), 'address:10.0.0.2');
});

let api: SecureApp;
t.before(async () => {
  api = await secureApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
});
t.teardown(() => api?.close());

t.test('past the limit a professional gets 429 with Retry-After and an OperationOutcome, and another professional does not', async (t) => {
  const gp = api.pki.professionals.generalPractitioner;
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await api.call('GET', '/fhir/Patient?_id=nobody', { cert: gp })).status);
  const refused = await api.call('GET', '/fhir/Patient?_id=nobody', { cert: gp });
  t.same(statuses.slice(0, 3).every((s) => s !== 429), true, 'the first three pass');
  t.same([refused.status, refused.body.resourceType, refused.body.issue?.[0]?.code], [429, 'OperationOutcome', 'throttled']);
  t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After');
  const other = await api.call('GET', '/fhir/Patient?_id=nobody', { cert: api.pki.professionals.pharmacist });
  t.not(other.status, 429, 'the pharmacist has a quota of their own');
});

t.test('past the limit an XDS client gets a SOAP fault with 429', async (t) => {
  const nurse = api.pki.professionals.nurse;
  for (let i = 0; i < 3; i++) await api.call('POST', '/xds/registry', { cert: nurse, body: '<x/>', contentType: 'application/soap+xml' });
  const r = await api.call('POST', '/xds/registry', { cert: nurse, body: '<x/>', contentType: 'application/soap+xml' });
  t.equal(r.status, 429);
  t.match(r.raw, /Fault/);
  t.match(r.raw, /too many requests/);
});
