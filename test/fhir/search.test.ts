// FHIR search over HTTP: each parameter type and modifier, prefixes, OR/AND, chains, _has,
// includes, sorting, paging, totals, _summary/_elements and the handling of unknown parameters.
import t from 'tap';
import { matchIds, openTestApp, type TestApp } from '../support/app.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp();
});
t.teardown(() => api.close());

let n = 0;
/** A value unique to one test, so tests never see each other's resources. */
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${++n}`;

async function create(body: Record<string, unknown>): Promise<string> {
  const r = await api.call('POST', `/fhir/${body.resourceType}`, body);
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

async function ids(url: string): Promise<string[]> {
  const r = await api.call('GET', url);
  if (r.status !== 200) throw new Error(`search ${url} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return matchIds(r.body);
}

const sorted = (a: string[]) => [...a].sort();

function observation(tag: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, identifier: [{ system: 'urn:tag', value: tag }], ...extra };
}

t.test('token search by code, system|code, |code and system|', async (t) => {
  const tag = unique('tok');
  const loinc = await create(observation(tag, { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }] }));
  const bare = await create(observation(tag, { category: [{ coding: [{ code: 'vital-signs' }] }] }));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(sorted(await ids(`${base}&category=vital-signs`)), sorted([loinc, bare]));
  t.same(await ids(`${base}&category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs`), [loinc]);
  t.same(await ids(`${base}&category=|vital-signs`), [bare]);
  t.same(await ids(`${base}&category=http://terminology.hl7.org/CodeSystem/observation-category|`), [loinc]);
});

t.test('token :not excludes the code and keeps resources without it', async (t) => {
  const tag = unique('not');
  const a = await create(observation(tag, { status: 'final' }));
  const b = await create(observation(tag, { status: 'amended' }));
  t.same(await ids(`/fhir/Observation?identifier=urn:tag|${tag}&status:not=final`), [b]);
  t.ok(a);
});

t.test('token :text matches the start of the display text, ignoring case and accents', async (t) => {
  const tag = unique('txt');
  const a = await create(observation(tag, { code: { coding: [{ system: 'http://loinc.org', code: '1', display: 'Fréquence cardiaque' }] } }));
  t.same(await ids(`/fhir/Observation?identifier=urn:tag|${tag}&code:text=frequence`), [a]);
});

t.test('French code systems match as NOS URL or urn:oid', async (t) => {
  const tag = unique('nos');
  const a = await create({
    resourceType: 'DocumentReference',
    status: 'current',
    identifier: [{ system: 'urn:tag', value: tag }],
    category: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument', code: '10' }] }],
    content: [{ attachment: { contentType: 'application/pdf' } }],
  });
  t.same(await ids(`/fhir/DocumentReference?identifier=urn:tag|${tag}&category=urn:oid:1.2.250.1.213.1.1.4.1|10`), [a]);
  t.same(await ids(`/fhir/DocumentReference?identifier=urn:tag|${tag}&category=https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument|10`), [a]);
});

