// resourceFacts on hand-written FHIR JSON fixtures with French codes (test/access/fixtures/).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import type { Resource } from '@medplum/fhirtypes';
import { resourceFacts } from '../../src/access/index.ts';
import { matrix } from './support.ts';

function fixture(name: string): Resource {
  return JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8')) as Resource;
}

const INS = '279035121518989';

t.test('a masked discharge letter gives its dossier, class, type, contained author and mask', async (t) => {
  t.same(resourceFacts(fixture('discharge-letter-masked'), matrix), {
    type: 'DocumentReference',
    dossier: INS,
    classCode: '10',
    typeCode: '11490-0',
    authors: ['10001234567'],
    masked: true,
    invisibleToPatient: false,
    invisibleToRepresentatives: false,
  });
});

t.test('NOS canonical URLs count as the same systems as their urn:oid', async (t) => {
  const facts = resourceFacts(fixture('lab-report-nos-invisible'), matrix);
  t.same([facts.classCode, facts.typeCode, facts.invisibleToPatient], ['10', '11502-2', true]);
});

t.test('authors come from Practitioner/<rpps> references and RPPS identifiers; unresolvable ones are left out', async (t) => {
  t.same(resourceFacts(fixture('lab-report-nos-invisible'), matrix).authors, ['10001234567', '10009876543']);
});

t.test('a document without a category takes the class of its type, preferring a type the table knows', async (t) => {
  const facts = resourceFacts(fixture('kine-prescription-no-category'), matrix);
  t.same([facts.classCode, facts.typeCode], ['42', 'PRESC-KINE']);
});

t.test('a contained PractitionerRole leads to its contained Practitioner’s RPPS', async (t) => {
  t.same(resourceFacts(fixture('kine-prescription-no-category'), matrix).authors, ['10005550001']);
});

t.test('INVISIBLE_REPRESENTANTS_LEGAUX in securityLabel sets the representatives flag', async (t) => {
  t.equal(resourceFacts(fixture('kine-prescription-no-category'), matrix).invisibleToRepresentatives, true);
});

t.test("a patient's upload has the patient as author", async (t) => {
  const facts = resourceFacts(fixture('patient-upload'), matrix);
  t.same([facts.classCode, facts.authors], ['90', [`Patient/${INS}`]]);
});

t.test('a lab Observation is a report of the lab-report type, authored by its performer', async (t) => {
  const facts = resourceFacts(fixture('observation-lab'), matrix);
  t.same([facts.dossier, facts.classCode, facts.typeCode, facts.authors], [INS, '10', '11502-2', ['10001234567']]);
});

t.test('an Immunization is an administered treatment, authored by performer.actor', async (t) => {
  const facts = resourceFacts(fixture('immunization'), matrix);
  t.same([facts.dossier, facts.classCode, facts.authors], [INS, '45', ['10007770001']]);
});

t.test('the Patient resource is administrative data of its own dossier', async (t) => {
  const facts = resourceFacts(fixture('patient'), matrix);
  t.same([facts.dossier, facts.classCode, facts.authors], [INS, '95', []]);
});

t.test('a patient-control Consent has no class, so only the patient and its author see it', async (t) => {
  const facts = resourceFacts(fixture('consent-block'), matrix);
  t.same([facts.dossier, facts.classCode, facts.authors], [INS, undefined, [`Patient/${INS}`]]);
});

t.test('an advance-directive Consent is a summary', async (t) => {
  t.equal(resourceFacts(fixture('consent-advance-directive'), matrix).classCode, '11');
});

t.test('a Practitioner belongs to no dossier', async (t) => {
  t.equal(resourceFacts(fixture('practitioner'), matrix).dossier, undefined);
});

t.test('a subject that is not a relative Patient reference gives no dossier', async (t) => {
  const subjects = [{ reference: 'Group/g1' }, { reference: 'https://elsewhere.example/fhir/Patient/p1' }, { identifier: { system: 'urn:oid:1.2.250.1.213.1.4.10', value: INS } }];
  t.same(
    subjects.map((subject) => resourceFacts({ resourceType: 'Observation', status: 'final', code: {}, subject } as Resource, matrix).dossier),
    [undefined, undefined, undefined],
  );
});

t.test('a versioned Patient reference still names the dossier', async (t) => {
  t.equal(resourceFacts({ resourceType: 'Condition', subject: { reference: 'Patient/p1/_history/3' } } as Resource, matrix).dossier, 'p1');
});

t.test('visibility codes in another system are ignored', async (t) => {
  const r = { resourceType: 'Condition', subject: { reference: 'Patient/p1' }, meta: { security: [{ system: 'http://example.org', code: 'MASQUE_PS' }] } } as Resource;
  t.equal(resourceFacts(r, matrix).masked, false);
});

t.test('a type the class table does not know has no class', async (t) => {
  t.equal(resourceFacts({ resourceType: 'Basic', subject: { reference: 'Patient/p1' }, code: {} } as Resource, matrix).classCode, undefined);
});

t.test('without tables, resourceFacts uses the shipped matrix', async (t) => {
  t.equal(resourceFacts(fixture('immunization')).classCode, '45');
});
