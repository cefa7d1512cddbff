// Lists (XDS SubmissionSets and Folders, FHIR List) have a class of their own, 'carnet-list':
// a list names documents and tells what was submitted when, so only the rows that read every
// class whole see lists, and everyone sees the lists they wrote. The search constraint agrees.
import type { Resource } from '@medplum/fhirtypes';
import t from 'tap';
import { accessIndex, decideAccess, resourceFacts, searchConstraint } from '../../src/access/index.ts';
import type { AccessMode, Actor, Cells } from '../../src/access/index.ts';
import { DOC_RPPS, OTHER_RPPS, PATIENT, dossier, evaluate, matrix } from './support.ts';

const LIST_CLASS = 'carnet-list';

/** A SubmissionSet as the MHD mapping stores it: its author a contained PractitionerRole. */
function submissionSet(authorRpps: string): Record<string, unknown> {
  return {
    resourceType: 'List',
    status: 'current',
    mode: 'working',
    code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] },
    subject: { reference: `Patient/${PATIENT}` },
    contained: [
      { resourceType: 'Practitioner', id: 'author0-person', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: /^\d{11}$/.test(authorRpps) ? `8${authorRpps}` : authorRpps }] },
      { resourceType: 'PractitionerRole', id: 'author0', practitioner: { reference: '#author0-person' } },
    ],
    source: { reference: '#author0' },
    entry: [{ item: { reference: 'DocumentReference/d1' } }],
  };
}

const folder = { resourceType: 'List', status: 'current', mode: 'working', subject: { reference: `Patient/${PATIENT}` }, code: { coding: [{ code: 'folder' }] } };

const doctor: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '10', specialty: 'SM26' };
const pharmacist: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '21' };
const adminStaff: Actor = { kind: 'professional', rpps: 'HOSP42', profession: 'SECRETARIAT_MEDICAL', role: 'administrative-staff' };
const regulator: Actor = { kind: 'regulator', rpps: DOC_RPPS, profession: '10' };
const patient: Actor = { kind: 'patient', patientId: PATIENT };
const facts = dossier({ authorized: [DOC_RPPS, 'HOSP42'] });

function reads(actor: Actor, json: Record<string, unknown>, mode: AccessMode = 'normal'): boolean {
  const resource = resourceFacts(json as unknown as Resource, matrix);
  const decided = decideAccess({ actor, dossier: facts, resource, action: 'read', mode, matrix }).allowed;
  const constraint = searchConstraint({ actor, dossier: facts, mode, matrix });
  const searched = constraint !== 'deny' && evaluate(constraint, accessIndex(resource));
  if (decided !== searched) throw new Error(`decision and search constraint disagree for ${actor.kind}`);
  return decided;
}

t.test('a List is of the lists class, authored by its source', async (t) => {
  const listFacts = resourceFacts(submissionSet(OTHER_RPPS) as unknown as Resource, matrix);
  t.same([listFacts.classCode, listFacts.authors, listFacts.dossier], [LIST_CLASS, [OTHER_RPPS], PATIENT]);
});

t.test("an authorised doctor sees the dossier's submission sets and folders", async (t) => {
  t.same([reads(doctor, submissionSet(OTHER_RPPS)), reads(doctor, folder)], [true, true]);
});

t.test("a pharmacist does not see others' submission sets or folders", async (t) => {
  t.same([reads(pharmacist, submissionSet(OTHER_RPPS)), reads(pharmacist, folder)], [false, false]);
});

t.test('a pharmacist sees the submission sets they wrote', async (t) => {
  t.equal(reads(pharmacist, submissionSet(DOC_RPPS)), true);
});

t.test('administrative staff see no lists but their own', async (t) => {
  t.same([reads(adminStaff, submissionSet(OTHER_RPPS)), reads(adminStaff, submissionSet('HOSP42'))], [false, true]);
});

t.test('the regulator sees lists in emergency-call mode', async (t) => {
  t.equal(reads(regulator, submissionSet(OTHER_RPPS), 'emergency-call'), true);
});

t.test('the patient sees every list of their dossier', async (t) => {
  t.same([reads(patient, submissionSet(OTHER_RPPS)), reads(patient, folder)], [true, true]);
});

t.test('in the matrix, exactly the rows that read every other class whole see lists', async (t) => {
  const rows: { label: string; read: Cells }[] = [...matrix.professions, matrix.otherProfessions];
  for (const row of rows) {
    const whole = matrix.classes.filter((c) => c !== LIST_CLASS).every((c) => row.read[c] === 'all');
    t.equal(row.read[LIST_CLASS], whole ? 'all' : 'none', row.label);
  }
});

t.test('every actor that may write documents may write the lists that carry them', async (t) => {
  const list = resourceFacts(submissionSet(OTHER_RPPS) as unknown as Resource, matrix);
  const actors: Actor[] = [doctor, pharmacist, adminStaff, regulator, patient, { kind: 'representative', patientIds: [PATIENT] }, { kind: 'care-history-feed' }];
  for (const actor of actors) {
    const mode: AccessMode = actor.kind === 'regulator' ? 'emergency-call' : 'normal';
    const minorFacts = actor.kind === 'representative' ? dossier({ ...facts, minor: true }) : facts;
    t.equal(decideAccess({ actor, dossier: minorFacts, resource: list, action: 'create', mode, matrix }).allowed, true, actor.kind);
  }
});
