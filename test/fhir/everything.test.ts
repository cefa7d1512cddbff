// Patient/{id}/$everything: the patient's compartment, paged with cursors, filtered by _type and
// _since, and constrained by the access gate like any search.
import t from 'tap';
import type { AccessGate } from '../../src/fhir/index.ts';
import { OPEN_GATE } from '../../src/fhir/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';

/** Hides Observations coded `secret` from searches, as an access constraint would. */
const HIDING_GATE: AccessGate = {
  ...OPEN_GATE,
  async searchConstraint(_ctx, types) {
    return types.includes('Observation') ? { not: { param: 'code', in: ['c:secret'] } } : undefined;
  },
};

let api: TestApp;
t.before(async () => {
  api = await openTestApp({ fhir: { gate: HIDING_GATE } });
});
t.teardown(() => api.close());

async function create(body: Record<string, unknown>): Promise<string> {
  const r = await api.call('POST', `/fhir/${body.resourceType}`, body);
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

const key = (e: any) => `${e.resource.resourceType}/${e.resource.id}`;
const sorted = (a: string[]) => [...a].sort();

/** Every resource of $everything, following next links; also returns the page count. */
async function everything(url: string, between?: () => Promise<void>): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let pages = 0;
  let next: string | undefined = url;
  while (next) {
    const r = await api.call('GET', next);
    if (r.status !== 200) throw new Error(`$everything failed: ${r.status} ${JSON.stringify(r.body)}`);
    pages++;
    keys.push(...r.body.entry.filter((e: any) => e.search?.mode === 'match').map(key));
    await between?.();
    const link = r.body.link.find((l: any) => l.relation === 'next')?.url;
    next = link ? link.replace(/^https?:\/\/[^/]+/, '') : undefined;
  }
  return { keys, pages };
}

/** A patient with a few resources of their compartment, and one resource of somebody else. */
async function dossier(): Promise<{ patient: string; own: string[]; other: string }> {
  const patient = await create({ resourceType: 'Patient', name: [{ family: 'Everything' }] });
  const other = await create({ resourceType: 'Patient', name: [{ family: 'Other' }] });
  const subject = { reference: `Patient/${patient}` };
  const own = [
    `Observation/${await create({ resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject })}`,
    `Condition/${await create({ resourceType: 'Condition', subject, code: { text: 'asthme' } })}`,
    `AllergyIntolerance/${await create({ resourceType: 'AllergyIntolerance', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] }, patient: subject })}`,
    `DocumentReference/${await create({ resourceType: 'DocumentReference', status: 'current', subject, content: [{ attachment: { contentType: 'text/plain' } }] })}`,
    `List/${await create({ resourceType: 'List', status: 'current', mode: 'working', subject })}`,
    `Immunization/${await create({ resourceType: 'Immunization', status: 'completed', vaccineCode: { text: 'DTP' }, patient: subject, occurrenceDateTime: '2020-01-01' })}`,
  ];
  const otherObs = await create({ resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${other}` } });
  return { patient, own, other: `Observation/${otherObs}` };
}

t.test('$everything returns the patient and every resource of their compartment, and nothing of others', async (t) => {
  const { patient, own, other } = await dossier();
  const r = await api.call('GET', `/fhir/Patient/${patient}/$everything`);
  t.equal(r.status, 200);
  t.equal(r.body.type, 'searchset');
  const keys = r.body.entry.map(key);
  t.equal(keys[0], `Patient/${patient}`, 'the patient comes first');
  t.same(sorted(keys.slice(1)), sorted(own));
  t.notOk(keys.includes(other));
});

t.test('a resource in the compartment through two parameters is returned once', async (t) => {
  const patient = await create({ resourceType: 'Patient', name: [{ family: 'Self' }] });
  const self = await create({ resourceType: 'Observation', status: 'final', code: { text: 'glycémie' }, subject: { reference: `Patient/${patient}` }, performer: [{ reference: `Patient/${patient}` }] });
  const { keys } = await everything(`/fhir/Patient/${patient}/$everything`);
  t.same(keys, [`Patient/${patient}`, `Observation/${self}`]);
});

t.test('a resource the patient only performed is in the compartment', async (t) => {
  const patient = await create({ resourceType: 'Patient', name: [{ family: 'Performer' }] });
  const someone = await create({ resourceType: 'Patient', name: [{ family: 'Child' }] });
  const obs = await create({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${someone}` }, performer: [{ reference: `Patient/${patient}` }] });
  const { keys } = await everything(`/fhir/Patient/${patient}/$everything`);
  t.ok(keys.includes(`Observation/${obs}`));
});

