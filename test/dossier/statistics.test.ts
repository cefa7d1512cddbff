// Operator statistics: dossiers per channel, period and department, documents per class, and
// accesses per mode counted on the audit trail's index — never a name, never a document read.
import t from 'tap';
import { AuditTrail, auditEvent, type AuditRecord } from '../../src/audit/index.ts';
import { accessModeIndex, auditAccessStatistics } from '../../src/dossier/index.ts';
import { openTestStore } from '../support/store.ts';
import { createParams, newIns, openApp, outAll, PDF, patient, testClock } from './support.ts';

t.test('an AuditEvent is indexed by the access mode it was recorded in', async (t) => {
  const event = auditEvent({ action: 'read', channel: 'fhir', mode: 'break-the-glass', outcome: 'success', resource: { type: 'DocumentReference', id: 'd1' } });
  t.same(accessModeIndex(event as never), [{ param: '_access_mode', value: 'c:bris_de_glace' }]);
});

t.test('a resource other than an AuditEvent gets no access-mode index', async (t) => {
  t.same(accessModeIndex({ resourceType: 'Observation', purposeOfEvent: [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.248', code: 'normal' }] }] }), []);
});

t.test('accesses are counted per mode within the period: successful reads and searches over FHIR and XDS only', async (t) => {
  const { store, cleanup } = await openTestStore();
  t.teardown(cleanup);
  const trail = new AuditTrail(store, { extraIndex: accessModeIndex });
  const at = Date.parse('2025-03-10T12:00:00Z');
  const base = { channel: 'fhir' as const, patientId: 'p1', recorded: at, outcome: 'success' as const, resource: { type: 'DocumentReference', id: 'd1' } };
  const records: AuditRecord[] = [
    { ...base, action: 'read', mode: 'normal' },
    { ...base, action: 'search', mode: 'normal', resource: { type: 'DocumentReference' } },
    { ...base, action: 'read', mode: 'break-the-glass' },
    { ...base, action: 'read', mode: 'emergency-call' },
    { ...base, action: 'read', mode: 'break-the-glass', outcome: 'refused', reason: 'opposed' },
    { ...base, action: 'create', mode: 'normal' },
    { ...base, action: 'activity', name: 'statistics-export', mode: 'normal', resource: undefined },
    { ...base, action: 'login', mode: 'normal', resource: undefined },
    { ...base, action: 'read', channel: 'xds', transaction: 'ITI-43', mode: 'break-the-glass' },
    { ...base, action: 'read', mode: 'normal', recorded: Date.parse('2024-12-31T12:00:00Z') },
  ];
  for (const r of records) await trail.recordAlone(r);
  const counts = await auditAccessStatistics(store).accessesPerMode({ from: Date.parse('2025-01-01T00:00:00Z'), to: Date.parse('2025-12-31T23:59:59Z') });
  t.same(counts, { normal: 2, 'break-the-glass': 2, 'emergency-call': 1 });
});

t.test('the statistics count dossiers per channel, month and department, documents per class and accesses per mode', async (t) => {
  const clock = testClock(Date.parse('2025-02-10T10:00:00Z'));
  const api = await openApp({ dossier: { clock: clock.read } });
  t.teardown(() => api.close());
  const lyon = patient(newIns(), '1980-01-15', { address: [{ postalCode: '69003' }] });
  for (const params of [createParams({ channel: 'pharmacy' }), createParams({ channel: 'pharmacy' }), createParams({ channel: 'insurer-desk', patient: lyon })]) {
    t.equal((await api.call('POST', '/fhir/Patient/$create-dossier', params)).status, 201);
  }
  const created = await api.call('POST', '/fhir/Patient/$create-dossier', createParams({ channel: 'professional' }));
  const patientId = String(created.body.parameter[0].valueReference.reference).replace('Patient/', '');
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$upload`, PDF, { 'content-type': 'application/pdf' })).status, 201);

  const r = await api.call('GET', '/fhir/$dossier-statistics?period=month&from=2025-01-01&to=2025-12-31');
  t.equal(r.status, 200);
  const dossiers = outAll(r.body, 'dossiers').map((d) => [d.channel, d.period, d.department, d.count]);
  t.same(dossiers, [['insurer-desk', '2025-02', '69', 1], ['pharmacy', '2025-02', '75', 2], ['professional', '2025-02', '75', 1]]);
  const documents = outAll(r.body, 'documents');
  t.ok(documents.length > 0 && documents.reduce((n, d) => n + d.count, 0) === 1, 'the uploaded document counted once, in its class');
  t.same(outAll(r.body, 'accesses').map((a) => a.mode).sort(), ['break-the-glass', 'emergency-call', 'normal']);
  t.notMatch(r.raw, /DOSSIER|Léa|lea@/, 'no names or addresses');
});
