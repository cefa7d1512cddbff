// Coalescing of refused identities (RefusalAudit) over a real store, with a clock the test moves:
// one record per address at once, the rest counted into one record per window, a bounded number
// of windows whatever the number of addresses.
import t, { type Test } from 'tap';
import type { AuditEvent } from '@medplum/fhirtypes';
import { AuditTrail, RefusalAudit } from '../../src/audit/index.ts';
import { openTestStore } from '../support/store.ts';

async function fresh(t: Test, options: { maxAddresses?: number } = {}) {
  const { store, cleanup } = await openTestStore();
  const trail = new AuditTrail(store, { settleMs: 0 });
  const clock = { now: Date.parse('2026-01-10T10:00:00Z') };
  const audit = new RefusalAudit(trail, { windowMs: 60_000, now: () => clock.now, ...options });
  t.teardown(async () => {
    await audit.stop();
    await cleanup();
  });
  const events = async (): Promise<AuditEvent[]> => {
    await audit.settled();
    const out: AuditEvent[] = [];
    for await (const e of trail.entries()) out.push(e.event);
    return out;
  };
  return { audit, clock, events };
}

const occurrences = (e: AuditEvent) => e.entity?.flatMap((x) => x.detail ?? []).find((d) => d.type === 'occurrences')?.valueString;
const address = (e: AuditEvent) => e.agent?.find((a) => a.network)?.network?.address;

t.test('the first refusal from an address is recorded at once, with its reason and address', async (t) => {
  const { audit, events } = await fresh(t);
  audit.refused({ address: '192.0.2.1', reason: 'revoked', channel: 'fhir', requestId: 'req-1' });
  const [event] = await events();
  t.equal(event.outcome, '4');
  t.equal(event.outcomeDesc, 'revoked');
  t.equal(address(event), '192.0.2.1');
  t.equal(event.subtype?.[0]?.code, '110122', 'a refused login');
});

t.test('the refusals after the first in a window are one record with their count when the window ends', async (t) => {
  const { audit, clock, events } = await fresh(t);
  for (let i = 0; i < 10; i++) {
    audit.refused({ address: '192.0.2.2', reason: 'no-credentials', channel: 'fhir' });
    clock.now += 1000;
  }
  t.equal((await events()).length, 1, 'one record while the window is open');
  clock.now += 60_000;
  audit.refused({ address: '192.0.2.3', reason: 'no-credentials', channel: 'fhir' });
  const all = await events();
  const counted = all.find((e) => occurrences(e) !== undefined);
  t.equal(occurrences(counted as AuditEvent), '9');
  t.equal(counted?.period?.start, '2026-01-10T10:00:00.000Z');
  t.equal(counted?.period?.end, '2026-01-10T10:00:09.000Z');
});

t.test('refusals of different reasons in one window are counted together', async (t) => {
  const { audit, events } = await fresh(t);
  audit.refused({ address: '192.0.2.4', reason: 'expired', channel: 'fhir' });
  audit.refused({ address: '192.0.2.4', reason: 'expired', channel: 'xds' });
  audit.refused({ address: '192.0.2.4', reason: 'revoked', channel: 'fhir' });
  await audit.stop();
  const counted = (await events()).find((e) => occurrences(e) !== undefined);
  t.equal(occurrences(counted as AuditEvent), '2');
  t.equal(counted?.outcomeDesc, 'several-reasons');
});

t.test('past the address limit, new addresses share one window without an address', async (t) => {
  const { audit, events } = await fresh(t, { maxAddresses: 2 });
  for (let i = 1; i <= 50; i++) audit.refused({ address: `198.51.100.${i}`, reason: 'no-credentials', channel: 'fhir' });
  t.equal((await events()).length, 3, 'two addresses of their own and one shared window');
  await audit.stop();
  const all = await events();
  t.equal(all.length, 4);
  const shared = all.find((e) => occurrences(e) !== undefined);
  t.equal(occurrences(shared as AuditEvent), '47');
  t.equal(address(shared as AuditEvent), undefined);
});
