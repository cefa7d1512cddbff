// scripts/verify-audit.ts, run as an operator would, on the pass's kind of store.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { AUDIT_STREAM, AuditTrail } from '../../src/audit/index.ts';
import { openTestStore, type TestStoreSettings } from '../support/store.ts';
import { tamper } from './tamper.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function verify(settings: TestStoreSettings, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DATA_DIR: settings.dataDir };
  if (settings.mongodbUri) Object.assign(env, { MONGODB_URI: settings.mongodbUri, MONGODB_DATABASE: settings.mongodbDatabase });
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'scripts', 'verify-audit.ts'), ...args], { cwd: root, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function trailWithEntries(t: Test, n: number): Promise<{ trail: AuditTrail; settings: TestStoreSettings }> {
  const { store, settings, cleanup } = await openTestStore();
  t.teardown(cleanup);
  const trail = new AuditTrail(store, { settleMs: 0 });
  for (let i = 0; i < n; i++) {
    await trail.recordAlone({ actor: { kind: 'professional', rpps: '10000000001', profession: '10' }, action: 'read', channel: 'fhir', patientId: 'p1', resource: { type: 'DocumentReference', id: `d${i}` }, outcome: 'success' });
  }
  await trail.seal();
  return { trail, settings };
}

t.test('verify-audit exits 0 and prints the head seal when the trail is intact', async (t) => {
  const { settings } = await trailWithEntries(t, 3);
  const result = await verify(settings);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^audit trail intact: 3 entries \(3 sealed, 0 not yet sealed\), 1 seals; head seal 1 [0-9a-f]{64}\n$/);
});

t.test('verify-audit exits 1 and names the place when an entry was deleted', async (t) => {
  const { settings } = await trailWithEntries(t, 3);
  const db = await tamper(settings);
  await db.deleteLog(AUDIT_STREAM, 2);
  await db.close();
  const result = await verify(settings);
  t.equal(result.code, 1);
  t.match(result.stdout, 'audit trail BROKEN at audit seq 2 (entry-missing)');
});

t.test('verify-audit fails against an anchor the chain no longer contains', async (t) => {
  const { settings } = await trailWithEntries(t, 1);
  const result = await verify(settings, '--anchor', `1:${'a'.repeat(64)}`, '--json');
  t.equal(result.code, 1);
  t.match(JSON.parse(result.stdout), { ok: false, problem: { kind: 'seal-chain-broken' } });
});

t.test('verify-audit refuses a malformed anchor with exit code 2', async (t) => {
  const { settings } = await trailWithEntries(t, 0);
  const result = await verify(settings, '--anchor', 'yesterday');
  t.equal(result.code, 2);
  t.match(result.stderr, '--anchor must be');
});