t.test('identifier :of-type matches the identifier type and value', async (t) => {
  const value = unique('ins');
  const a = await create({ resourceType: 'Patient', identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI' }] }, system: 'urn:oid:1.2.250.1.213.1.4.8', value }] });
  t.same(await ids(`/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NI|${value}`), [a]);
  t.same(await ids(`/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|${value}`), []);
});

t.test('string search matches the start of any name part, ignoring case and accents', async (t) => {
  const family = unique('Hélène');
  const a = await create({ resourceType: 'Patient', name: [{ family, given: ['Zoé'] }] });
  const lower = family.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
  t.same(await ids(`/fhir/Patient?name=${encodeURIComponent(lower.slice(0, 6))}&family=${encodeURIComponent(family)}`), [a]);
  t.same(await ids(`/fhir/Patient?family=${encodeURIComponent(family)}&given=zoe`), [a]);
});

t.test('string :exact is case and accent sensitive; :contains matches inside', async (t) => {
  const family = unique('Lefèvre');
  const a = await create({ resourceType: 'Patient', name: [{ family }] });
  t.same(await ids(`/fhir/Patient?family:exact=${encodeURIComponent(family)}`), [a]);
  t.same(await ids(`/fhir/Patient?family:exact=${encodeURIComponent(family.toLowerCase())}`), []);
  t.same(await ids(`/fhir/Patient?family:contains=${encodeURIComponent(family.slice(3).toLowerCase())}`), [a]);
});

t.test('reference search by Type/id, by id alone, with a type modifier and by :identifier', async (t) => {
  const p = await create({ resourceType: 'Patient', name: [{ family: unique('Ref') }] });
  const tag = unique('ref');
  const o = await create(observation(tag, { subject: { reference: `Patient/${p}`, identifier: { system: 'urn:oid:1.2.250.1.213.1.4.8', value: tag } } }));
  t.same(await ids(`/fhir/Observation?subject=Patient/${p}`), [o]);
  t.same(await ids(`/fhir/Observation?subject=${p}`), [o]);
  t.same(await ids(`/fhir/Observation?subject:Patient=${p}`), [o]);
  t.same(await ids(`/fhir/Observation?patient=${p}`), [o]);
  t.same(await ids(`/fhir/Observation?subject:identifier=urn:oid:1.2.250.1.213.1.4.8|${tag}`), [o]);
  t.same(await ids(`/fhir/Observation?subject=Patient/other-${p}`), []);
});

t.test('date prefixes compare the ranges the values cover', async (t) => {
  const tag = unique('date');
  const jan = await create(observation(tag, { effectiveDateTime: '2023-01-15' }));
  const mar = await create(observation(tag, { effectiveDateTime: '2023-03-10T08:30:00+01:00' }));
  const period = await create(observation(tag, { effectivePeriod: { start: '2023-02-01', end: '2023-02-28' } }));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&date=2023-01`), [jan], 'eq: within January');
  t.same(sorted(await ids(`${base}&date=ge2023-02-01`)), sorted([mar, period]));
  t.same(await ids(`${base}&date=lt2023-02`), [jan]);
  t.same(sorted(await ids(`${base}&date=ne2023-01`)), sorted([mar, period]));
  t.same(await ids(`${base}&date=sa2023-02-28`), [mar]);
  t.same(await ids(`${base}&date=eb2023-02-01`), [jan]);
  t.same(await ids(`${base}&date=2023-03-10T07:30:00Z`), [mar], 'time zones are taken into account');
});

t.test('AND by repetition and OR by comma', async (t) => {
  const tag = unique('andor');
  const a = await create(observation(tag, { effectiveDateTime: '2022-05-01', status: 'final' }));
  const b = await create(observation(tag, { effectiveDateTime: '2022-07-01', status: 'amended' }));
  await create(observation(tag, { effectiveDateTime: '2022-09-01', status: 'cancelled' }));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&date=ge2022-04&date=le2022-06`), [a]);
  t.same(sorted(await ids(`${base}&status=final,amended`)), sorted([a, b]));
});

t.test('quantity search compares values within a unit', async (t) => {
  const tag = unique('qty');
  const kg = await create(observation(tag, { valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }));
  const g = await create(observation(tag, { valueQuantity: { value: 80, unit: 'g', system: 'http://unitsofmeasure.org', code: 'g' } }));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&value-quantity=72.5|http://unitsofmeasure.org|kg`), [kg]);
  t.same(await ids(`${base}&value-quantity=gt70||kg`), [kg]);
  t.same(await ids(`${base}&value-quantity=gt70|http://unitsofmeasure.org|g`), [g]);
  t.same(sorted(await ids(`${base}&value-quantity=gt70`)), sorted([kg, g]), 'without a unit any unit matches');
  t.same(await ids(`${base}&value-quantity=72`), [], 'the precision of 72 is [71.5, 72.5)');
});

t.test('uri :below and :above match by path', async (t) => {
  const tag = unique('uri');
  const a = await create({ resourceType: 'DocumentReference', status: 'current', identifier: [{ system: 'urn:tag', value: tag }], content: [{ attachment: { url: `http://example.org/docs/${tag}/a.pdf` } }] });
  const base = `/fhir/DocumentReference?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&location:below=http://example.org/docs/${tag}`), [a]);
  t.same(await ids(`${base}&location:above=http://example.org/docs/${tag}/a.pdf/more`), [a]);
  t.same(await ids(`${base}&location=http://example.org/docs/${tag}/a.pdf`), [a]);
});

