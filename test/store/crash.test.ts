// A writer process killed with SIGKILL in the middle of a multi-resource commit leaves, after
// restart, every resource of that commit or none of them; every acknowledged commit is whole.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createStore, indexKey, type Store } from '../../src/store/index.ts';
import { testStoreSettings } from '../support/store.ts';
import { BATCH_SIZE, SHARED } from '../support/crash-writer.ts';

const WRITER = join(import.meta.dirname, '..', 'support', 'crash-writer.ts');
const DEADLINE_MS = 1000;

/** Runs the writer until it has begun batch `killAt`, kills it a moment later; returns the last acknowledged batch. */
async function runAndKill(settings: object, killAt: number, delayMs: number): Promise<number> {
  const child = spawn(process.execPath, [WRITER], { env: { ...process.env, CRASH_STORE: JSON.stringify(settings) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let lastDone = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, k] = line.split(' ');
    if (word === 'done') lastDone = Number(k);
    if (word === 'begin' && Number(k) === killAt) {
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  }
  await exited;
  return lastDone;
}

async function countBatch(store: Store, k: number): Promise<number> {
  const page = await store.search({ types: ['Observation'], where: { param: 'batch', in: [indexKey('code', String(k))] }, count: 1, total: true });
  return page.total ?? -1;
}

for (const [round, delayMs] of [[1, 0], [2, 15], [3, 40]] as const) {
  t.test(`after a kill during a commit (round ${round}), each commit is whole or absent`, async (t) => {
    const settings = testStoreSettings();
    const storeSettings = { dataDir: settings.dataDir, mongodbUri: settings.mongodbUri, mongodbDatabase: settings.mongodbDatabase, commitDeadlineMs: DEADLINE_MS };
    t.teardown(() => settings.cleanup());
    const lastDone = await runAndKill(storeSettings, 3, delayMs);
    t.ok(lastDone >= 2, `acknowledged batches: ${lastDone}`);

    const store = createStore(storeSettings);
    await store.open();
    t.teardown(() => store.close());
    for (let k = 1; k <= lastDone; k++) t.equal(await countBatch(store, k), BATCH_SIZE, `acknowledged batch ${k} is whole`);
    const interrupted = await countBatch(store, lastDone + 1);
    t.ok(interrupted === 0 || interrupted === BATCH_SIZE, `interrupted batch has ${interrupted} of ${BATCH_SIZE} resources`);
    const landed = interrupted === BATCH_SIZE ? lastDone + 1 : lastDone;

    const batches = new Set<unknown>();
    for (let n = 0; n < SHARED; n++) batches.add((await store.read('Patient', `shared-${n}`))?.resource?.batch);
    t.same([...batches], [landed], 'every shared resource shows the same last commit');
    const log = await store.readLog('crash', { limit: 100 });
    t.same(log.map((e) => e.entry.batch), Array.from({ length: landed }, (_, i) => i + 1), 'one log entry per landed commit');
    const outbox = (await store.claimOutbox({ limit: 100, leaseMs: 60_000 })).filter((m) => m.topic === 'crash');
    t.same(outbox.map((m) => Number(m.payload.batch)).sort((a, b) => a - b), Array.from({ length: landed }, (_, i) => i + 1), 'one outbox message per landed commit');

    // Whatever the dead writer left must not block the next writer for long.
    await new Promise((r) => setTimeout(r, DEADLINE_MS + 100));
    if ('repair' in store && typeof store.repair === 'function') await store.repair();
    const next = await store.commit({ writes: [{ op: 'update', type: 'Patient', id: 'shared-0', resource: { resourceType: 'Patient' } }] });
    t.equal(next.versions[0]?.versionId, landed + 1, 'the next write follows the last landed version');
  });
}
