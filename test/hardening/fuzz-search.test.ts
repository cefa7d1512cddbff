// Property tests of the FHIR API's parsers (issue 7, fuzzing): random search query strings,
// random JSON bodies and random FHIR-like XML bodies never make the server fail (no 500), and
// every answer is FHIR: a Bundle or resource when it succeeds, an OperationOutcome when it does
// not. Runs on the store of the pass. FUZZ_RUNS sets the number of cases per property (default
// 150) and FUZZ_SEED the seed (default fixed, so CI runs the same cases every time; `random` for
// a new one). To hunt: FUZZ_RUNS=10000 FUZZ_SEED=random. fast-check prints the seed and the
// shrunk input of any failure, which then becomes a regression test (once the bug is fixed).
import fc from 'fast-check';
import t from 'tap';
import { openTestApp, type TestApp } from '../support/app.ts';

let api: TestApp;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? 20240601);
const settings = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

t.before(async () => {
  api = await openTestApp();
  const seed = [
    { resourceType: 'Patient', id: 'fz-1', name: [{ family: 'Dupont', given: ['Élise'] }], gender: 'female', birthDate: '1975-03-04', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '275037510812345' }] },
    { resourceType: 'Patient', id: 'fz-2', name: [{ family: 'Martin' }], gender: 'male', birthDate: '2001', active: false, generalPractitioner: [{ reference: 'Practitioner/fz-pr' }] },
    { resourceType: 'Practitioner', id: 'fz-pr', name: [{ family: 'Médecin' }], identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '899700000001' }] },
    { resourceType: 'Observation', id: 'fz-o', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, subject: { reference: 'Patient/fz-1' }, valueQuantity: { value: 70.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } },
  ];
  for (const r of seed) {
    const res = await api.call('PUT', `/fhir/${r.resourceType}/${r.id}`, r);
    if (res.status >= 300) throw new Error(`seed ${r.id}: ${res.status} ${JSON.stringify(res.body)}`);
  }
});
t.teardown(() => api.close());

type Answer = { status: number; body: any; contentType: string };

async function inject(method: 'GET' | 'POST', url: string, payload?: string, contentType?: string): Promise<Answer> {
  const r = await api.app.inject({ method, url, payload, headers: contentType ? { 'content-type': contentType } : {} });
  let body: any;
  try {
    body = JSON.parse(r.body);
  } catch {
    body = undefined;
  }
  return { status: r.statusCode, body, contentType: String(r.headers['content-type'] ?? '') };
}

/** No 5xx, FHIR JSON, and a Bundle / resource on success or an OperationOutcome of errors otherwise. */
function isFhirAnswer(r: Answer, success: (body: any) => boolean): boolean {
  if (r.status >= 500) return false;
  if (!r.contentType.startsWith('application/fhir+json') || typeof r.body !== 'object' || r.body === null) return false;
  if (r.status < 300) return success(r.body);
  return r.body.resourceType === 'OperationOutcome' && Array.isArray(r.body.issue) && r.body.issue.length > 0;
}

// ---- search query strings ------------------------------------------------------------------------

