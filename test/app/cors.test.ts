// CORS for the patient app only: the origins CORS_ORIGINS lists may call /auth/patient and /fhir
// from a browser; other origins and other paths get no CORS headers; without the setting, none.
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openTestStore } from '../support/store.ts';

const APP = 'https://app.example.org';
const opened = await openTestStore();
const base = { DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' };
const withCors = buildApp({ config: loadConfig({ ...base, CORS_ORIGINS: `${APP}, https://other-app.example.org` }), store: opened.store });
const without = buildApp({ config: loadConfig(base), store: opened.store });
t.teardown(async () => {
  await withCors.close();
  await without.close();
  await opened.cleanup();
});

const preflight = (app: typeof withCors, url: string, origin: string) =>
  app.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });

t.test('a preflight from the patient app to the FHIR API is answered 204 with what it may send', async (t) => {
  const r = await preflight(withCors, '/fhir/Patient/p1', APP);
  t.equal(r.statusCode, 204);
  t.equal(r.headers['access-control-allow-origin'], APP);
  t.match(r.headers['access-control-allow-headers'], /authorization/);
  t.equal(r.headers.vary, 'Origin');
});

t.test('a preflight to patient sign-in is answered too', async (t) => {
  t.equal((await preflight(withCors, '/auth/patient/sign-in', APP)).headers['access-control-allow-origin'], APP);
});

t.test('another origin gets no CORS headers', async (t) => {
  const r = await preflight(withCors, '/fhir/Patient/p1', 'https://evil.example.org');
  t.equal(r.headers['access-control-allow-origin'], undefined);
  const get = await withCors.inject({ method: 'GET', url: '/fhir/metadata', headers: { origin: 'https://evil.example.org' } });
  t.equal(get.headers['access-control-allow-origin'], undefined);
});

t.test('XDS and the health endpoints stay closed to browsers, even from the patient app', async (t) => {
  t.equal((await preflight(withCors, '/xds/registry', APP)).headers['access-control-allow-origin'], undefined);
  t.equal((await withCors.inject({ method: 'GET', url: '/health', headers: { origin: APP } })).headers['access-control-allow-origin'], undefined);
});

t.test('an actual request from the patient app carries the CORS headers, with the ETag exposed', async (t) => {
  const r = await withCors.inject({ method: 'GET', url: '/fhir/metadata', headers: { origin: APP } });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['access-control-allow-origin'], APP);
  t.match(r.headers['access-control-expose-headers'], /etag/);
  t.equal(r.headers['access-control-allow-credentials'], undefined, 'no credentials mode: the token is a header');
});

t.test('without CORS_ORIGINS no CORS header is ever sent', async (t) => {
  t.equal((await preflight(without, '/fhir/Patient/p1', APP)).headers['access-control-allow-origin'], undefined);
  t.equal((await without.inject({ method: 'GET', url: '/fhir/metadata', headers: { origin: APP } })).headers['access-control-allow-origin'], undefined);
});

t.test('an origin with a path, or that is not a URL, is refused at start-up', async (t) => {
  t.throws(() => loadConfig({ ...base, CORS_ORIGINS: 'https://app.example.org/' }));
  t.throws(() => loadConfig({ ...base, CORS_ORIGINS: 'app.example.org' }));
});
