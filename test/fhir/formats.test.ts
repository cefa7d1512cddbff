// JSON and FHIR XML over HTTP, through the store: bodies in either format, answers chosen by
// Accept and _format, decimals kept as written, and the official R4 examples round-tripping.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFhirXml, toFhirXml } from '../../src/fhir/xml/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { sharedMissingReason, sharedPath } from '../support/shared.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp();
});
t.teardown(() => api.close());

const XML = 'application/fhir+xml';

async function raw(method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  return api.app.inject({ method: method as 'GET', url, payload: body, headers });
}

t.test('a resource sent as XML is read back as JSON and as XML', async (t) => {
  const xml = '<Patient xmlns="http://hl7.org/fhir"><active value="true"/><name><family value="Durand"/><given value="Ana"/></name></Patient>';
  const created = await raw('POST', '/fhir/Patient', xml, { 'content-type': XML, accept: XML });
  t.equal(created.statusCode, 201);
  t.match(created.headers['content-type'], /^application\/fhir\+xml/);
  t.match(created.body, /<family value="Durand"\/>/);
  const id = /<id value="([^"]+)"\/>/.exec(created.body)?.[1];
  const json = await api.call('GET', `/fhir/Patient/${id}`);
  t.equal(json.body.name[0].family, 'Durand');
  t.equal(json.body.active, true);
  const viaFormat = await raw('GET', `/fhir/Patient/${id}?_format=xml`);
  t.match(viaFormat.headers['content-type'], /^application\/fhir\+xml/);
  t.match(viaFormat.body, /^<\?xml/);
});

t.test('Accept with q-values picks the preferred format', async (t) => {
  const r = await raw('GET', '/fhir/metadata', undefined, { accept: 'application/fhir+json;q=0.5, application/fhir+xml;q=0.9' });
  t.match(r.headers['content-type'], /^application\/fhir\+xml/);
  t.match(r.body, /<CapabilityStatement xmlns="http:\/\/hl7.org\/fhir">/);
});

t.test('search results come back as an XML Bundle', async (t) => {
  const r = await raw('GET', '/fhir/Patient?family=durand&_format=application/fhir%2Bxml');
  t.equal(r.statusCode, 200);
  t.match(r.body, /<Bundle xmlns="http:\/\/hl7.org\/fhir">/);
  t.match(r.body, /<type value="searchset"\/>/);
});

t.test('decimals keep the precision they were written with', async (t) => {
  const body = '{"resourceType":"Observation","status":"final","code":{"text":"t"},"valueQuantity":{"value":1.50,"unit":"mmol/L"}}';
  const created = await raw('POST', '/fhir/Observation', body, { 'content-type': 'application/fhir+json' });
  t.match(created.body, /"value":1\.50/);
  const id = JSON.parse(created.body).id;
  t.match((await raw('GET', `/fhir/Observation/${id}`)).body, /"value":1\.50/);
  t.match((await raw('GET', `/fhir/Observation/${id}?_format=xml`)).body, /<value value="1\.50"\/>/);
  t.equal((await api.call('GET', `/fhir/Observation?value-quantity=1.5||mmol/L`)).body.entry.length, 1, 'and still search as numbers');
});

t.test('malformed XML answers 400 with an OperationOutcome', async (t) => {
  const r = await raw('POST', '/fhir/Patient', '<Patient xmlns="http://hl7.org/fhir"><bogus value="1"/></Patient>', { 'content-type': XML });
  t.equal(r.statusCode, 400);
  const outcome = JSON.parse(r.body);
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.match(outcome.issue[0].expression[0], /bogus/);
});

t.test('an XML client gets its errors as an XML OperationOutcome', async (t) => {
  const r = await raw('GET', '/fhir/Patient/does-not-exist', undefined, { accept: XML });
  t.equal(r.statusCode, 404);
  t.match(r.headers['content-type'], /^application\/fhir\+xml/);
  const outcome = parseFhirXml(r.body) as { resourceType: string; issue: { code: string }[] };
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.equal(outcome.issue[0].code, 'not-found');
});

