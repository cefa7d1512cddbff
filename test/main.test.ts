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
import { startSmtp } from './notify/peers.ts';
import { createParams, out } from './dossier/support.ts';

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
async function startServer(t: Test, env: Record<string, string> = {}) {
  const port = await freePort();
  const store = testStoreSettings();
  const run = start({
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: store.dataDir, ACCESS_CONTROL: 'off',
    ...(store.mongodbUri ? { MONGODB_URI: store.mongodbUri, MONGODB_DATABASE: store.mongodbDatabase ?? '' } : {}),
    ...env,
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

// ---- background jobs: notifications, audit seals, the dossier purge ----------------------------

/** Waits until the server's standard output matches, or fails after `ms`. */
async function waitForOutput(run: Run, pattern: RegExp, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(run.stdout())) {
    if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`no output matching ${pattern}:\n${run.stdout()}\n${run.stderr()}`);
    await sleep(50);
  }
}

async function createDossier(url: string, email: string): Promise<string> {
  const response = await fetch(`${url}/fhir/Patient/$create-dossier`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(createParams({ channel: 'pharmacy', email })),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 201) throw new Error(`create: ${response.status} ${JSON.stringify(body)}`);
  return String(out(body, 'patient').reference).replace('Patient/', '');
}

const SMTP_FROM = 'Carnet <ne-pas-repondre@carnet.example>';

void t.test('without an SMTP server or an SMS gateway the server warns that notifications wait in the outbox', async (t) => {
  const { run } = await startServer(t);
  await waitForOutput(run, /"msg":"audit sealer started"/);
  t.match(run.stdout(), /"level":40[^\n]*notifications wait in the outbox/);
  t.notMatch(run.stdout(), /notification worker started/);
});

void t.test('the server e-mails the patient through the configured SMTP server when their dossier is created', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.close());
  const { url, run } = await startServer(t, { NOTIFY_SMTP_HOST: '127.0.0.1', NOTIFY_SMTP_PORT: String(smtp.port), NOTIFY_SMTP_SECURITY: 'none', NOTIFY_SMTP_FROM: SMTP_FROM });
  await waitForOutput(run, /"msg":"notification worker started"/);
  await createDossier(url, 'lea.main@example.org');
  const [mail] = await smtp.waitFor(1, 20_000);
  t.equal(mail.to, 'lea.main@example.org');
  t.equal(mail.subject, 'Votre dossier médical partagé a été créé');
  t.match(run.stdout(), /no SMS gateway configured/, 'the missing channel is named');
  t.notMatch(run.stdout(), /lea\.main@example\.org/, 'the address is not logged');
});

void t.test('on SIGTERM the notification worker and the sealer stop before the store and the server exits 0', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.close());
  const { url, run } = await startServer(t, { NOTIFY_SMTP_HOST: '127.0.0.1', NOTIFY_SMTP_PORT: String(smtp.port), NOTIFY_SMTP_SECURITY: 'none', NOTIFY_SMTP_FROM: SMTP_FROM });
  await createDossier(url, 'stop@example.org');
  await smtp.waitFor(1, 20_000);
  run.child.kill('SIGTERM');
  t.same(await run.exited, { code: 0, signal: null });
  t.equal(run.stderr(), '');
  t.notMatch(run.stdout(), /"level":50/, 'nothing failed on the way down (a job using a closed store would log an error)');
});

// MongoDB entries are sealed only once older than the commit deadline (65 s): too long here.
const sealWait = testStoreKind() === 'mongo' ? 'on MongoDB sealing waits 65 s for commits to settle (test/audit covers it)' : false;

void t.test('the server seals the audit trail on AUDIT_SEAL_INTERVAL_MS', { skip: sealWait }, async (t) => {
  const { url, run } = await startServer(t, { AUDIT_SEAL_INTERVAL_MS: '200' });
  await createDossier(url, 'seal@example.org');
  await waitForOutput(run, /"msg":"audit trail sealed"/);
  t.match(run.stdout(), /"seals":[1-9]\d*,"entries":[1-9]\d*,"msg":"audit trail sealed"/);
});

void t.test('the purge job erases a closed dossier once DOSSIER_RETENTION_DAYS is over', async (t) => {
  const { url } = await startServer(t, { DOSSIER_RETENTION_DAYS: '0', DOSSIER_PURGE_INTERVAL_MS: '200' });
  const patientId = await createDossier(url, 'purge@example.org');
  const closed = await fetch(`${url}/fhir/Patient/${patientId}/$close`, { method: 'POST' });
  t.equal(closed.status, 200);
  const deadline = Date.now() + 20_000;
  let status: unknown;
  do {
    await sleep(100);
    const response = await fetch(`${url}/fhir/Patient/${patientId}/$dossier-status`);
    status = out((await response.json()) as Record<string, unknown>, 'exists');
  } while (status !== false && Date.now() < deadline);
  t.equal(status, false, 'the dossier is gone');
  const patient = await fetch(`${url}/fhir/Patient/${patientId}`);
  t.ok(patient.status === 404 || patient.status === 410, `the Patient is no longer read (${patient.status})`);
});
