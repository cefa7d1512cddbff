import t from 'tap';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { OperationOutcomeError } from '../../src/fhir/operation-outcome.ts';
import type { Store } from '../../src/store/index.ts';
import { captureLog } from './capture-log.ts';

const store = { kind: 'sqlite', ping: async () => true, close: async () => undefined } as unknown as Store;

/** The app with routes that fail in the ways the error handler must cover (added here, not in src). */
function appWithFailingRoutes(t: Test, options: { bodyLimit?: string } = {}) {
  const log = captureLog();
  const app = buildApp({ config: loadConfig({ BODY_LIMIT_BYTES: options.bodyLimit }), store, logger: log.logger });
  for (const prefix of ['/fhir', '/other']) {
    app.get(`${prefix}/boom`, async () => {
      throw new Error('internal detail: table resources is locked');
    });
    app.get(`${prefix}/gone`, async () => {
      throw new OperationOutcomeError(410, 'Patient/123 was deleted');
    });
    app.post(`${prefix}/echo`, async (request) => request.body);
  }
  t.teardown(() => app.close());
  return { app, log };
}

void t.test('an unknown path under /fhir answers 404 with an OperationOutcome', async (t) => {
  const { app } = appWithFailingRoutes(t);
  const response = await app.inject({ method: 'GET', url: '/fhir/Patient/1/2/3/4/5?name=Dupont' });
  t.equal(response.statusCode, 404);
  t.match(response.headers['content-type'], /^application\/fhir\+json/);
  t.same(response.json(), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'not-found', diagnostics: 'No route for GET /fhir/Patient/1/2/3/4/5' }],
  });
});

void t.test('an unknown path elsewhere answers 404 with a small JSON error', async (t) => {
  const { app } = appWithFailingRoutes(t);
  const response = await app.inject({ method: 'GET', url: '/nothing' });
  t.equal(response.statusCode, 404);
  t.match(response.headers['content-type'], /^application\/json/);
  t.same(response.json(), { error: 'No route for GET /nothing' });
});

void t.test('an internal error under /fhir answers 500 with a generic OperationOutcome', async (t) => {
  const { app } = appWithFailingRoutes(t);
  const response = await app.inject({ method: 'GET', url: '/fhir/boom' });
  t.equal(response.statusCode, 500);
  t.match(response.headers['content-type'], /^application\/fhir\+json/);
  t.same(response.json(), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'exception', diagnostics: 'Internal server error' }],
  });
});

void t.test('an internal error elsewhere answers 500 without its message or stack', async (t) => {
  const { app } = appWithFailingRoutes(t);
  const response = await app.inject({ method: 'GET', url: '/other/boom' });
  t.equal(response.statusCode, 500);
  t.same(response.json(), { error: 'Internal server error' });
  t.notMatch(response.body, /internal detail|at .*\.ts/);
});

void t.test('an internal error is logged at error level with its stack', async (t) => {
  const { app, log } = appWithFailingRoutes(t);
  await app.inject({ method: 'GET', url: '/fhir/boom' });
  const line = log.lines.find((l) => l.level === 50 && l.msg === 'internal error');
  t.ok(line, 'an error line');
  t.match(line?.err, { message: 'internal detail: table resources is locked', stack: /errors\.test\.ts/ });
});

void t.test('an OperationOutcomeError answers with its own status and issues', async (t) => {
  const { app } = appWithFailingRoutes(t);
  const response = await app.inject({ method: 'GET', url: '/fhir/gone' });
  t.equal(response.statusCode, 410);
  t.same(response.json(), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'deleted', diagnostics: 'Patient/123 was deleted' }],
  });
});

void t.test('a body over the limit answers 413 with issue code too-long', async (t) => {
  const { app } = appWithFailingRoutes(t, { bodyLimit: '1024' });
  const response = await app.inject({
    method: 'POST', url: '/fhir/echo', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ text: 'x'.repeat(2000) }),
  });
  t.equal(response.statusCode, 413);
  t.match(response.json(), { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'too-long' }] });
});

void t.test('malformed JSON answers 400 with issue code invalid', async (t) => {
  const { app } = appWithFailingRoutes(t);
  const response = await app.inject({
    method: 'POST', url: '/fhir/echo', headers: { 'content-type': 'application/json' }, payload: '{"resourceType":',
  });
  t.equal(response.statusCode, 400);
  t.match(response.json(), { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] });
});

void t.test('a client error is logged by its code only, not its message', async (t) => {
  const { app, log } = appWithFailingRoutes(t);
  await app.inject({
    method: 'POST', url: '/other/echo', headers: { 'content-type': 'application/json' }, payload: '{"name": "Dupont"',
  });
  const line = log.lines.find((l) => l.msg === 'request refused');
  t.match(line, { level: 30, err: { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 } });
  t.notMatch(log.text(), /Dupont/);
});
