import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

const config = loadConfig({});
const logger = createLogger('silent');

/** Just enough of a Store for /ready: its kind and a ping that answers as told. */
function fakeStore(ping: () => Promise<boolean>): Store {
  return { kind: 'sqlite', ping, close: async () => undefined } as unknown as Store;
}

void t.test('GET /health answers 200 with status ok, without touching the store', async (t) => {
  const app = buildApp({ config, logger, store: fakeStore(() => Promise.reject(new Error('must not be called'))) });
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/health' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { status: 'ok' });
  t.equal(response.headers['cache-control'], 'no-store');
});

void t.test('GET /ready answers 200 and names the store when the store is reachable', async (t) => {
  // The store of this test pass (embedded, or MongoDB in the MongoDB pass), on a fresh database.
  const { store, cleanup } = await openTestStore();
  const app = buildApp({ config, logger, store });
  t.teardown(async () => {
    await app.close();
    await cleanup();
  });
  const response = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { status: 'ready', store: store.kind });
});

void t.test('GET /ready answers 503 when the store ping fails', async (t) => {
  const app = buildApp({ config, logger, store: fakeStore(async () => false) });
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(response.statusCode, 503);
  t.same(response.json(), { status: 'unavailable' });
});

void t.test('GET /ready answers 503 when the store ping throws', async (t) => {
  const app = buildApp({ config, logger, store: fakeStore(() => Promise.reject(new Error('connection refused'))) });
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(response.statusCode, 503);
  t.same(response.json(), { status: 'unavailable' });
});

void t.test('GET /ready answers 503 within about 2 seconds when the store does not answer', async (t) => {
  const app = buildApp({ config, logger, store: fakeStore(() => new Promise<boolean>(() => undefined)) });
  t.teardown(() => app.close());
  const started = Date.now();
  const response = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(response.statusCode, 503);
  t.ok(Date.now() - started < 3000, 'gave up in time');
});
