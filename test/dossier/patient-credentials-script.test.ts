// scripts/patient-credentials.ts run as a user runs it, on the pass's store: the patient gets an
// open dossier (with their Consent, audited) and credentials that work; running it again reuses
// the dossier, and reopens it if it was closed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import t from 'tap';
import { AuditTrail } from '../../src/audit/index.ts';
import { loadConfig } from '../../src/config.ts';
import { credentialsOver, dossierStatus, testIns } from '../../src/dossier/index.ts';
import { StoreCredentialStore } from '../../src/identity/store-credential-store.ts';
import { patientSignIn } from '../../src/security.ts';
import { createStore, type Store } from '../../src/store/index.ts';
import { testStoreSettings } from '../support/store.ts';
import { openApp } from './support.ts';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'patient-credentials.ts');
const settings = testStoreSettings();
const env = {
  PATH: process.env.PATH ?? '',
  DATA_DIR: settings.dataDir,
  ...(settings.mongodbUri ? { MONGODB_URI: settings.mongodbUri, MONGODB_DATABASE: settings.mongodbDatabase ?? '' } : {}),
};
const PASSWORD = 'a-long-test-password';

async function script(...args: string[]) {
  return run(process.execPath, [SCRIPT, ...args], { env });
}

/** The pass's store, opened after the script has closed it. */
async function withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
  const store = createStore(settings);
  await store.open();
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

async function credentials(store: Store) {
  const config = loadConfig({ DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent' });
  return credentialsOver(await patientSignIn(config, store), new StoreCredentialStore(store));
}

t.teardown(() => settings.cleanup());

t.test('the script opens an active dossier for the patient with their Consent', async (t) => {
  const { stdout } = await script('--patient-id', 'p-script', '--login', 'lea.script', '--password', PASSWORD, '--email', 'lea@example.org');
  t.match(stdout, /dossier created for Patient\/p-script/);
  await withStore(async (store) => {
    t.equal(await dossierStatus(store, 'p-script'), 'active');
    const consents = await store.search({ types: ['Consent'], count: 10 });
    t.equal(consents.entries.filter((e) => (e.resource?.patient as { reference?: string } | undefined)?.reference === 'Patient/p-script').length, 1);
  });
});

t.test('the credentials the script sets sign the patient in to that dossier', async (t) => {
  await withStore(async (store) => {
    const c = await credentials(store);
    t.equal(await c.verify('lea.script', PASSWORD), true);
    t.same(await c.subjectOf('lea.script'), { kind: 'patient', patientId: 'p-script' });
  });
});

t.test('opening the dossier through the script is audited like any dossier creation', async (t) => {
  await withStore(async (store) => {
    const page = await new AuditTrail(store).search('p-script');
    t.same(page.events.map((e) => e.subtype?.[0]?.code).sort(), ['dossier-create', 'password-change']);
  });
});

t.test('running the script again reuses the dossier and sets the new password', async (t) => {
  const { stdout } = await script('--patient-id', 'p-script', '--login', 'lea.script', '--password', `${PASSWORD}-2`, '--email', 'lea@example.org');
  t.match(stdout, /dossier reused/);
  await withStore(async (store) => t.equal(await (await credentials(store)).verify('lea.script', `${PASSWORD}-2`), true));
});

t.test('running the script on a closed dossier reactivates it', async (t) => {
  await withStore(async (store) => {
    const api = await openApp({ store, dataDir: settings.dataDir });
    try {
      t.equal((await api.call('POST', '/fhir/Patient/p-script/$close')).status, 200);
    } finally {
      await api.app.close();
    }
  });
  const { stdout } = await script('--patient-id', 'p-script', '--login', 'lea.script', '--password', PASSWORD, '--email', 'lea@example.org');
  t.match(stdout, /dossier reactivated/);
  await withStore(async (store) => t.equal(await dossierStatus(store, 'p-script'), 'active'));
});

t.test('an existing Patient without an INS gets one and its dossier', async (t) => {
  await withStore(async (store) => {
    const api = await openApp({ store, dataDir: settings.dataDir });
    try {
      t.equal((await api.call('PUT', '/fhir/Patient/p-bare', { resourceType: 'Patient', id: 'p-bare', birthDate: '1990-05-05' })).status, 201);
    } finally {
      await api.app.close();
    }
  });
  await script('--patient-id', 'p-bare', '--login', 'bare.script', '--password', PASSWORD, '--sms', '+33600000077');
  await withStore(async (store) => {
    t.equal(await dossierStatus(store, 'p-bare'), 'active');
    const patient = await store.read('Patient', 'p-bare');
    t.ok((patient?.resource?.identifier as { system: string }[]).some((i) => i.system === 'urn:oid:1.2.250.1.213.1.4.10'), 'a test INS');
  });
});

t.test("another login for a dossier that has one is refused with the dossier's login named", async (t) => {
  const error = await script('--patient-id', 'p-script', '--login', 'someone.else', '--password', PASSWORD, '--email', 'x@example.org').then(() => undefined, (e: { code: number; stderr: string }) => e);
  t.equal(error?.code, 1);
  t.match(error?.stderr ?? '', /already has the login lea\.script/);
});

t.test('a password shorter than the lifecycle accepts is refused and leaves no dossier', async (t) => {
  const error = await script('--patient-id', 'p-short', '--login', 'short.script', '--password', 'short', '--email', 'x@example.org').then(() => undefined, (e: { code: number; stderr: string }) => e);
  t.equal(error?.code, 1);
  t.match(error?.stderr ?? '', /at least 12 characters/);
  await withStore(async (store) => t.equal(await dossierStatus(store, 'p-short'), undefined));
});

t.test('a generated test INS carries its NIR key', async (t) => {
  const ins = testIns();
  t.match(ins, /^[12]\d{14}$/);
  t.equal(97n - (BigInt(ins.slice(0, 13)) % 97n), BigInt(ins.slice(13)));
});
