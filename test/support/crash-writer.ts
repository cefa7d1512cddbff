// Child process for the crash test: commits batches forever until it is killed.
// Each batch creates BATCH_SIZE resources, updates every shared resource, and appends a log
// entry and an outbox message, all in one commit. It prints `begin k` and `done k`.
import { createStore, indexKey, type ResourceWrite } from '../../src/store/index.ts';

export const BATCH_SIZE = 40;
export const SHARED = 15;

if (import.meta.main) {
  const settings = JSON.parse(process.env.CRASH_STORE ?? '{}');
  const store = createStore(settings);
  await store.open();
  for (let k = 1; ; k++) {
    const writes: ResourceWrite[] = [];
    for (let n = 0; n < BATCH_SIZE; n++) {
      writes.push({
        op: 'create',
        type: 'Observation',
        id: `b${k}-${n}`,
        resource: { resourceType: 'Observation', status: 'final', code: { text: `batch ${k}` } },
        index: [{ param: 'batch', value: indexKey('code', String(k)) }],
      });
    }
    for (let n = 0; n < SHARED; n++) {
      writes.push({ op: 'update', type: 'Patient', id: `shared-${n}`, resource: { resourceType: 'Patient', batch: k } as never });
    }
    process.stdout.write(`begin ${k}\n`);
    await store.commit({ writes, log: [{ stream: 'crash', entry: { batch: k } }], outbox: [{ topic: 'crash', payload: { batch: k } }] });
    process.stdout.write(`done ${k}\n`);
  }
}