t.test(':missing finds resources with or without a value', async (t) => {
  const tag = unique('miss');
  const withDate = await create(observation(tag, { effectiveDateTime: '2021-01-01' }));
  const without = await create(observation(tag, {}));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&date:missing=true`), [without]);
  t.same(await ids(`${base}&date:missing=false`), [withDate]);
});

t.test('_id and _lastUpdated', async (t) => {
  const tag = unique('meta');
  const a = await create(observation(tag, {}));
  const b = await create(observation(tag, {}));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(sorted(await ids(`${base}&_id=${a},${b}`)), sorted([a, b]));
  const read = await api.call('GET', `/fhir/Observation/${b}`);
  t.ok((await ids(`${base}&_lastUpdated=ge${read.body.meta.lastUpdated}`)).includes(b));
  t.same(await ids(`${base}&_lastUpdated=gt2999-01-01`), []);
});

t.test('chaining follows references two levels deep', async (t) => {
  const orgName = unique('Clinique');
  const org = await create({ resourceType: 'Organization', name: orgName });
  const p = await create({ resourceType: 'Patient', name: [{ family: unique('Chain') }], managingOrganization: { reference: `Organization/${org}` } });
  const doc = await create({ resourceType: 'DocumentReference', status: 'current', subject: { reference: `Patient/${p}` }, content: [{ attachment: { contentType: 'text/plain' } }] });
  t.same(await ids(`/fhir/DocumentReference?patient.organization.name=${orgName}`), [doc]);
  t.same(await ids(`/fhir/DocumentReference?subject:Patient.organization.name=${orgName}`), [doc]);
  t.same(await ids(`/fhir/DocumentReference?patient.organization.name=${orgName}nope`), []);
});

t.test('a chain through a reference of several target types must name the type', async (t) => {
  const r = await api.call('GET', '/fhir/DocumentReference?subject.name=x');
  t.equal(r.status, 400);
});

t.test('_has finds resources that others point at', async (t) => {
  const tag = unique('has');
  const p = await create({ resourceType: 'Patient', name: [{ family: unique('Has') }] });
  const other = await create({ resourceType: 'Patient', name: [{ family: unique('Has') }] });
  await create(observation(tag, { subject: { reference: `Patient/${p}` }, code: { coding: [{ system: 'http://loinc.org', code: tag }] } }));
  t.same(await ids(`/fhir/Patient?_has:Observation:patient:code=${tag}`), [p]);
  t.notOk((await ids(`/fhir/Patient?_has:Observation:patient:code=${tag}`)).includes(other));
});

t.test('_include adds referenced resources and _revinclude referring ones, marked as include', async (t) => {
  const p = await create({ resourceType: 'Patient', name: [{ family: unique('Inc') }] });
  const tag = unique('inc');
  const o = await create(observation(tag, { subject: { reference: `Patient/${p}` } }));
  const inc = await api.call('GET', `/fhir/Observation?identifier=urn:tag|${tag}&_include=Observation:subject`);
  t.same(inc.body.entry.map((e: any) => [e.search.mode, e.resource.id]), [['match', o], ['include', p]]);
  const rev = await api.call('GET', `/fhir/Patient?_id=${p}&_revinclude=Observation:subject`);
  t.same(rev.body.entry.map((e: any) => [e.search.mode, e.resource.id]), [['match', p], ['include', o]]);
});

t.test('_include:iterate follows the included resources too', async (t) => {
  const org = await create({ resourceType: 'Organization', name: unique('Iter') });
  const p = await create({ resourceType: 'Patient', managingOrganization: { reference: `Organization/${org}` } });
  const tag = unique('iter');
  await create(observation(tag, { subject: { reference: `Patient/${p}` } }));
  const r = await api.call('GET', `/fhir/Observation?identifier=urn:tag|${tag}&_include=Observation:subject&_include:iterate=Patient:organization`);
  t.same(sorted(r.body.entry.filter((e: any) => e.search.mode === 'include').map((e: any) => e.resource.id)), sorted([p, org]));
});

t.test('_sort orders by several keys, ascending and descending', async (t) => {
  const given = unique('sort');
  const b1 = await create({ resourceType: 'Patient', name: [{ family: 'B', given: [given] }], birthDate: '1990-01-01' });
  const a2 = await create({ resourceType: 'Patient', name: [{ family: 'A', given: [given] }], birthDate: '1980-01-01' });
  const b3 = await create({ resourceType: 'Patient', name: [{ family: 'B', given: [given] }], birthDate: '2000-01-01' });
  t.same(await ids(`/fhir/Patient?given=${given}&_sort=family,-birthdate`), [a2, b3, b1]);
  t.same(await ids(`/fhir/Patient?given=${given}&_sort=-family,birthdate`), [b1, b3, a2]);
});

t.test('_sort=-_id orders by id descending, also across pages', async (t) => {
  const given = unique('byid');
  const made: string[] = [];
  for (let i = 0; i < 5; i++) made.push(await create({ resourceType: 'Patient', name: [{ family: 'Id', given: [given] }] }));
  const descending = [...made].sort().reverse();
  t.same(await ids(`/fhir/Patient?given=${given}&_sort=-_id`), descending);
  const first = await api.call('GET', `/fhir/Patient?given=${given}&_sort=-_id&_count=2`);
  const next = first.body.link.find((l: any) => l.relation === 'next').url.replace(/^https?:\/\/[^/]+/, '');
  t.same([...matchIds(first.body), ...matchIds((await api.call('GET', next)).body)], descending.slice(0, 4));
});

t.test('paging with next links visits every match once while others write', async (t) => {
  const tag = unique('page');
  const created: string[] = [];
  for (let i = 0; i < 7; i++) created.push(await create(observation(tag, {})));
  const seen: string[] = [];
  let url: string | undefined = `/fhir/Observation?identifier=urn:tag|${tag}&_count=3`;
  while (url) {
    const r = await api.call('GET', url);
    seen.push(...matchIds(r.body));
    await create(observation(tag, {}));
    const next = r.body.link.find((l: any) => l.relation === 'next')?.url;
    url = next ? next.replace(/^https?:\/\/[^/]+/, '') : undefined;
  }
  t.equal(new Set(seen).size, seen.length, 'no repeats');
  for (const id of created) t.ok(seen.includes(id));
});

t.test('_total=accurate counts all matches; by default no total is given', async (t) => {
  const tag = unique('total');
  for (let i = 0; i < 4; i++) await create(observation(tag, {}));
  const r = await api.call('GET', `/fhir/Observation?identifier=urn:tag|${tag}&_count=2&_total=accurate`);
  t.equal(r.body.total, 4);
  t.equal(matchIds(r.body).length, 2);
  const none = await api.call('GET', `/fhir/Observation?identifier=urn:tag|${tag}&_count=2`);
  t.equal(none.body.total, undefined);
});

t.test('_summary=count gives only the total', async (t) => {
  const tag = unique('count');
  for (let i = 0; i < 3; i++) await create(observation(tag, {}));
  const r = await api.call('GET', `/fhir/Observation?identifier=urn:tag|${tag}&_summary=count`);
  t.equal(r.body.total, 3);
  t.same(r.body.entry, []);
});

t.test('_summary=true keeps summary elements and marks the resource SUBSETTED', async (t) => {
  const family = unique('Sum');
  await create({ resourceType: 'Patient', name: [{ family }], contact: [{ name: { family: 'X' } }], text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } });
  const r = await api.call('GET', `/fhir/Patient?family=${family}&_summary=true`);
  const res = r.body.entry[0].resource;
  t.ok(res.name);
  t.notOk(res.contact, 'contact is not a summary element');
  t.notOk(res.text);
  t.ok(res.meta.tag.some((tg: any) => tg.code === 'SUBSETTED'));
});

t.test('_elements keeps the listed elements', async (t) => {
  const family = unique('Elem');
  await create({ resourceType: 'Patient', name: [{ family }], gender: 'other', birthDate: '2000-01-01' });
  const r = await api.call('GET', `/fhir/Patient?family=${family}&_elements=gender`);
  const res = r.body.entry[0].resource;
  t.equal(res.gender, 'other');
  t.notOk(res.birthDate);
  t.notOk(res.name);
});

t.test('an unknown parameter is ignored and reported under lenient handling', async (t) => {
  const r = await api.call('GET', '/fhir/Patient?_count=1&nonsense=1');
  t.equal(r.status, 200);
  const outcome = r.body.entry.find((e: any) => e.search.mode === 'outcome');
  t.match(outcome.resource.issue[0].diagnostics, /nonsense/);
});

t.test('an unknown parameter answers 400 under Prefer: handling=strict', async (t) => {
  const r = await api.call('GET', '/fhir/Patient?nonsense=1', undefined, { prefer: 'handling=strict' });
  t.equal(r.status, 400);
  t.same(r.body.issue[0].expression, ['nonsense']);
});

t.test('an unknown modifier answers 400', async (t) => {
  const r = await api.call('GET', '/fhir/Patient?name:sounds-like=x');
  t.equal(r.status, 400);
});

t.test('a malformed date answers 400 naming the parameter', async (t) => {
  const r = await api.call('GET', '/fhir/Observation?date=ge2023-13-45');
  t.equal(r.status, 400);
  t.same(r.body.issue[0].expression, ['date']);
});

t.test('search by POST _search with a form body', async (t) => {
  const family = unique('Post');
  const a = await create({ resourceType: 'Patient', name: [{ family }] });
  const r = await api.app.inject({ method: 'POST', url: '/fhir/Patient/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `family=${family}` });
  t.equal(r.statusCode, 200);
  t.same(matchIds(JSON.parse(r.body)), [a]);
});

t.test('search entries carry a fullUrl and a self link', async (t) => {
  const family = unique('Full');
  const a = await create({ resourceType: 'Patient', name: [{ family }] });
  const r = await api.call('GET', `/fhir/Patient?family=${family}`);
  t.match(r.body.entry[0].fullUrl, new RegExp(`/fhir/Patient/${a}$`));
  t.match(r.body.link[0].url, /\/fhir\/Patient\?family=/);
  t.equal(r.body.type, 'searchset');
});

t.test('impossible dates and times in a search answer 400', async (t) => {
  t.equal((await api.call('GET', '/fhir/Patient?birthdate=ge2020-02-30')).status, 400);
  t.equal((await api.call('GET', '/fhir/Observation?date=2023-03-10T25:00:00Z')).status, 400);
  t.equal((await api.call('GET', '/fhir/Patient?birthdate=2024-02-29')).status, 200, 'a leap day exists');
});

t.test('_content finds a resource by words anywhere in it, ignoring case and accents, each word as a prefix', async (t) => {
  const tag = unique('cont');
  const match = await create(observation(tag, { note: [{ text: 'Diabète insulinodépendant, suivi trimestriel' }] }));
  await create(observation(tag, { note: [{ text: 'Hypertension artérielle' }] }));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&_content=DIABETE`), [match]);
  t.same(await ids(`${base}&_content=diab%20insulino`), [match], 'every word must be there');
  t.same(await ids(`${base}&_content=diabete%20arterielle`), [], 'not one word of two');
});

