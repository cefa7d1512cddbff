// Hostile and broken input on the FHIR API (issue 7, hardening): malformed and oversized bodies,
// wrong content types, deep nesting, ids with path characters, MongoDB operator injection through
// search parameters and JSON bodies, invalid search values, and hostile XML (XXE, billion laughs,
// DOCTYPE, deep nesting). Each gets an OperationOutcome with the right status, and the store is
// the same afterwards: every test compares the resource counts and the whole-system history
// before and after. Runs on the store of the pass (on MongoDB, the injection tests reach the
// MongoDB query compiler).
import t from 'tap';
import type { Test } from 'tap';
import { openTestApp, type TestApp } from '../support/app.ts';

let api: TestApp;
const TYPES = ['Patient', 'Observation', 'DocumentReference', 'Binary'];
const JSON_TYPE = { 'content-type': 'application/fhir+json' };
const XML_TYPE = { 'content-type': 'application/fhir+xml' };
const FHIR_NS = 'xmlns="http://hl7.org/fhir"';

t.before(async () => {
  api = await openTestApp();
  for (const family of ['Martin', 'Bernard']) {
    const r = await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }], gender: 'female', birthDate: '1980-04-02' });
    if (r.status !== 201) throw new Error(`seed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const obs = await api.call('POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, valueQuantity: { value: 70, unit: 'kg' } });
  if (obs.status !== 201) throw new Error(`seed: ${obs.status}`);
});
t.teardown(() => api.close());

/** What the store holds, as the API tells it: current resources per type, and every version. */
async function snapshot(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const type of TYPES) {
    const r = await api.call('GET', `/fhir/${type}?_summary=count`);
    if (r.status !== 200) throw new Error(`count ${type}: ${r.status}`);
    out[type] = r.body.total;
  }
  const history = await api.call('GET', '/fhir/_history?_count=1000');
  out.versions = (history.body.entry ?? []).length;
  return out;
}

/** Runs `action` and checks that the store holds exactly what it held before. */
async function unchanged<T>(t: Test, action: () => Promise<T>): Promise<T> {
  const before = await snapshot();
  const result = await action();
  t.same(await snapshot(), before, 'the store is unchanged');
  return result;
}

type Answer = Awaited<ReturnType<TestApp['call']>>;

/** A request exactly as given: no content type is added. */
async function raw(method: string, url: string, payload?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await api.app.inject({ method: method as 'GET', url, payload, headers });
  let body: Record<string, any> = {};
  try {
    body = r.body ? JSON.parse(r.body) : {};
  } catch {
    body = { raw: r.body };
  }
  return { status: r.statusCode, body, headers: r.headers };
}

/** An error answer: the status, an OperationOutcome of errors, FHIR JSON, and no stack trace. */
function refused(t: Test, r: Answer, status: number, code?: string): void {
  t.equal(r.status, status, `status ${status}`);
  t.match(String(r.headers['content-type']), /^application\/fhir\+json/);
  t.equal(r.body.resourceType, 'OperationOutcome');
  t.ok(r.body.issue?.length > 0 && r.body.issue.every((i: any) => i.severity === 'error' || i.severity === 'fatal'), 'error issues');
  if (code) t.equal(r.body.issue[0].code, code, `issue code ${code}`);
  t.notMatch(JSON.stringify(r.body), /\bat .+\.ts:\d+|node_modules/, 'no stack trace');
}

/** The ignored-parameter warning of a lenient search. */
function warnsIgnored(t: Test, bundle: any, name: string): void {
  const outcome = (bundle.entry ?? []).find((e: any) => e.search?.mode === 'outcome')?.resource;
  t.ok(outcome?.issue?.some((i: any) => i.severity === 'warning' && i.expression?.includes(name)), `the Bundle warns that ${name} was ignored`);
}

// ---- JSON bodies ---------------------------------------------------------------------------------

t.test('malformed JSON is refused with 400 structure', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '{"resourceType": "Patient", "name": [', JSON_TYPE));
  refused(t, r, 400, 'structure');
});

t.test('an empty JSON body is refused with 400', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '', JSON_TYPE));
  refused(t, r, 400);
});

t.test('a JSON array instead of a resource is refused with 400', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '[{"resourceType":"Patient"}]', JSON_TYPE));
  refused(t, r, 400);
});

t.test('a body of another type than the URL says is refused with 400', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '{"resourceType":"Observation","status":"final","code":{"text":"x"}}', JSON_TYPE));
  refused(t, r, 400);
});

t.test('XML sent as JSON is refused with 400', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', `<Patient ${FHIR_NS}/>`, JSON_TYPE));
  refused(t, r, 400, 'structure');
});

// ---- content types -------------------------------------------------------------------------------

for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
  t.test(`a resource sent as ${type.split(';')[0]} is refused with 415`, async (t) => {
    const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '{"resourceType":"Patient"}', { 'content-type': type }));
    refused(t, r, 415, 'not-supported');
  });
}

t.test('a resource sent without a content type is refused with 415', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '{"resourceType":"Patient"}', {}));
  refused(t, r, 415, 'not-supported');
});

// ---- size and depth ------------------------------------------------------------------------------

t.test('a JSON body over BODY_LIMIT_BYTES is refused with 413', async (t) => {
  const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'x'.repeat(10 * 1024 * 1024 + 1) }] });
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', body, JSON_TYPE));
  refused(t, r, 413, 'too-long');
});

t.test('an XML body over BODY_LIMIT_BYTES is refused with 413', async (t) => {
  const body = `<Patient ${FHIR_NS}><name><family value="${'x'.repeat(10 * 1024 * 1024 + 1)}"/></name></Patient>`;
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', body, XML_TYPE));
  refused(t, r, 413, 'too-long');
});

t.test('a transaction over BODY_LIMIT_BYTES is refused with 413', async (t) => {
  const entry = Array.from({ length: 2000 }, () => ({ resource: { resourceType: 'Patient', name: [{ family: 'y'.repeat(6000) }] }, request: { method: 'POST', url: 'Patient' } }));
  const r = await unchanged(t, () => raw('POST', '/fhir', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }), JSON_TYPE));
  refused(t, r, 413, 'too-long');
});

t.test('JSON nested 10,000 levels deep is refused with 400 and the server keeps answering', async (t) => {
  // Refused before parsing: nesting beyond 100 levels would exhaust the stack of later walks.
  const deep = `{"resourceType":"Patient","extension":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', deep, JSON_TYPE));
  refused(t, r, 400, 'structure');
  t.equal((await api.call('GET', '/fhir/metadata')).status, 200, 'the server still answers');
});

