import t from 'tap';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logging.ts';
import { closeGracefully } from '../src/shutdown.ts';
import type { Store } from '../src/store/index.ts';

const log = createLogger('silent');

/** Just enough of a Store to see when it is closed. */
function fakeStore() {
  const state = { closed: false };
  const store = { kind: 'sqlite', ping: async () => true, close: async () => void (state.closed = true) } as unknown as Store;
  return { store, state };
}

/** A listening app with a /slow route (added by the test) whose handler waits for `release`. */
async function listeningAppWithSlowRoute(store: Store) {
  const app = buildApp({ config: loadConfig({}), store, logger: log });
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  app.get('/slow', async () => {
    started();
    await released;
    return { done: true };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, url, handlerStarted, release };
}

void t.test('shutting down lets a request in flight finish, then closes the store', async (t) => {
  const { store, state } = fakeStore();
  const { app, url, handlerStarted, release } = await listeningAppWithSlowRoute(store);
  const inFlight = fetch(`${url}/slow`);
  await handlerStarted;
  const closing = closeGracefully(app, store, { graceMs: 5000, log });
  setTimeout(release, 200);
  const response = await inFlight;
  t.equal(response.status, 200);
  t.same(await response.json(), { done: true });
  t.same(await closing, { forced: false });
  t.ok(state.closed, 'store closed');
});

void t.test('shutting down stops accepting new connections', async (t) => {
  const { store } = fakeStore();
  const { app, url, handlerStarted, release } = await listeningAppWithSlowRoute(store);
  const inFlight = fetch(`${url}/slow`);
  await handlerStarted;
  const closing = closeGracefully(app, store, { graceMs: 5000, log });
  // A new request is not served: refused, or (when fetch picked an idle pooled connection that
  // the closing server then cut) reset.
  const error = await fetch(`${url}/health`).then(() => undefined, (e: unknown) => e as { cause?: { code?: string } });
  t.ok(error, 'the request fails');
  t.match(error?.cause?.code, /^(ECONNREFUSED|ECONNRESET)$/);
  release();
  await inFlight;
  await closing;
});

void t.test('when the grace period runs out, open connections are cut and the store is still closed', async (t) => {
  const { store, state } = fakeStore();
  const { app, url, handlerStarted } = await listeningAppWithSlowRoute(store);
  const inFlight = fetch(`${url}/slow`);
  await handlerStarted;
  const result = await closeGracefully(app, store, { graceMs: 200, log });
  t.same(result, { forced: true });
  t.ok(state.closed, 'store closed');
  await t.rejects(inFlight, 'the cut request fails on the client side');
});