const NAMES = [
  'name', 'family', 'given', 'birthdate', 'gender', 'identifier', 'active', 'address-city', 'telecom', 'general-practitioner',
  'organization', 'death-date', '_id', '_lastUpdated', '_count', '_sort', '_summary', '_elements', '_total', '_include',
  '_revinclude', '_cursor', '_format', '_pretty', '_tag', '_profile', '_security', '_text', '_content', '_list', '_type',
  'general-practitioner.name', 'general-practitioner:Practitioner.identifier', '_has:Observation:subject:code',
  '_has:Observation:subject:value-quantity', '_has:Observation:patient:_has:Observation:subject:code', 'link', '$where', 'name[$ne]',
];
const MODIFIERS = ['', ':exact', ':contains', ':missing', ':not', ':text', ':above', ':below', ':identifier', ':of-type', ':in', ':not-in', ':Patient', ':iterate', ':x'];
const PREFIXES = ['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'xx'];

const date = fc
  .tuple(
    fc.constantFrom(...PREFIXES),
    fc.integer({ min: -1, max: 10_000 }),
    fc.option(fc.integer({ min: -1, max: 14 })),
    fc.option(fc.integer({ min: -1, max: 40 })),
    fc.option(fc.tuple(fc.integer({ min: -1, max: 26 }), fc.integer({ min: 0, max: 61 }), fc.constantFrom('Z', '+02:00', '-14:00', '', '+99:99'))),
  )
  .map(([p, y, m, d, time]) => {
    let s = `${p}${String(y).padStart(4, '0')}`;
    if (m !== null) s += `-${String(m).padStart(2, '0')}`;
    if (m !== null && d !== null) s += `-${String(d).padStart(2, '0')}`;
    if (m !== null && d !== null && time) s += `T${String(time[0]).padStart(2, '0')}:${String(time[1]).padStart(2, '0')}:00${time[2]}`;
    return s;
  });
const token = fc.tuple(fc.option(fc.constantFrom('http://loinc.org', 'urn:oid:1.2.250.1.213.1.4.8', '', 'x|y')), fc.string({ maxLength: 12 })).map(([s, c]) => (s === null ? c : `${s}|${c}`));
const number = fc.oneof(fc.double().map(String), fc.integer().map(String), fc.constantFrom('1e400', '-0', '0x10', 'NaN', 'Infinity', '1.', '.5'));
const hostile = fc.constantFrom('{"$ne":null}', '{"$gt":""}', '$where', '.*', '(a+)+$', '\\', '%', '%zz', '\u0000', '\uffff', '\ud800', 'Patient/fz-1', 'fz-1,fz-2', ',,,', '|', '||', '$', '[', ']', '*');
const value = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 20 }), date, token, number, hostile, fc.constantFrom('true', 'false', 'count', 'accurate', 'name', '-birthdate', 'Patient:general-practitioner', '*'));
const param = fc.tuple(fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 12 })), fc.constantFrom(...MODIFIERS), value);
/** Query strings: well-encoded parameter lists, and raw strings appended as they are. */
const query = fc.oneof(
  fc.array(param, { maxLength: 6 }).map((ps) => new URLSearchParams(ps.map(([n, m, v]): [string, string] => [`${n}${m}`, v])).toString()),
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[#\s]/g, '')),
  fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 4 }).map((ps) => ps.map(([n, v]) => `${n}=${v.replace(/[#&\s]/g, '')}`).join('&')),
);

t.test('random search query strings on Patient never give a 500, always a Bundle or an OperationOutcome', async (t) => {
  await fc.assert(
    fc.asyncProperty(query, async (q) => {
      const r = await inject('GET', `/fhir/Patient?${q}`);
      return isFhirAnswer(r, (b) => b.resourceType === 'Bundle' && b.type === 'searchset');
    }),
    settings,
  );
  t.pass();
});

t.test('random search query strings on Observation never give a 500', async (t) => {
  const observationNames = fc.constantFrom('code', 'subject', 'patient', 'value-quantity', 'date', 'status', 'combo-code-value-quantity', 'component-code-value-quantity', 'subject:Patient.name', '_has:Patient:link:name');
  const q = fc.array(fc.tuple(fc.oneof(observationNames, fc.constantFrom(...NAMES)), fc.constantFrom(...MODIFIERS), value), { maxLength: 5 })
    .map((ps) => new URLSearchParams(ps.map(([n, m, v]): [string, string] => [`${n}${m}`, v])).toString());
  await fc.assert(
    fc.asyncProperty(q, async (s) => isFhirAnswer(await inject('GET', `/fhir/Observation?${s}`), (b) => b.resourceType === 'Bundle')),
    settings,
  );
  t.pass();
});