t.test('$everything pages with next links that visit every resource once while others write', async (t) => {
  const { patient, own } = await dossier();
  let added = 0;
  const { keys, pages } = await everything(`/fhir/Patient/${patient}/$everything?_count=2`, async () => {
    added++;
    await create({ resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, code: { text: `new ${added}` } });
  });
  t.ok(pages >= 4, `several pages (${pages})`);
  t.equal(new Set(keys).size, keys.length, 'no repeats');
  for (const k of [`Patient/${patient}`, ...own]) t.ok(keys.includes(k), `${k} was visited`);
});

t.test('next links carry a cursor, not an offset', async (t) => {
  const { patient } = await dossier();
  const r = await api.call('GET', `/fhir/Patient/${patient}/$everything?_count=3`);
  t.equal(r.body.entry.length, 3);
  const next = new URL(r.body.link.find((l: any) => l.relation === 'next').url);
  t.ok(next.searchParams.get('_cursor'));
  t.equal(next.searchParams.get('_count'), '3');
  t.notOk(next.searchParams.has('_offset'));
});

t.test('_type keeps only the listed types', async (t) => {
  const { patient, own } = await dossier();
  const { keys } = await everything(`/fhir/Patient/${patient}/$everything?_type=Observation,Condition`);
  t.same(sorted(keys), sorted(own.filter((k) => k.startsWith('Observation/') || k.startsWith('Condition/'))));
});

t.test('_type naming a type outside the compartment answers 400', async (t) => {
  const patient = await create({ resourceType: 'Patient' });
  const r = await api.call('GET', `/fhir/Patient/${patient}/$everything?_type=Organization`);
  t.equal(r.status, 400);
  t.same(r.body.issue[0].expression, ['_type']);
});

t.test('_since keeps resources changed since that instant', async (t) => {
  const { patient } = await dossier();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const since = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const late = await create({ resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, code: { text: 'late' } });
  const { keys } = await everything(`/fhir/Patient/${patient}/$everything?_since=${encodeURIComponent(since)}`);
  t.same(keys, [`Condition/${late}`]);
});

t.test('POST $everything takes its parameters in a Parameters body', async (t) => {
  const { patient, own } = await dossier();
  const r = await api.call('POST', `/fhir/Patient/${patient}/$everything`, {
    resourceType: 'Parameters',
    parameter: [
      { name: '_type', valueCode: 'Condition' },
      { name: '_count', valueInteger: 5 },
    ],
  });
  t.equal(r.status, 200);
  t.same(r.body.entry.map(key), own.filter((k) => k.startsWith('Condition/')));
});

t.test('$everything of an unknown patient answers 404', async (t) => {
  const r = await api.call('GET', '/fhir/Patient/nobody-here/$everything');
  t.equal(r.status, 404);
  t.equal(r.body.resourceType, 'OperationOutcome');
});

t.test('$everything goes through the access gate: a hidden resource is left out', async (t) => {
  const patient = await create({ resourceType: 'Patient' });
  const subject = { reference: `Patient/${patient}` };
  const shown = await create({ resourceType: 'Observation', status: 'final', code: { coding: [{ code: 'open' }] }, subject });
  const hidden = await create({ resourceType: 'Observation', status: 'final', code: { coding: [{ code: 'secret' }] }, subject });
  const { keys } = await everything(`/fhir/Patient/${patient}/$everything?_count=1`);
  t.ok(keys.includes(`Observation/${shown}`));
  t.notOk(keys.includes(`Observation/${hidden}`));
});

t.test('an unsupported parameter is reported under lenient handling and refused under strict', async (t) => {
  const patient = await create({ resourceType: 'Patient' });
  const lenient = await api.call('GET', `/fhir/Patient/${patient}/$everything?start=2020-01-01`);
  t.equal(lenient.status, 200);
  const outcome = lenient.body.entry.find((e: any) => e.search?.mode === 'outcome');
  t.match(outcome.resource.issue[0].diagnostics, /start/);
  const strict = await api.call('GET', `/fhir/Patient/${patient}/$everything?start=2020-01-01`, undefined, { prefer: 'handling=strict' });
  t.equal(strict.status, 400);
});

t.test('the CapabilityStatement declares $everything on Patient', async (t) => {
  const r = await api.call('GET', '/fhir/metadata');
  const patient = r.body.rest[0].resource.find((x: any) => x.type === 'Patient');
  t.same(patient.operation, [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }]);
});
