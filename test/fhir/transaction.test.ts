// Batch and transaction Bundles: all or nothing, reference resolution, processing order.
import t from 'tap';
import { openTestApp, type TestApp } from '../support/app.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp();
});
t.teardown(() => api.close());

let n = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${++n}`;

async function count(url: string): Promise<number> {
  return (await api.call('GET', `${url}&_summary=count`)).body.total;
}

t.test('a transaction creates resources that refer to each other by urn:uuid', async (t) => {
  const family = unique('Tx');
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  });
  t.equal(r.status, 200);
  t.equal(r.body.type, 'transaction-response');
  t.same(r.body.entry.map((e: any) => e.response.status), ['201', '201']);
  const patientId = r.body.entry[0].resource.id;
  t.equal(r.body.entry[1].resource.subject.reference, `Patient/${patientId}`);
  t.match(r.body.entry[0].response.location, new RegExp(`^Patient/${patientId}/_history/1$`));
});

t.test('a transaction with one failing entry leaves nothing stored', async (t) => {
  const family = unique('Fail');
  const existing = (await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: `${family}-old` }] })).body.id;
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Patient', id: existing, name: [{ family: `${family}-new` }] }, request: { method: 'PUT', url: `Patient/${existing}`, ifMatch: 'W/"9"' } },
    ],
  });
  t.equal(r.status, 412);
  t.equal(r.body.resourceType, 'OperationOutcome');
  t.equal(await count(`/fhir/Patient?family:exact=${family}`), 0);
  t.equal((await api.call('GET', `/fhir/Patient/${existing}`)).body.meta.versionId, '1');
});

t.test('entries run in the order the specification sets: delete, create, update, read', async (t) => {
  const family = unique('Order');
  const victim = (await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }] })).body.id;
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { request: { method: 'GET', url: `Patient?family:exact=${family}` } },
      { resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'DELETE', url: `Patient/${victim}` } },
    ],
  });
  t.equal(r.status, 200);
  const found = r.body.entry[0].resource.entry.map((e: any) => e.resource.id);
  t.same(found, [r.body.entry[1].resource.id], 'the read sees the create and not the deleted one');
  t.equal(r.body.entry[2].response.status, '204');
});

t.test('conditional references resolve to the one resource they match', async (t) => {
  const value = unique('ins');
  const p = (await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value }] })).body.id;
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|${value}` } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  });
  t.equal(r.status, 200);
  t.equal(r.body.entry[0].resource.subject.reference, `Patient/${p}`);
});

t.test('a conditional create inside a transaction reuses the match', async (t) => {
  const value = unique('cc');
  const p = (await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'urn:x', value }] })).body.id;
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:x', value }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:x|${value}` } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  });
  t.equal(r.body.entry[0].response.status, '200');
  t.equal(r.body.entry[0].resource.id, p);
  t.equal(r.body.entry[1].resource.subject.reference, `Patient/${p}`);
});

t.test('a transaction touching one resource twice is refused', async (t) => {
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: { resourceType: 'Patient', id: 'twice' }, request: { method: 'PUT', url: 'Patient/twice' } },
      { resource: { resourceType: 'Patient', id: 'twice' }, request: { method: 'PUT', url: 'Patient/twice' } },
    ],
  });
  t.equal(r.status, 400);
  t.equal((await api.call('GET', '/fhir/Patient/twice')).status, 404);
});

t.test('a batch runs each entry on its own: one failure does not stop the others', async (t) => {
  const family = unique('Batch');
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      { resource: { resourceType: 'Appointment' }, request: { method: 'POST', url: 'Appointment' } },
    ],
  });
  t.equal(r.status, 200);
  t.equal(r.body.type, 'batch-response');
  t.same(r.body.entry.map((e: any) => e.response.status), ['201', '404', '404']);
  t.equal(r.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
  t.equal(await count(`/fhir/Patient?family:exact=${family}`), 1);
});

t.test('POST /fhir with something other than a batch or transaction answers 400', async (t) => {
  t.equal((await api.call('POST', '/fhir', { resourceType: 'Patient' })).status, 400);
  t.equal((await api.call('POST', '/fhir', { resourceType: 'Bundle', type: 'collection' })).status, 400);
});

t.test('a batch entry putting an unsupported type answers 404 for that entry, not 500', async (t) => {
  const r = await api.call('POST', '/fhir', {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [{ resource: { resourceType: 'Appointment', id: 'x' }, request: { method: 'PUT', url: 'Appointment/x' } }],
  });
  t.equal(r.status, 200);
  t.equal(r.body.entry[0].response.status, '404');
});