// ---- JSON bodies ---------------------------------------------------------------------------------

const TYPES = ['Patient', 'Observation', 'DocumentReference', 'Consent', 'Binary', 'Bundle', 'AuditEvent', 'Nope'];
const element = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('name', 'id', 'meta', 'extension', 'identifier', 'subject', 'status', 'code', 'valueQuantity', 'text', 'contained', '$where', 'a.b', '__proto__', 'constructor', 'resourceType', '_birthDate', 'data', 'contentType', 'entry', 'request'));
const body = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.tuple(fc.constantFrom(...TYPES), fc.dictionary(element, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })).map(([resourceType, rest]) => JSON.stringify({ ...rest, resourceType })),
  fc.string({ maxLength: 60 }),
);

t.test('random JSON bodies posted to a type never give a 500', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('Patient', 'Observation', 'DocumentReference', 'Binary', 'Consent'), body, async (type, b) => {
      const r = await inject('POST', `/fhir/${type}`, b, 'application/fhir+json');
      return isFhirAnswer(r, (res) => res.resourceType === type);
    }),
    settings,
  );
  t.pass();
});

t.test('random JSON bodies posted to the system endpoint (batch/transaction) never give a 500', async (t) => {
  const entry = fc.record(
    {
      fullUrl: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('urn:uuid:5f1c1c6e-7d0a-4f1e-9c57-2a1d2b3c4d5e')),
      resource: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ resourceType: 'Patient' })),
      request: fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'x'), url: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('Patient', 'Patient/fz-1', 'Patient?name=x', '../x', 'Patient/$where')) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  );
  const bundle = fc.record({ resourceType: fc.constantFrom('Bundle', 'Patient'), type: fc.constantFrom('batch', 'transaction', 'searchset', 'x'), entry: fc.array(entry, { maxLength: 4 }) }, { requiredKeys: ['resourceType'] });
  await fc.assert(
    fc.asyncProperty(fc.oneof(bundle.map((b) => JSON.stringify(b)), body), async (b) => isFhirAnswer(await inject('POST', '/fhir', b, 'application/fhir+json'), (res) => res.resourceType === 'Bundle')),
    settings,
  );
  t.pass();
});

// ---- XML bodies ------------------------------------------------------------------------------------

const xmlTree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.tuple(fc.constantFrom('name', 'family', 'given', 'birthDate', 'extension', 'valueString', 'id', 'x', 'active', 'text'), fc.option(fc.string({ maxLength: 8 }))).map(([n, v]) => (v === null ? `<${n}/>` : `<${n} value="${v.replace(/[<&"]/g, '')}"/>`)),
    fc.tuple(fc.constantFrom('name', 'extension', 'meta', 'identifier', 'contact', 'div'), fc.array(tie('node'), { maxLength: 3 })).map(([n, kids]) => `<${n}>${kids.join('')}</${n}>`),
    fc.constantFrom('&amp;', '&lt;', '&#0;', '&#x110000;', '<![CDATA[x]]>', '<!-- c -->', '<?pi x?>', 'text', '</x>', '<', '&'),
  ),
})).node;
const xmlBody = fc.oneof(
  fc.tuple(fc.constantFrom('Patient', 'Observation', 'Bundle', 'X'), fc.array(xmlTree, { maxLength: 4 }), fc.constantFrom('xmlns="http://hl7.org/fhir"', '', 'xmlns="urn:x"')).map(([root, kids, ns]) => `<${root} ${ns}>${kids.join('')}</${root}>`),
  fc.string({ maxLength: 60 }),
);

t.test('random FHIR-like XML bodies never give a 500', async (t) => {
  await fc.assert(
    fc.asyncProperty(xmlBody, async (x) => isFhirAnswer(await inject('POST', '/fhir/Patient', x, 'application/fhir+xml'), (res) => res.resourceType === 'Patient')),
    settings,
  );
  t.pass();
});
