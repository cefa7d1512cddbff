// The real server as a child process: start-up, /health over HTTP, SIGTERM, bad settings.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { testStoreKind, testStoreSettings } from './support/store.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Run {
  // Only what the server needs: settings from the parent's environment must not leak in.
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls /health until the server answers, or fails after 20 s. */
async function waitForHealth(url: string, run: Run): Promise<Response> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await fetch(`${url}/health`);
    } catch (error) {
      if (run.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`server did not answer: ${String(error)}\n${run.stderr()}`, { cause: error });
      }
      await sleep(100);
    }
  }
}

/** Starts the server on the store of this test pass (embedded, or MongoDB in the MongoDB pass). */
async function startServer(t: Test) {
  const port = await freePort();
  const store = testStoreSettings();
  const run = start({
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: store.dataDir, ACCESS_CONTROL: 'off',
    ...(store.mongodbUri ? { MONGODB_URI: store.mongodbUri, MONGODB_DATABASE: store.mongodbDatabase ?? '' } : {}),
  });
  t.teardown(async () => {
    run.child.kill('SIGKILL');
    await run.exited;
    await store.cleanup();
  });
  const url = `http://127.0.0.1:${port}`;
  const health = await waitForHealth(url, run);
  return { run, url, port, health };
}

void t.test('the server answers GET /health over HTTP with 200', async (t) => {
  const { health, run, port } = await startServer(t);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok' });
  t.match(run.stdout(), `listening at http://127.0.0.1:${port}`);
});

void t.test('the server reports itself ready on its store', async (t) => {
  const { url } = await startServer(t);
  const ready = await fetch(`${url}/ready`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', store: testStoreKind() });
});

void t.test('SIGTERM makes the server stop and exit 0', async (t) => {
  const { run, health } = await startServer(t);
  t.equal(health.status, 200);
  run.child.kill('SIGTERM');
  t.same(await run.exited, { code: 0, signal: null });
  t.match(run.stdout(), /"msg":"stopped"/);
  t.equal(run.stderr(), '');
});

void t.test('SIGINT makes the server stop and exit 0', async (t) => {
  const { run } = await startServer(t);
  run.child.kill('SIGINT');
  t.same(await run.exited, { code: 0, signal: null });
});

void t.test('PORT=abc makes it exit 2 with exactly one line on stderr naming PORT', async (t) => {
  const run = start({ PORT: 'abc', DATA_DIR: join(t.testdir(), 'data') });
  const { code } = await run.exited;
  t.equal(code, 2);
  t.equal(run.stderr(), 'carnet: PORT must be an integer from 0 to 65535, got "abc"\n');
  t.equal(run.stdout(), '');
});

void t.test('a data folder that cannot be created makes it exit 1 with one line on stderr', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, '');
  const run = start({ PORT: String(await freePort()), HOST: '127.0.0.1', DATA_DIR: file });
  const { code } = await run.exited;
  t.equal(code, 1);
  t.match(run.stderr(), /^carnet: cannot start: .+\n$/);
});

void t.test('a port already in use makes it exit 1 with one line on stderr', async (t) => {
  const { port } = await startServer(t);
  const run = start({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(t.testdir(), 'data') });
  const { code } = await run.exited;
  t.equal(code, 1);
  t.match(run.stderr(), /^carnet: cannot start: listen EADDRINUSE[^\n]*\n$/);
});

/** GET over HTTPS trusting only the given CA; resolves with status and body. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

void t.test('by default the server serves HTTPS with a development PKI and asks FHIR callers who they are', async (t) => {
  const port = await freePort();
  const store = testStoreSettings();
  const run = start({
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: store.dataDir,
    ...(store.mongodbUri ? { MONGODB_URI: store.mongodbUri, MONGODB_DATABASE: store.mongodbDatabase ?? '' } : {}),
  });
  t.teardown(async () => {
    run.child.kill('SIGKILL');
    await run.exited;
    await store.cleanup();
  });
  const deadline = Date.now() + 20_000;
  let health: { status: number; body: string } | undefined;
  while (!health) {
    try {
      health = await httpsGet(`https://127.0.0.1:${port}/health`, readFileSync(join(store.dataDir, 'pki', 'ca.crt')));
    } catch (error) {
      if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`no answer: ${String(error)} ${run.stderr()}`, { cause: error });
      await sleep(200);
    }
  }
  t.equal(health.status, 200);
  t.match(run.stdout(), `listening at https://127.0.0.1:${port}`);
  const fhir = await httpsGet(`https://127.0.0.1:${port}/fhir/Patient`, readFileSync(join(store.dataDir, 'pki', 'ca.crt')));
  t.equal(fhir.status, 401);
  t.equal(JSON.parse(fhir.body).resourceType, 'OperationOutcome');
});