t.test('objects nested 10,000 levels deep are refused with 400', async (t) => {
  const deep = `{"resourceType":"Patient","contact":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', deep, JSON_TYPE));
  refused(t, r, 400);
});

// ---- ids with path characters --------------------------------------------------------------------

for (const [label, path] of [
  ['an encoded ../', '/fhir/Patient/..%2FPatient'],
  ['an encoded slash', '/fhir/Patient/a%2Fb'],
  ['$where', '/fhir/Patient/$where'],
  ['an encoded $where', '/fhir/Patient/%24where'],
  ['a NUL byte', '/fhir/Patient/a%00b'],
  ['a JSON operator', `/fhir/Patient/${encodeURIComponent('{"$ne":null}')}`],
] as const) {
  t.test(`reading an id with ${label} is refused with 400`, async (t) => {
    const r = await raw('GET', path);
    refused(t, r, 400, 'invalid');
  });
}

t.test('updating an id with an encoded ../ is refused with 400 and stores nothing', async (t) => {
  const r = await unchanged(t, () => raw('PUT', '/fhir/Patient/..%2Fx', JSON.stringify({ resourceType: 'Patient', id: '../x' }), JSON_TYPE));
  refused(t, r, 400, 'invalid');
});

t.test('updating the id $where is refused with 400 and stores nothing', async (t) => {
  const r = await unchanged(t, () => raw('PUT', '/fhir/Patient/$where', JSON.stringify({ resourceType: 'Patient', id: '$where' }), JSON_TYPE));
  refused(t, r, 400, 'invalid');
});

t.test('deleting the id $where is refused with 400 and deletes nothing', async (t) => {
  const r = await unchanged(t, () => raw('DELETE', '/fhir/Patient/$where'));
  refused(t, r, 400, 'invalid');
});

t.test('a history of an id with path characters is refused with 400', async (t) => {
  refused(t, await raw('GET', '/fhir/Patient/..%2F/_history'), 400, 'invalid');
});

t.test('$everything on an id with path characters is refused with 400', async (t) => {
  refused(t, await raw('GET', '/fhir/Patient/%24where/$everything'), 400, 'invalid');
});

// ---- MongoDB operator injection through search parameters -----------------------------------------

for (const name of ['name[$ne]', '_id[$gt]', '$where']) {
  t.test(`the parameter ${name} is ignored with a warning, never run as an operator`, async (t) => {
    const url = `/fhir/Patient?${name}=x&family=Martin`;
    const r = await unchanged(t, () => raw('GET', url));
    t.equal(r.status, 200);
    warnsIgnored(t, r.body, name);
    t.same(r.body.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.name[0].family), ['Martin'], 'the other criteria still apply');
  });

  t.test(`the parameter ${name} is refused with 400 under strict handling`, async (t) => {
    const r = await raw('GET', `/fhir/Patient?${name}=x`, undefined, { prefer: 'handling=strict' });
    refused(t, r, 400, 'invalid');
  });
}

t.test('an operator object as an _id value matches nothing', async (t) => {
  const r = await raw('GET', `/fhir/Patient?_id=${encodeURIComponent('{"$gt":""}')}&_summary=count`);
  t.equal(r.status, 200);
  t.equal(r.body.total, 0);
});

t.test('an operator object as a string value matches nothing', async (t) => {
  const r = await raw('GET', `/fhir/Patient?name=${encodeURIComponent('{"$ne":null}')}&_summary=count`);
  t.equal(r.status, 200);
  t.equal(r.body.total, 0);
});

t.test('an operator object inside a token value matches nothing', async (t) => {
  const r = await raw('GET', `/fhir/Patient?identifier=${encodeURIComponent('urn:oid:1.2.250.1.213.1.4.8|{"$ne":1}')}&_summary=count`);
  t.equal(r.status, 200);
  t.equal(r.body.total, 0);
});

t.test('regular-expression characters in a :contains search are taken literally', async (t) => {
  for (const value of ['.*', '^', '(a+)+$', '[a-z]']) {
    const r = await raw('GET', `/fhir/Patient?name:contains=${encodeURIComponent(value)}&_summary=count`);
    t.equal(r.status, 200, value);
    t.equal(r.body.total, 0, `${value} matches no name`);
  }
});

t.test('operator parameters in a conditional delete are refused with 400 and delete nothing', async (t) => {
  const r = await unchanged(t, () => raw('DELETE', '/fhir/Patient?name[$ne]=x'));
  refused(t, r, 400, 'invalid');
});

t.test('operator parameters in a conditional update are refused with 400 and store nothing', async (t) => {
  const r = await unchanged(t, () => raw('PUT', '/fhir/Patient?name[$ne]=x', '{"resourceType":"Patient"}', JSON_TYPE));
  refused(t, r, 400, 'invalid');
});

t.test('an operator in a POST _search form body is ignored with a warning', async (t) => {
  const r = await raw('POST', '/fhir/Patient/_search', '$where=1&family=Bernard', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(r.status, 200);
  warnsIgnored(t, r.body, '$where');
  t.same(r.body.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.name[0].family), ['Bernard']);
});

t.test('a garbage paging cursor is refused with 400', async (t) => {
  refused(t, await raw('GET', `/fhir/Patient?_cursor=${Buffer.from('{"$gt":1}').toString('base64url')}`), 400, 'invalid');
});

t.test('an operator as a sort parameter is refused with 400 under strict handling', async (t) => {
  refused(t, await raw('GET', '/fhir/Patient?_sort=$where', undefined, { prefer: 'handling=strict' }), 400, 'invalid');
});

// ---- MongoDB operators and odd keys in JSON bodies -----------------------------------------------

for (const [label, body] of [
  ['a top-level $where key', { resourceType: 'Patient', $where: 'sleep(1000)' }],
  ['a $set key inside an element', { resourceType: 'Patient', name: [{ family: 'x', $set: { active: false } }] }],
  ['an operator object as a value', { resourceType: 'Patient', name: [{ family: { $where: 'this.a' } }] }],
  ['a dotted key', { resourceType: 'Patient', 'name.family': 'x' }],
  ['a dotted key inside an element', { resourceType: 'Patient', name: [{ 'a.b': 'x' }] }],
  ['a $-key in an extension', { resourceType: 'Patient', extension: [{ url: 'http://example.org/x', $gt: 1 }] }],
] as const) {
  t.test(`a body with ${label} is refused by validation with 422`, async (t) => {
    const r = await unchanged(t, () => raw('POST', '/fhir/Patient', JSON.stringify(body), JSON_TYPE));
    refused(t, r, 422);
  });
}

t.test('a body with __proto__ is refused by validation with 422', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '{"resourceType":"Patient","__proto__":{"active":false}}', JSON_TYPE));
  refused(t, r, 422);
});

t.test('an update with a $-key is refused with 422 and leaves the resource as it was', async (t) => {
  const created = await api.call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Intact' }] });
  const id = created.body.id;
  const r = await unchanged(t, () => raw('PUT', `/fhir/Patient/${id}`, JSON.stringify({ resourceType: 'Patient', id, name: [{ family: 'Changed' }], $set: { x: 1 } }), JSON_TYPE));
  refused(t, r, 422);
  t.equal((await api.call('GET', `/fhir/Patient/${id}`)).body.name[0].family, 'Intact');
});

t.test('a transaction with a $-key in one entry is refused whole with 422', async (t) => {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: { resourceType: 'Patient', name: [{ family: 'Clean' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Patient', $where: '1' }, request: { method: 'POST', url: 'Patient' } },
    ],
  };
  const r = await unchanged(t, () => raw('POST', '/fhir', JSON.stringify(bundle), JSON_TYPE));
  refused(t, r, 422);
});

// ---- invalid search values -----------------------------------------------------------------------

for (const [label, query] of [
  ['a date that is not one', 'birthdate=notadate'],
  ['month 13', 'birthdate=2020-13-01'],
  ['an unknown date prefix', 'birthdate=xx2020'],
  ['a negative _lastUpdated', '_lastUpdated=gt-1'],
  ['a quantity that is not a number', 'value-quantity=abc'],
  ['an unknown modifier', 'gender:foo=male'],
  ['a negative _count', '_count=-1'],
  ['an unknown _summary', '_summary=bogus'],
] as const) {
  const type = query.startsWith('value-quantity') ? 'Observation' : 'Patient';
  t.test(`a search with ${label} is refused with 400`, async (t) => {
    const r = await unchanged(t, () => raw('GET', `/fhir/${type}?${query}`));
    refused(t, r, 400, 'invalid');
  });
}

t.test('an unknown code in a token search matches nothing', async (t) => {
  const r = await raw('GET', '/fhir/Patient?gender=notagender&_summary=count');
  t.equal(r.status, 200);
  t.equal(r.body.total, 0);
});

t.test('an unsupported resource type in a search is refused with 404', async (t) => {
  refused(t, await raw('GET', '/fhir/Appointment?status=booked'), 404, 'not-supported');
});

// ---- hostile XML -------------------------------------------------------------------------------

t.test('XML with an external entity (XXE) is refused with 400 security', async (t) => {
  const xml = `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient ${FHIR_NS}><name><family value="&x;"/></name></Patient>`;
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', xml, XML_TYPE));
  refused(t, r, 400, 'security');
  t.notMatch(JSON.stringify(r.body), /root:/, 'nothing of the file comes back');
});

t.test('a billion-laughs XML body is refused with 400 security', async (t) => {
  const entities = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`)].join('');
  const xml = `<?xml version="1.0"?><!DOCTYPE lolz [${entities}]><Patient ${FHIR_NS}><name><family value="&lol9;"/></name></Patient>`;
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', xml, XML_TYPE));
  refused(t, r, 400, 'security');
});

