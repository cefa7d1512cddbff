// The FHIR REST interactions: create, read, vread, update, delete (plain and conditional),
// history, Prefer, content negotiation and errors — on the store of the pass.
import t from 'tap';
import { openTestApp, type TestApp } from '../support/app.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp();
});
t.teardown(() => api.close());

const patient = (family = 'Martin', extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', name: [{ family, given: ['Léa'] }], gender: 'female', ...extra });

async function created(body: Record<string, unknown>): Promise<string> {
  const r = await api.call('POST', `/fhir/${body.resourceType}`, body);
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

t.test('create assigns an id and answers 201 with Location, ETag and Last-Modified', async (t) => {
  const r = await api.call('POST', '/fhir/Patient', patient());
  t.equal(r.status, 201);
  t.match(r.body.id, /^[0-9a-f-]{36}$/);
  t.equal(r.body.meta.versionId, '1');
  t.match(r.headers.location, new RegExp(`/fhir/Patient/${r.body.id}/_history/1$`));
  t.equal(r.headers.etag, 'W/"1"');
  t.equal(r.headers['last-modified'], new Date(r.body.meta.lastUpdated).toUTCString());
  t.match(r.headers['content-type'], /^application\/fhir\+json/);
});

t.test('a client id in a create body is replaced by the server id', async (t) => {
  const r = await api.call('POST', '/fhir/Patient', patient('X', { id: 'mine' }));
  t.not(r.body.id, 'mine');
});

t.test('read returns the current version', async (t) => {
  const id = await created(patient('Lire'));
  const r = await api.call('GET', `/fhir/Patient/${id}`);
  t.equal(r.status, 200);
  t.equal(r.body.name[0].family, 'Lire');
  t.equal(r.headers.etag, 'W/"1"');
});

t.test('a read with the current ETag in If-None-Match answers 304 without a body', async (t) => {
  const id = await created(patient('Cache'));
  const r = await api.call('GET', `/fhir/Patient/${id}`, undefined, { 'if-none-match': 'W/"1"' });
  t.same([r.status, r.body, r.headers.etag], [304, {}, 'W/"1"']);
});

t.test('a read with an older ETag in If-None-Match gets the new version', async (t) => {
  const id = await created(patient('Cache'));
  await api.call('PUT', `/fhir/Patient/${id}`, patient('Cache2', { id }));
  const r = await api.call('GET', `/fhir/Patient/${id}`, undefined, { 'if-none-match': 'W/"1"' });
  t.same([r.status, r.body.name[0].family], [200, 'Cache2']);
});

t.test('If-Modified-Since answers 304 when nothing changed since, 200 otherwise', async (t) => {
  const id = await created(patient('Depuis'));
  const later = new Date(Date.now() + 60_000).toUTCString();
  const earlier = new Date(Date.now() - 3_600_000).toUTCString();
  t.equal((await api.call('GET', `/fhir/Patient/${id}`, undefined, { 'if-modified-since': later })).status, 304);
  t.equal((await api.call('GET', `/fhir/Patient/${id}`, undefined, { 'if-modified-since': earlier })).status, 200);
});

t.test('reading an unknown id answers 404 with an OperationOutcome', async (t) => {
  const r = await api.call('GET', '/fhir/Patient/unknown-id');
  t.equal(r.status, 404);
  t.equal(r.body.resourceType, 'OperationOutcome');
  t.equal(r.body.issue[0].code, 'not-found');
});

t.test('an unsupported resource type answers 404 naming the type', async (t) => {
  const r = await api.call('GET', '/fhir/Appointment/1');
  t.equal(r.status, 404);
  t.equal(r.body.issue[0].code, 'not-supported');
  t.match(r.body.issue[0].diagnostics, /Appointment/);
});

t.test('an id with characters FHIR forbids answers 400', async (t) => {
  const r = await api.call('GET', '/fhir/Patient/a%24b');
  t.equal(r.status, 400);
});

t.test('update with the current If-Match stores a new version', async (t) => {
  const id = await created(patient('Avant'));
  const r = await api.call('PUT', `/fhir/Patient/${id}`, patient('Après', { id }), { 'if-match': 'W/"1"' });
  t.equal(r.status, 200);
  t.equal(r.body.meta.versionId, '2');
  t.equal(r.headers.etag, 'W/"2"');
  t.equal((await api.call('GET', `/fhir/Patient/${id}`)).body.name[0].family, 'Après');
});

t.test('update with a stale If-Match answers 412 and changes nothing', async (t) => {
  const id = await created(patient('Un'));
  await api.call('PUT', `/fhir/Patient/${id}`, patient('Deux', { id }), { 'if-match': 'W/"1"' });
  const r = await api.call('PUT', `/fhir/Patient/${id}`, patient('Trois', { id }), { 'if-match': 'W/"1"' });
  t.equal(r.status, 412);
  t.equal(r.body.resourceType, 'OperationOutcome');
  t.equal((await api.call('GET', `/fhir/Patient/${id}`)).body.name[0].family, 'Deux');
});

t.test('concurrent updates with the same If-Match: one wins, the others get 412', async (t) => {
  const id = await created(patient('Course'));
  const results = await Promise.all([1, 2, 3, 4].map((n) => api.call('PUT', `/fhir/Patient/${id}`, patient(`C${n}`, { id }), { 'if-match': 'W/"1"' })));
  t.same(results.map((r) => r.status).sort(), [200, 412, 412, 412]);
});

t.test('update of an unknown id creates it with the client id', async (t) => {
  const r = await api.call('PUT', '/fhir/Patient/client-chosen-1', patient('Client', { id: 'client-chosen-1' }));
  t.equal(r.status, 201);
  t.equal(r.body.id, 'client-chosen-1');
});

t.test('update whose body id differs from the URL answers 400', async (t) => {
  const r = await api.call('PUT', '/fhir/Patient/abc', patient('X', { id: 'def' }));
  t.equal(r.status, 400);
  t.same(r.body.issue[0].expression, ['Patient.id']);
});

t.test('delete answers 204; reading then answers 410 and history keeps the versions', async (t) => {
  const id = await created(patient('Effacé'));
  t.equal((await api.call('DELETE', `/fhir/Patient/${id}`)).status, 204);
  t.equal((await api.call('GET', `/fhir/Patient/${id}`)).status, 410);
  const h = await api.call('GET', `/fhir/Patient/${id}/_history`);
  t.same(h.body.entry.map((e: any) => e.request.method), ['DELETE', 'POST']);
  t.equal((await api.call('DELETE', `/fhir/Patient/${id}`)).status, 204, 'deleting again is harmless');
});

t.test('vread returns an older version; a deletion version answers 410', async (t) => {
  const id = await created(patient('V1'));
  await api.call('PUT', `/fhir/Patient/${id}`, patient('V2', { id }));
  await api.call('DELETE', `/fhir/Patient/${id}`);
  const v1 = await api.call('GET', `/fhir/Patient/${id}/_history/1`);
  t.equal(v1.status, 200);
  t.equal(v1.body.name[0].family, 'V1');
  t.equal((await api.call('GET', `/fhir/Patient/${id}/_history/3`)).status, 410);
  t.equal((await api.call('GET', `/fhir/Patient/${id}/_history/9`)).status, 404);
});

t.test('conditional create returns the existing match instead of creating another', async (t) => {
  const ins = `urn:oid:1.2.250.1.213.1.4.8|${Date.now()}`;
  const body = patient('Cond', { identifier: [{ system: ins.split('|')[0], value: ins.split('|')[1] }] });
  const first = await api.call('POST', '/fhir/Patient', body, { 'if-none-exist': `identifier=${encodeURIComponent(ins)}` });
  const second = await api.call('POST', '/fhir/Patient', body, { 'if-none-exist': `identifier=${encodeURIComponent(ins)}` });
  t.equal(first.status, 201);
  t.equal(second.status, 200);
  t.equal(second.body.id, first.body.id);
});

t.test('conditional create with several matches answers 412', async (t) => {
  const family = `Multi${Date.now()}`;
  await created(patient(family));
  await created(patient(family));
  const r = await api.call('POST', '/fhir/Patient', patient(family), { 'if-none-exist': `family:exact=${family}` });
  t.equal(r.status, 412);
});

t.test('conditional update updates the one match, and creates when there is none', async (t) => {
  const family = `CondUp${Date.now()}`;
  const id = await created(patient(family));
  const r = await api.call('PUT', `/fhir/Patient?family:exact=${family}`, patient(family, { gender: 'male' }));
  t.equal(r.status, 200);
  t.equal(r.body.id, id);
  t.equal(r.body.meta.versionId, '2');
  const none = await api.call('PUT', `/fhir/Patient?family:exact=Nobody${Date.now()}`, patient('Nobody'));
  t.equal(none.status, 201);
});

t.test('conditional delete removes the one match', async (t) => {
  const family = `CondDel${Date.now()}`;
  const id = await created(patient(family));
  t.equal((await api.call('DELETE', `/fhir/Patient?family:exact=${family}`)).status, 204);
  t.equal((await api.call('GET', `/fhir/Patient/${id}`)).status, 410);
});

t.test('Prefer: return=minimal answers without a body, return=OperationOutcome with an outcome', async (t) => {
  const minimal = await api.app.inject({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, payload: JSON.stringify(patient()) });
  t.equal(minimal.statusCode, 201);
  t.equal(minimal.body, '');
  t.ok(minimal.headers.location);
  const outcome = await api.call('POST', '/fhir/Patient', patient(), { prefer: 'return=OperationOutcome' });
  t.equal(outcome.body.resourceType, 'OperationOutcome');
});

t.test('an unsupported content type answers 415', async (t) => {
  const r = await api.app.inject({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
  t.equal(r.statusCode, 415);
  t.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
});

t.test('an Accept the server cannot serve answers 406', async (t) => {
  const r = await api.call('GET', '/fhir/metadata', undefined, { accept: 'image/png' });
  t.equal(r.status, 406);
});

t.test('malformed JSON answers 400 and stores nothing', async (t) => {
  const before = await api.call('GET', '/fhir/Patient?_total=accurate&_count=0');
  const r = await api.call('POST', '/fhir/Patient', '{"resourceType": "Patient",');
  t.equal(r.status, 400);
  t.equal(r.body.issue[0].code, 'structure');
  const after = await api.call('GET', '/fhir/Patient?_total=accurate&_count=0');
  t.equal(after.body.total, before.body.total);
});

t.test('a body of another type than the URL answers 400', async (t) => {
  const r = await api.call('POST', '/fhir/Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
  t.equal(r.status, 400);
  t.same(r.body.issue[0].expression, ['resourceType']);
});

t.test('AuditEvent cannot be written through the API', async (t) => {
  const r = await api.call('POST', '/fhir/AuditEvent', { resourceType: 'AuditEvent' });
  t.equal(r.status, 405);
});

t.test('_pretty indents the JSON answer', async (t) => {
  const id = await created(patient('Joli'));
  const r = await api.app.inject({ method: 'GET', url: `/fhir/Patient/${id}?_pretty=true` });
  t.match(r.body, /\n {2}"resourceType"/);
});

t.test('instance history lists every version newest first', async (t) => {
  const id = await created(patient('H1'));
  await api.call('PUT', `/fhir/Patient/${id}`, patient('H2', { id }));
  const r = await api.call('GET', `/fhir/Patient/${id}/_history`);
  t.equal(r.body.type, 'history');
  t.same(r.body.entry.map((e: any) => e.resource.meta.versionId), ['2', '1']);
  t.same(r.body.entry.map((e: any) => e.response.status), ['200', '201']);
});

t.test('type history pages with next links and honours _since', async (t) => {
  const before = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 5));
  const ids = [await created({ resourceType: 'Device' }), await created({ resourceType: 'Device' }), await created({ resourceType: 'Device' })];
  const seen: string[] = [];
  let url: string | undefined = `/fhir/Device/_history?_count=2&_since=${encodeURIComponent(before)}`;
  while (url) {
    const r = await api.call('GET', url);
    seen.push(...r.body.entry.map((e: any) => e.resource.id));
    const next = r.body.link.find((l: any) => l.relation === 'next')?.url;
    url = next ? next.replace(/^https?:\/\/[^/]+/, '') : undefined;
  }
  t.same(seen, [...ids].reverse());
});

t.test('system history includes several types', async (t) => {
  await created({ resourceType: 'Organization', name: 'Hôpital' });
  const r = await api.call('GET', '/fhir/_history?_count=5');
  t.equal(r.status, 200);
  t.ok(r.body.entry.some((e: any) => e.resource?.resourceType === 'Organization'));
});

t.test('the CapabilityStatement lists each type with its interactions and search parameters', async (t) => {
  const r = await api.call('GET', '/fhir/metadata');
  t.equal(r.body.resourceType, 'CapabilityStatement');
  const dr = r.body.rest[0].resource.find((x: any) => x.type === 'DocumentReference');
  t.ok(dr.interaction.some((i: any) => i.code === 'create'));
  t.ok(dr.searchParam.some((p: any) => p.name === 'patient' && p.type === 'reference'));
  t.ok(dr.searchParam.some((p: any) => p.name === 'period-start' && p.type === 'date'), 'PDSm parameters are listed');
  const audit = r.body.rest[0].resource.find((x: any) => x.type === 'AuditEvent');
  t.notOk(audit.interaction.some((i: any) => i.code === 'create'));
});

t.test('an invalid resource is refused with 422, every issue listed, and nothing stored', async (t) => {
  const before = (await api.call('GET', '/fhir/Observation?_summary=count')).body.total;
  const r = await api.call('POST', '/fhir/Observation', { resourceType: 'Observation', status: 'finished', bogus: 1 });
  t.equal(r.status, 422);
  t.equal(r.body.resourceType, 'OperationOutcome');
  const expressions = r.body.issue.flatMap((i: any) => i.expression ?? []);
  t.ok(expressions.some((e: string) => /status/.test(e)), 'the bad status code is named');
  t.ok(expressions.some((e: string) => /bogus/.test(e)), 'the unknown element is named');
  t.ok(expressions.some((e: string) => /code/.test(e)), 'the missing code is named');
  t.equal((await api.call('GET', '/fhir/Observation?_summary=count')).body.total, before);
});

t.test('$validate answers with the issues of a resource and stores nothing', async (t) => {
  const bad = await api.call('POST', '/fhir/Patient/$validate', { resourceType: 'Patient', gender: 'nope' });
  t.equal(bad.status, 200);
  t.equal(bad.body.resourceType, 'OperationOutcome');
  t.ok(bad.body.issue.some((i: any) => i.severity === 'error' && i.code === 'code-invalid'));
  const good = await api.call('POST', '/fhir/Patient/$validate', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'male' } }, { name: 'mode', valueCode: 'create' }] });
  t.same(good.body.issue.map((i: any) => i.severity), ['information']);
});

t.test('$validate with a profile applies that profile', async (t) => {
  const r = await api.call('POST', '/fhir/Patient/$validate?profile=https://carnet.example/fhir/StructureDefinition/fr-dmp-patient-ins', { resourceType: 'Patient', gender: 'male' });
  t.ok(r.body.issue.some((i: any) => i.severity === 'error'), 'a Patient without an INS fails the INS profile');
});

t.test('a patient created by POST carries its own dossier in the access index', async (t) => {
  const id = await created(patient('Indexé'));
  const page = await api.store.search({ types: ['Patient'], where: { param: '_dossier', in: [`r:Patient/${id}`] }, count: 2 });
  t.same(page.entries.map((e) => e.id), [id]);
});