t.test('a bad search asked with _format=xml answers 400 in XML with the faulty parameter named', async (t) => {
  const r = await raw('GET', '/fhir/Patient?birthdate=not-a-date&_format=xml');
  t.equal(r.statusCode, 400);
  t.match(r.body, /^<\?xml[^>]*\?>\s*<OperationOutcome xmlns="http:\/\/hl7.org\/fhir">/);
  t.match(r.body, /birthdate/);
});

t.test('an XML body refused by validation answers in the Accept format, XML here', async (t) => {
  const r = await raw('POST', '/fhir/Patient', '<Patient xmlns="http://hl7.org/fhir"><bogus value="1"/></Patient>', { 'content-type': XML, accept: XML });
  t.equal(r.statusCode, 400);
  t.match(r.body, /<OperationOutcome xmlns="http:\/\/hl7.org\/fhir">/);
  t.match(r.body, /<expression value="[^"]*bogus/);
});

t.test('an Accept the server cannot serve answers 406 in JSON, the only choice left', async (t) => {
  const r = await raw('GET', '/fhir/metadata', undefined, { accept: 'text/csv' });
  t.equal(r.statusCode, 406);
  t.match(r.headers['content-type'], /^application\/fhir\+json/);
  t.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
});

t.test('XML with a DOCTYPE is refused and stores nothing', async (t) => {
  const before = (await api.call('GET', '/fhir/Patient?_summary=count')).body.total;
  const xxe = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><name><family value="&e;"/></name></Patient>';
  const r = await raw('POST', '/fhir/Patient', xxe, { 'content-type': XML });
  t.equal(r.statusCode, 400);
  t.notMatch(r.body, /root:/);
  t.equal((await api.call('GET', '/fhir/Patient?_summary=count')).body.total, before);
});

const examplesDir = sharedPath('fhir-examples');
const SERVER_OWNED = new Set(['AuditEvent']);

/** meta.versionId / lastUpdated are the server's; everything else must survive. */
function withoutServerMeta<T>(r: T): T {
  const copy = JSON.parse(JSON.stringify(r));
  if (copy.meta) {
    delete copy.meta.versionId;
    delete copy.meta.lastUpdated;
    if (Object.keys(copy.meta).length === 0) delete copy.meta;
  }
  return copy;
}

t.test('the official R4 examples round-trip through the store as XML and JSON', { skip: examplesDir ? false : sharedMissingReason }, async (t) => {
  const files = readdirSync(examplesDir as string).filter((f) => f.endsWith('.xml'));
  t.ok(files.length >= 60, `${files.length} examples`);
  for (const file of files) {
    const xml = readFileSync(join(examplesDir as string, file), 'utf8');
    const resource = parseFhirXml(xml) as unknown as Record<string, any>;
    const type = resource.resourceType;
    if (type === 'Bundle' || SERVER_OWNED.has(type)) continue;
    const id = resource.id;
    const put = await raw('PUT', `/fhir/${type}/${id}`, xml, { 'content-type': XML });
    t.ok(put.statusCode === 201 || put.statusCode === 200, `${file}: stored (${put.statusCode} ${put.statusCode >= 400 ? put.body.slice(0, 300) : ''})`);
    const asJson = await raw('GET', `/fhir/${type}/${id}`);
    t.same(withoutServerMeta(JSON.parse(asJson.body)), withoutServerMeta(resource), `${file}: JSON read back equals the example`);
    const asXml = await raw('GET', `/fhir/${type}/${id}`, undefined, { accept: XML });
    t.equal(
      toFhirXml(withoutServerMeta(parseFhirXml(asXml.body)) as never),
      toFhirXml(withoutServerMeta(resource) as never),
      `${file}: XML read back equals the example`,
    );
  }
});
