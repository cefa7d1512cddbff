// Every answer carries the security headers; HSTS over HTTPS only; TLS below 1.2 is refused;
// answers that set no caching policy are not to be stored.
import t from 'tap';
import { connect } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestPki } from '../../src/identity/index.ts';
import { SECURITY_HEADERS } from '../../src/security-headers.ts';
import { openTestStore } from '../support/store.ts';

const opened = await openTestStore();
const plain = buildApp({ config: loadConfig({ DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' }), store: opened.store });
const pki = await createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'carnet-headers-'));
writeFileSync(join(dir, 'server.crt'), pki.server.certPem);
writeFileSync(join(dir, 'server.key'), pki.server.keyPem);
const secure = buildApp({
  config: loadConfig({ DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off', TLS_CERT_FILE: join(dir, 'server.crt'), TLS_KEY_FILE: join(dir, 'server.key') }),
  store: opened.store,
});
await secure.listen({ port: 0, host: '127.0.0.1' });
const port = (secure.server.address() as AddressInfo).port;
t.teardown(async () => {
  await secure.close();
  await plain.close();
  await opened.cleanup();
});

t.test('every answer carries the security headers, errors included', async (t) => {
  for (const url of ['/health', '/fhir/metadata', '/fhir/Patient/unknown', '/no-such-route']) {
    const r = await plain.inject({ method: 'GET', url });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) t.equal(r.headers[name], value, `${url}: ${name}`);
  }
});

t.test('an answer without a caching policy of its own is not to be stored', async (t) => {
  const r = await plain.inject({ method: 'GET', url: '/fhir/metadata' });
  t.equal(r.headers['cache-control'], 'no-store');
});

t.test('HSTS is sent over HTTPS, not over plain HTTP', async (t) => {
  t.equal((await plain.inject({ method: 'GET', url: '/health' })).headers['strict-transport-security'], undefined);
  const hsts = await new Promise<unknown>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/health', ca: pki.ca.certPem, servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.headers['strict-transport-security']);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(hsts, 'max-age=31536000');
});

t.test('a client that offers at most TLS 1.1 is refused at the handshake', async (t) => {
  const outcome = await new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: pki.ca.certPem, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error) => resolve(`refused: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
  });
  t.match(outcome, /^refused/);
});
