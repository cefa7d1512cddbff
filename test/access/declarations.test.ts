// What a patient or legal representative declares in their own dossier (allergies, conditions,
// treatments, observations, vaccinations: issue 6), as the matrix's create rules say, authored
// by themselves only. Facts come from real FHIR JSON through resourceFacts, as the gate does.
import type { Resource } from '@medplum/fhirtypes';
import t from 'tap';
import { decideAccess, resourceFacts } from '../../src/access/index.ts';
import type { Actor, DossierFacts } from '../../src/access/index.ts';
import { DOC_RPPS, PATIENT, dossier, matrix } from './support.ts';

const patient: Actor = { kind: 'patient', patientId: PATIENT };
const representative: Actor = { kind: 'representative', patientIds: [PATIENT] };
const me = { reference: `Patient/${PATIENT}` };
const doctorRef = { reference: `Practitioner/${DOC_RPPS}` };

/** Each declarable type, as the patient's $declare writes it (the patient as its author where it has one). */
const DECLARATIONS: Record<string, Record<string, unknown>> = {
  AllergyIntolerance: { resourceType: 'AllergyIntolerance', patient: me, recorder: me, asserter: me, code: { text: 'Latex' } },
  Condition: { resourceType: 'Condition', subject: me, recorder: me, asserter: me, code: { text: 'Asthme' } },
  MedicationStatement: { resourceType: 'MedicationStatement', status: 'active', subject: me, informationSource: me, medicationCodeableConcept: { text: 'Ventoline' } },
  Observation: { resourceType: 'Observation', status: 'final', subject: me, performer: [me], code: { text: 'Groupe sanguin' } },
  Immunization: { resourceType: 'Immunization', status: 'completed', patient: me, primarySource: false, vaccineCode: { text: 'DTP' } },
};

const create = (actor: Actor, json: Record<string, unknown>, facts: DossierFacts = dossier({ minor: true })) =>
  decideAccess({ actor, dossier: facts, resource: resourceFacts(json as unknown as Resource, matrix), action: 'create', mode: 'normal', matrix });

t.test('a patient may declare each declarable type in their own dossier', async (t) => {
  for (const [type, json] of Object.entries(DECLARATIONS)) t.same(create(patient, json), { allowed: true, reason: 'may-create' }, type);
});

t.test("a legal representative may declare each declarable type in the minor's dossier", async (t) => {
  for (const [type, json] of Object.entries(DECLARATIONS)) t.equal(create(representative, json).allowed, true, type);
});

t.test("a patient's declaration naming a professional as its author is refused", async (t) => {
  t.same(create(patient, { ...DECLARATIONS.Condition, recorder: doctorRef }), { allowed: false, reason: 'create-not-permitted', visibleAs: 'forbidden' });
  t.equal(create(patient, { ...DECLARATIONS.Observation, performer: [me, doctorRef] }).allowed, false, 'not even next to the patient');
});

t.test("a patient's declaration may leave the author out", async (t) => {
  const { recorder: _r, asserter: _a, ...anonymous } = DECLARATIONS.AllergyIntolerance;
  t.equal(create(patient, anonymous).allowed, true);
});

t.test('a patient may not write what only professionals write, such as a prescription', async (t) => {
  const prescription = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: me, requester: me, medicationCodeableConcept: { text: 'x' } };
  t.equal(create(patient, prescription).reason, 'create-not-permitted');
});

t.test("a patient may not declare anything in someone else's dossier", async (t) => {
  const other = { reference: 'Patient/p2' };
  const decision = create(patient, { ...DECLARATIONS.Condition, subject: other, recorder: other, asserter: other }, dossier({ patientId: 'p2' }));
  t.same(decision, { allowed: false, reason: 'not-own-dossier', visibleAs: 'forbidden' });
});

t.test("a representative's declaration is authored by the minor, whose dossier it is", async (t) => {
  t.equal(create(representative, { ...DECLARATIONS.Condition, recorder: { reference: 'Patient/p9' } }).allowed, false, 'another patient as author is refused');
});

t.test('a representative may not declare once the patient is of age', async (t) => {
  t.equal(create(representative, DECLARATIONS.Condition, dossier({ minor: false })).reason, 'not-minor');
});

t.test("a declared MedicationStatement is the patient's, who may then correct it", async (t) => {
  const facts = resourceFacts(DECLARATIONS.MedicationStatement as unknown as Resource, matrix);
  t.same(facts.authors, [`Patient/${PATIENT}`]);
  t.equal(decideAccess({ actor: patient, dossier: dossier(), resource: facts, action: 'update', mode: 'normal', matrix }).reason, 'author');
});