t.test('XML with a plain DOCTYPE is refused with 400 security', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', `<!DOCTYPE Patient><Patient ${FHIR_NS}/>`, XML_TYPE));
  refused(t, r, 400, 'security');
});

t.test('a transaction in XML with a DOCTYPE is refused with 400 security', async (t) => {
  const xml = `<!DOCTYPE Bundle [<!ENTITY x "y">]><Bundle ${FHIR_NS}><type value="transaction"/></Bundle>`;
  const r = await unchanged(t, () => raw('POST', '/fhir', xml, XML_TYPE));
  refused(t, r, 400, 'security');
});

t.test('XML nested 10,000 levels deep is refused with 400 too-long', async (t) => {
  const xml = `<Patient ${FHIR_NS}>${'<extension url="u">'.repeat(10_000)}${'</extension>'.repeat(10_000)}</Patient>`;
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', xml, XML_TYPE));
  refused(t, r, 400, 'too-long');
});

t.test('malformed XML is refused with 400 structure', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', `<Patient ${FHIR_NS}><name>`, XML_TYPE));
  refused(t, r, 400, 'structure');
});

t.test('an undeclared entity in XML is refused with 400', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', `<Patient ${FHIR_NS}><name><family value="&x;"/></name></Patient>`, XML_TYPE));
  refused(t, r, 400, 'structure');
});

t.test('XML outside the FHIR namespace is refused with 400', async (t) => {
  const r = await unchanged(t, () => raw('POST', '/fhir/Patient', '<Patient xmlns="http://example.org/evil"/>', XML_TYPE));
  refused(t, r, 400, 'structure');
});

t.test('JSON nested 101 levels deep is refused, 100 levels is parsed', async (t) => {
  const nested = (levels: number) => `{"resourceType":"Basic","x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  const tooDeep = await raw('POST', '/fhir/Patient', nested(101), JSON_TYPE);
  t.equal(tooDeep.status, 400);
  t.match(tooDeep.body.issue[0].diagnostics, /more than 100 levels/);
  const deepEnough = await raw('POST', '/fhir/Patient', nested(100), JSON_TYPE);
  t.notMatch(JSON.stringify(deepEnough.body), /more than 100 levels/, 'refused, if at all, for what it says, not for its depth');
});
