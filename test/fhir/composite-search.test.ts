// Composite search parameters over HTTP: each component must match within the same element
// (the observation itself, one of its components, one relatesTo), on both stores.
import t from 'tap';
import { matchIds, openTestApp, type TestApp } from '../support/app.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp();
});
t.teardown(() => api.close());

let n = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${++n}`;
const sorted = (a: string[]) => [...a].sort();

async function create(body: Record<string, unknown>): Promise<string> {
  const r = await api.call('POST', `/fhir/${body.resourceType}`, body);
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** Ids matching `params` (values URL-encoded here) among the resources tagged `tag`. */
async function ids(type: string, tag: string, params: Record<string, string>): Promise<string[]> {
  const query = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  const r = await api.call('GET', `/fhir/${type}?identifier=urn:tag|${tag}&${query}`);
  if (r.status !== 200) throw new Error(`search failed: ${r.status} ${JSON.stringify(r.body)}`);
  return matchIds(r.body);
}

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const loinc = (code: string) => ({ coding: [{ system: LOINC, code }] });
const mmHg = (value: number) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });

function observation(tag: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { resourceType: 'Observation', status: 'final', identifier: [{ system: 'urn:tag', value: tag }], ...extra };
}

/** A blood pressure panel: systolic and diastolic as components. */
function bloodPressure(tag: string, systolic: number, diastolic: number): Record<string, unknown> {
  return observation(tag, {
    code: loinc('85354-9'),
    component: [
      { code: loinc('8480-6'), valueQuantity: mmHg(systolic) },
      { code: loinc('8462-4'), valueQuantity: mmHg(diastolic) },
    ],
  });
}

t.test('code-value-quantity matches the code and the value of the same observation', async (t) => {
  const tag = unique('cvq');
  const high = await create(observation(tag, { code: loinc('8480-6'), valueQuantity: mmHg(150) }));
  await create(observation(tag, { code: loinc('8480-6'), valueQuantity: mmHg(110) }));
  await create(observation(tag, { code: loinc('8462-4'), valueQuantity: mmHg(150) }));
  t.same(await ids('Observation', tag, { 'code-value-quantity': `${LOINC}|8480-6$gt140` }), [high]);
});

t.test('code-value-quantity compares within the unit given in the value', async (t) => {
  const tag = unique('cvqu');
  const kpa = await create(observation(tag, { code: loinc('8480-6'), valueQuantity: { value: 150, system: UCUM, code: 'kPa' } }));
  const mm = await create(observation(tag, { code: loinc('8480-6'), valueQuantity: mmHg(150) }));
  t.same(await ids('Observation', tag, { 'code-value-quantity': `${LOINC}|8480-6$150|${UCUM}|mm[Hg]` }), [mm]);
  t.same(await ids('Observation', tag, { 'code-value-quantity': `8480-6$150||kPa` }), [kpa]);
  t.same(sorted(await ids('Observation', tag, { 'code-value-quantity': `8480-6$150` })), sorted([kpa, mm]), 'without a unit any unit matches');
});

t.test('component-code-value-quantity does not pair one component code with another component value', async (t) => {
  const tag = unique('ccvq');
  const bp = await create(bloodPressure(tag, 150, 85));
  t.same(await ids('Observation', tag, { 'component-code-value-quantity': `${LOINC}|8480-6$gt140` }), [bp], 'systolic above 140');
  t.same(await ids('Observation', tag, { 'component-code-value-quantity': `${LOINC}|8462-4$gt140` }), [], 'diastolic is 85, though the systolic is above 140');
  t.same(await ids('Observation', tag, { 'component-code-value-quantity': `${LOINC}|8462-4$lt90` }), [bp]);
});

t.test('combo-code-value-quantity matches the observation value or a component value', async (t) => {
  const tag = unique('combo');
  const panel = await create(bloodPressure(tag, 150, 85));
  const single = await create(observation(tag, { code: loinc('8480-6'), valueQuantity: mmHg(145) }));
  t.same(sorted(await ids('Observation', tag, { 'combo-code-value-quantity': `${LOINC}|8480-6$ge145` })), sorted([panel, single]));
  t.same(await ids('Observation', tag, { 'combo-code-value-quantity': `${LOINC}|8480-6$gt146` }), [panel]);
});

t.test('code-value-concept matches a coded value together with the code', async (t) => {
  const tag = unique('cvc');
  const positive = await create(observation(tag, { code: loinc('94500-6'), valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '10828004' }] } }));
  await create(observation(tag, { code: loinc('94500-6'), valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '260385009' }] } }));
  await create(observation(tag, { code: loinc('94309-2'), valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '10828004' }] } }));
  t.same(await ids('Observation', tag, { 'code-value-concept': `${LOINC}|94500-6$http://snomed.info/sct|10828004` }), [positive]);
  t.same(await ids('Observation', tag, { 'code-value-concept': `94500-6$10828004` }), [positive], 'codes without systems');
});

