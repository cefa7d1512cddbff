import t from 'tap';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { pathOf } from '../../src/logging.ts';
import type { Store } from '../../src/store/index.ts';
import { captureLog } from './capture-log.ts';

const store = { kind: 'sqlite', ping: async () => true, close: async () => undefined } as unknown as Store;

function loggedApp(t: Test, level: 'debug' | 'info' = 'debug') {
  const log = captureLog(level);
  const app = buildApp({ config: loadConfig({}), store, logger: log.logger });
  t.teardown(() => app.close());
  return { app, log };
}

void t.test('pathOf drops the query string', async (t) => {
  t.equal(pathOf('/fhir/Patient?name=Dupont&birthdate=1970'), '/fhir/Patient');
  t.equal(pathOf('/fhir/Patient/1'), '/fhir/Patient/1');
});

void t.test('a completed request is logged with method, path, status, response time and request id', async (t) => {
  const { app, log } = loggedApp(t);
  const response = await app.inject({ method: 'GET', url: '/fhir/Patient' });
  const line = log.lines.find((l) => l.msg === 'request completed');
  t.match(line, {
    level: 30,
    req: { method: 'GET', path: '/fhir/Patient' },
    res: { statusCode: 401 },
    responseTime: Number,
    reqId: String,
  });
  t.equal(response.headers['content-type'], 'application/fhir+json; charset=utf-8');
});

void t.test('the query string never reaches the logs', async (t) => {
  const { app, log } = loggedApp(t);
  await app.inject({ method: 'GET', url: '/fhir/Patient?name=Dupont&birthdate=1970-01-01' });
  t.ok(log.lines.length > 0, 'something was logged');
  t.notMatch(log.text(), /Dupont|1970/);
});

void t.test('headers and bodies never reach the logs', async (t) => {
  const { app, log } = loggedApp(t);
  await app.inject({
    method: 'POST', url: '/fhir/Patient',
    headers: { authorization: 'Bearer tok-123', cookie: 'session=cookie-456', 'content-type': 'application/json' },
    payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Dupont' }] }),
  });
  t.ok(log.lines.length > 0, 'something was logged');
  t.notMatch(log.text(), /tok-123|cookie-456|Dupont/);
});

void t.test('objects logged by hand lose their headers, bodies and passwords', async (t) => {
  const log = captureLog();
  log.logger.info({ request: { headers: { authorization: 'Bearer tok-123' }, body: 'Dupont' }, password: 'pw-789' }, 'by hand');
  t.notMatch(log.text(), /tok-123|Dupont|pw-789/);
});

void t.test('successful health probes are logged at debug, so info logs stay quiet', async (t) => {
  const { app, log } = loggedApp(t, 'info');
  await app.inject({ method: 'GET', url: '/health' });
  await app.inject({ method: 'GET', url: '/ready' });
  t.same(log.lines, []);
});