t.test('_content values separated by commas are alternatives', async (t) => {
  const tag = unique('cor');
  const a = await create(observation(tag, { note: [{ text: 'asthme' }] }));
  const b = await create(observation(tag, { note: [{ text: 'eczéma' }] }));
  t.same(sorted(await ids(`/fhir/Observation?identifier=urn:tag|${tag}&_content=asthme,eczema`)), sorted([a, b]));
});

t.test('_text searches the narrative only', async (t) => {
  const tag = unique('txt');
  const narrated = await create(observation(tag, { text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Fracture du <b>radius</b> gauche</p></div>' } }));
  await create(observation(tag, { note: [{ text: 'radius' }] }));
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&_text=radius`), [narrated]);
  t.same(await ids(`${base}&_text=fracture%20gauche`), [narrated]);
});

t.test('_content is indexed again when a resource changes', async (t) => {
  const tag = unique('upd');
  const id = await create(observation(tag, { note: [{ text: 'ancien' }] }));
  const current = (await api.call('GET', `/fhir/Observation/${id}`)).body;
  t.equal((await api.call('PUT', `/fhir/Observation/${id}`, { ...current, note: [{ text: 'nouveau' }] })).status, 200);
  const base = `/fhir/Observation?identifier=urn:tag|${tag}`;
  t.same(await ids(`${base}&_content=nouveau`), [id]);
  t.same(await ids(`${base}&_content=ancien`), []);
});

t.test('a _content value with no word in it answers 400, and a modifier on it too', async (t) => {
  t.equal((await api.call('GET', '/fhir/Observation?_content=%2C%2E')).status, 400);
  t.equal((await api.call('GET', '/fhir/Observation?_content:exact=asthme')).status, 400);
});

t.test('the CapabilityStatement lists _text and _content', async (t) => {
  const r = await api.call('GET', '/fhir/metadata');
  const observationEntry = r.body.rest[0].resource.find((x: { type: string }) => x.type === 'Observation');
  const names = observationEntry.searchParam.map((p: { name: string }) => p.name);
  t.ok(names.includes('_text') && names.includes('_content'));
});

t.test('token :in finds codes of a value set, by system and code', async (t) => {
  const tag = unique('vsin');
  const vital = await create(observation(tag, { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }] }));
  await create(observation(tag, { category: [{ coding: [{ system: 'urn:other', code: 'vital-signs' }] }] }));
  t.same(await ids(`/fhir/Observation?identifier=urn:tag|${tag}&category:in=http://hl7.org/fhir/ValueSet/observation-category`), [vital]);
});

t.test('token :not-in finds resources with no code of the value set', async (t) => {
  const tag = unique('vsnot');
  await create(observation(tag, { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }] }));
  const other = await create(observation(tag, { category: [{ coding: [{ system: 'urn:other', code: 'laboratory' }] }] }));
  t.same(await ids(`/fhir/Observation?identifier=urn:tag|${tag}&category:not-in=http://hl7.org/fhir/ValueSet/observation-category`), [other]);
});

t.test('token :in matches code elements, which carry no system', async (t) => {
  const tag = unique('vscode');
  const a = await create(observation(tag, { status: 'final' }));
  t.same(await ids(`/fhir/Observation?identifier=urn:tag|${tag}&status:in=http://hl7.org/fhir/ValueSet/observation-status`), [a]);
});

t.test('token :in with a value set that cannot be enumerated answers 400', async (t) => {
  const r = await api.call('GET', '/fhir/Observation?category:in=http://example.org/ValueSet/unknown');
  t.equal(r.status, 400);
  t.match(r.body.issue[0].diagnostics, /cannot be enumerated|unknown/);
});

const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
/** A Consent for a purpose of use (v3-ActReason, whose concepts nest: TREAT > ETREAT > BTG). */
const consentFor = (tag: string, purpose: string) => ({
  resourceType: 'Consent',
  identifier: [{ system: 'urn:tag', value: tag }],
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: { purpose: [{ system: ACT_REASON, code: purpose }] },
});

t.test('token :below finds the code and every code under it in its code system', async (t) => {
  const tag = unique('below');
  const [treat, etreat, btg] = [await create(consentFor(tag, 'TREAT')), await create(consentFor(tag, 'ETREAT')), await create(consentFor(tag, 'BTG'))];
  await create(consentFor(tag, 'HOPERAT'));
  t.same(await ids(`/fhir/Consent?identifier=urn:tag|${tag}&purpose:below=${ACT_REASON}|TREAT`), sorted([treat, etreat, btg]));
  t.same(await ids(`/fhir/Consent?identifier=urn:tag|${tag}&purpose:below=${ACT_REASON}|ETREAT`), sorted([etreat, btg]));
});

t.test('token :above finds the code and every code above it', async (t) => {
  const tag = unique('above');
  const [treat, etreat, btg] = [await create(consentFor(tag, 'TREAT')), await create(consentFor(tag, 'ETREAT')), await create(consentFor(tag, 'BTG'))];
  await create(consentFor(tag, 'HOPERAT'));
  t.same(await ids(`/fhir/Consent?identifier=urn:tag|${tag}&purpose:above=${ACT_REASON}|BTG`), sorted([treat, etreat, btg]));
  t.same(await ids(`/fhir/Consent?identifier=urn:tag|${tag}&purpose:above=${ACT_REASON}|TREAT`), [treat]);
});

t.test('token :below in a code system without a known hierarchy answers 400 saying so', async (t) => {
  const r = await api.call('GET', '/fhir/Observation?code:below=http://loinc.org|2339-0');
  t.equal(r.status, 400);
  t.match(r.body.issue[0].diagnostics, /no hierarchy of http:\/\/loinc.org/);
  t.equal((await api.call('GET', '/fhir/Observation?code:below=2339-0')).status, 400, 'a code without its system too');
});

t.test('AuditEvent offers no word search: it is indexed on every read and searched by patient, agent and date', async (t) => {
  const r = await api.app.inject({ method: 'GET', url: '/fhir/AuditEvent?_content=lecture', headers: { prefer: 'handling=strict' } });
  t.equal(r.statusCode, 400);
});