t.test('component-code-value-concept correlates inside each component', async (t) => {
  const tag = unique('ccvc');
  const obs = await create(
    observation(tag, {
      code: loinc('55284-4'),
      component: [
        { code: loinc('A'), valueCodeableConcept: { coding: [{ system: 'urn:v', code: 'yes' }] } },
        { code: loinc('B'), valueCodeableConcept: { coding: [{ system: 'urn:v', code: 'no' }] } },
      ],
    }),
  );
  t.same(await ids('Observation', tag, { 'component-code-value-concept': `${LOINC}|A$urn:v|yes` }), [obs]);
  t.same(await ids('Observation', tag, { 'component-code-value-concept': `${LOINC}|A$urn:v|no` }), []);
});

t.test('code-value-date compares the date of the observation with that code', async (t) => {
  const tag = unique('cvd');
  const recent = await create(observation(tag, { code: loinc('21112-8'), valueDateTime: '2024-05-01' }));
  await create(observation(tag, { code: loinc('21112-8'), valueDateTime: '1990-05-01' }));
  await create(observation(tag, { code: loinc('99999-9'), valueDateTime: '2024-05-01' }));
  t.same(await ids('Observation', tag, { 'code-value-date': `${LOINC}|21112-8$ge2024-01-01` }), [recent]);
  t.same(await ids('Observation', tag, { 'code-value-date': `${LOINC}|21112-8$2024-05` }), [recent]);
});

t.test('code-value-string matches the start of the string, ignoring case and accents', async (t) => {
  const tag = unique('cvs');
  const a = await create(observation(tag, { code: loinc('8251-1'), valueString: 'Fièvre depuis trois jours' }));
  await create(observation(tag, { code: loinc('8252-9'), valueString: 'Fièvre' }));
  t.same(await ids('Observation', tag, { 'code-value-string': `${LOINC}|8251-1$fievre` }), [a]);
});

t.test('an escaped \\$ belongs to the component value', async (t) => {
  const tag = unique('esc');
  const a = await create(observation(tag, { code: loinc('8251-1'), valueString: 'US$ 30' }));
  t.same(await ids('Observation', tag, { 'code-value-string': `${LOINC}|8251-1$us\\$ 30` }), [a]);
});

t.test('composite values separated by commas are alternatives', async (t) => {
  const tag = unique('or');
  const a = await create(observation(tag, { code: loinc('8480-6'), valueQuantity: mmHg(150) }));
  const b = await create(observation(tag, { code: loinc('8462-4'), valueQuantity: mmHg(95) }));
  await create(observation(tag, { code: loinc('8462-4'), valueQuantity: mmHg(70) }));
  t.same(sorted(await ids('Observation', tag, { 'code-value-quantity': `8480-6$gt140,8462-4$gt90` })), sorted([a, b]));
});

t.test('DocumentReference relationship matches the relation code with its target', async (t) => {
  const tag = unique('rel');
  const doc = (extra: Record<string, unknown>) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    identifier: [{ system: 'urn:tag', value: tag }],
    content: [{ attachment: { contentType: 'text/plain' } }],
    ...extra,
  });
  const old = await create(doc({}));
  const other = await create(doc({}));
  const replacing = await create(doc({ relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${old}` } }, { code: 'appends', target: { reference: `DocumentReference/${other}` } }] }));
  t.same(await ids('DocumentReference', tag, { relationship: `replaces$DocumentReference/${old}` }), [replacing]);
  t.same(await ids('DocumentReference', tag, { relationship: `replaces$${old}` }), [replacing], 'the target by id alone');
  t.same(await ids('DocumentReference', tag, { relationship: `replaces$DocumentReference/${other}` }), [], 'appends, not replaces, that one');
});

t.test('a composite value with the wrong number of components answers 400', async (t) => {
  const r = await api.call('GET', `/fhir/Observation?code-value-quantity=${encodeURIComponent(`${LOINC}|8480-6`)}`);
  t.equal(r.status, 400);
  t.same(r.body.issue[0].expression, ['code-value-quantity']);
});

t.test('the CapabilityStatement lists the composite parameters', async (t) => {
  const r = await api.call('GET', '/fhir/metadata');
  const obs = r.body.rest[0].resource.find((x: any) => x.type === 'Observation');
  t.ok(obs.searchParam.some((p: any) => p.name === 'component-code-value-quantity' && p.type === 'composite'));
});
