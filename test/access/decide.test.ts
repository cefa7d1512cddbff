// One rule per test: the rules of issue 4 and habilitations.md, as decideAccess applies them.
import t from 'tap';
import { REFUSALS, decideAccess, decideLabelChange, decideSelfAuthorisation, dossierRefusal, habilitationsFromJson } from '../../src/access/index.ts';
import type { AccessMode, Action, Actor, DossierFacts, Habilitations, ResourceFacts } from '../../src/access/index.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DOC_RPPS, OTHER_RPPS, PATIENT, dossier, matrix, resource } from './support.ts';

const doctor: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '10', specialty: 'SM26' };
const pharmacist: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '21', pharmacistSection: 'A' };
const biologist: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '21', pharmacistSection: 'G' };
const nurse: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '60' };
const regulator: Actor = { kind: 'regulator', rpps: DOC_RPPS, profession: '10' };
const patient: Actor = { kind: 'patient', patientId: PATIENT };
const representative: Actor = { kind: 'representative', patientIds: [PATIENT] };
const adminStaff: Actor = { kind: 'professional', rpps: 'HOSP-42', profession: 'SECRETARIAT_MEDICAL', role: 'administrative-staff' };
const device: Actor = { kind: 'device', patientId: PATIENT, deviceId: 'scale-1' };
const feed: Actor = { kind: 'care-history-feed' };
const operator: Actor = { kind: 'operator' };

const authorised = dossier({ authorized: [DOC_RPPS] });

interface Ask {
  actor: Actor;
  dossier?: DossierFacts;
  resource?: ResourceFacts;
  action?: Action;
  mode?: AccessMode;
  matrix?: Habilitations;
}

function decide(ask: Ask) {
  return decideAccess({ dossier: authorised, resource: resource(), action: 'read', mode: 'normal', matrix, ...ask });
}

// ---- authorisation, blocking, closing ---------------------------------------------------------

t.test('a doctor authorised by the patient reads a discharge letter', async (t) => {
  t.same(decide({ actor: doctor }), { allowed: true, reason: 'matrix' });
});

t.test('a professional the patient has not authorised is refused as forbidden', async (t) => {
  t.same(decide({ actor: doctor, dossier: dossier() }), { allowed: false, reason: 'not-authorised', visibleAs: 'forbidden' });
});

t.test('the treating doctor counts as authorised without an explicit authorisation', async (t) => {
  t.equal(decide({ actor: doctor, dossier: dossier({ treatingDoctor: DOC_RPPS }) }).allowed, true);
});

t.test('a blocked professional is refused even when also authorised', async (t) => {
  t.same(decide({ actor: doctor, dossier: dossier({ authorized: [DOC_RPPS], blocked: [DOC_RPPS] }) }), { allowed: false, reason: 'blocked', visibleAs: 'forbidden' });
});

t.test('a blocked professional is refused even in break-the-glass mode', async (t) => {
  t.equal(decide({ actor: doctor, dossier: dossier({ blocked: [DOC_RPPS] }), mode: 'break-the-glass' }).reason, 'blocked');
});

t.test('a blocked treating doctor is refused', async (t) => {
  t.equal(decide({ actor: doctor, dossier: dossier({ treatingDoctor: DOC_RPPS, blocked: [DOC_RPPS] }) }).reason, 'blocked');
});

t.test('a blocked regulator is refused in emergency-call mode', async (t) => {
  t.equal(decide({ actor: regulator, dossier: dossier({ blocked: [DOC_RPPS] }), mode: 'emergency-call' }).reason, 'blocked');
});

t.test('nobody reads a closed dossier, not even its patient', async (t) => {
  const closed = dossier({ status: 'closed', authorized: [DOC_RPPS] });
  t.same(
    [doctor, patient].map((actor) => decide({ actor, dossier: closed })),
    [
      { allowed: false, reason: 'dossier-closed', visibleAs: 'forbidden' },
      { allowed: false, reason: 'dossier-closed', visibleAs: 'forbidden' },
    ],
  );
});

t.test('nobody writes to a closed dossier', async (t) => {
  const closed = dossier({ status: 'closed', authorized: [DOC_RPPS] });
  t.equal(decide({ actor: doctor, dossier: closed, action: 'create' }).reason, 'dossier-closed');
});

// ---- the matrix --------------------------------------------------------------------------------

t.test('a pharmacist reads a lab report, a type their row names within reports', async (t) => {
  t.equal(decide({ actor: pharmacist, resource: resource({ typeCode: '11502-2' }) }).allowed, true);
});

t.test('a pharmacist does not see a consultation report, and it answers as absent', async (t) => {
  t.same(decide({ actor: pharmacist, resource: resource({ typeCode: '11488-4' }) }), { allowed: false, reason: 'outside-matrix', visibleAs: 'absent' });
});

t.test('a pharmacist of the biologist section reads every report', async (t) => {
  t.equal(decide({ actor: biologist, resource: resource({ typeCode: '11488-4' }) }).allowed, true);
});

t.test('a pharmacist does not see medical imaging', async (t) => {
  t.equal(decide({ actor: pharmacist, resource: resource({ classCode: '31', typeCode: 'IMG-KOS' }) }).reason, 'outside-matrix');
});

t.test('a nurse reads prescriptions but not dispensations', async (t) => {
  t.same(
    [decide({ actor: nurse, resource: resource({ classCode: '42', typeCode: '57833-6' }) }).allowed, decide({ actor: nurse, resource: resource({ classCode: '43', typeCode: '60593-1' }) }).allowed],
    [true, false],
  );
});

t.test('a profession without a row of its own gets the row for other health professions', async (t) => {
  const technician: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '86' };
  t.same(
    [decide({ actor: technician, resource: resource({ classCode: '11', typeCode: 'SYNTH' }) }).allowed, decide({ actor: technician }).allowed],
    [true, false],
  );
});

t.test('a resource without a class is hidden from professionals, even doctors', async (t) => {
  t.equal(decide({ actor: doctor, resource: resource({ type: 'Consent', classCode: undefined, typeCode: undefined }) }).reason, 'outside-matrix');
});

t.test('the author reads their own resource even outside their row', async (t) => {
  const kineReport = resource({ classCode: '10', typeCode: '11506-3', authors: [DOC_RPPS] });
  t.same(decide({ actor: { kind: 'professional', rpps: DOC_RPPS, profession: '70' }, resource: kineReport }), { allowed: true, reason: 'author' });
});

t.test('a more specific row (by specialty) wins over the profession row, as the data says', async (t) => {
  const file = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'profiles', 'habilitations.json'), 'utf8')) as { professions: unknown[] };
  const types = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'profiles', 'type-class.json'), 'utf8')) as unknown;
  const noImaging = { ...(file.professions[0] as { read: Record<string, unknown> }).read, '31': 'none' };
  file.professions.push({ label: 'médecin du sport (example)', professions: ['10'], specialties: ['SM99'], read: noImaging });
  const custom = habilitationsFromJson(file, types);
  const imaging = resource({ classCode: '31', typeCode: 'IMG-KOS' });
  t.same(
    [decide({ actor: { ...doctor, specialty: 'SM99' }, resource: imaging, matrix: custom }).allowed, decide({ actor: doctor, resource: imaging, matrix: custom }).allowed],
    [false, true],
  );
});

// ---- masking ---------------------------------------------------------------------------------

t.test('a masked document is hidden from an authorised professional, as absent', async (t) => {
  t.same(decide({ actor: doctor, resource: resource({ masked: true }) }), { allowed: false, reason: 'masked', visibleAs: 'absent' });
});

t.test('the author of a masked document still reads it', async (t) => {
  t.equal(decide({ actor: doctor, resource: resource({ masked: true, authors: [DOC_RPPS] }) }).reason, 'author');
});

t.test('the treating doctor still reads a masked document', async (t) => {
  t.same(decide({ actor: doctor, dossier: dossier({ treatingDoctor: DOC_RPPS }), resource: resource({ masked: true }) }), { allowed: true, reason: 'treating-doctor' });
});

t.test('break-the-glass shows masked documents', async (t) => {
  t.same(decide({ actor: doctor, dossier: dossier(), resource: resource({ masked: true }), mode: 'break-the-glass' }), { allowed: true, reason: 'masked-visible-in-mode' });
});

t.test('the regulator does not see masked documents', async (t) => {
  t.equal(decide({ actor: regulator, dossier: dossier(), resource: resource({ masked: true }), mode: 'emergency-call' }).reason, 'masked');
});

t.test('masking does not hide a document from its patient', async (t) => {
  t.equal(decide({ actor: patient, resource: resource({ masked: true }) }).allowed, true);
});

// ---- emergency modes ---------------------------------------------------------------------------

t.test('break-the-glass needs no authorisation', async (t) => {
  t.equal(decide({ actor: doctor, dossier: dossier(), mode: 'break-the-glass' }).allowed, true);
});

t.test('break-the-glass is refused when the patient opposed it', async (t) => {
  t.same(decide({ actor: doctor, dossier: dossier({ opposedBreakTheGlass: true }), mode: 'break-the-glass' }), { allowed: false, reason: 'opposed-break-the-glass', visibleAs: 'forbidden' });
});

t.test("break-the-glass does not widen the profession's row", async (t) => {
  t.equal(decide({ actor: pharmacist, dossier: dossier(), resource: resource({ classCode: '31', typeCode: 'IMG-KOS' }), mode: 'break-the-glass' }).reason, 'outside-matrix');
});

t.test('the regulator reads every class in emergency-call mode without authorisation', async (t) => {
  const all = matrix.classes.map((classCode) => decide({ actor: regulator, dossier: dossier(), resource: resource({ classCode }), mode: 'emergency-call' }).allowed);
  t.same(all, matrix.classes.map(() => true));
});

t.test('the regulator is refused when the patient opposed emergency calls', async (t) => {
  t.equal(decide({ actor: regulator, dossier: dossier({ opposedEmergencyCall: true }), mode: 'emergency-call' }).reason, 'opposed-emergency-call');
});

t.test('the regulator may not act in normal mode', async (t) => {
  t.equal(decide({ actor: regulator }).reason, 'mode-not-allowed');
});

t.test('a professional may not use emergency-call mode', async (t) => {
  t.equal(decide({ actor: doctor, mode: 'emergency-call' }).reason, 'mode-not-allowed');
});

// ---- patients and representatives --------------------------------------------------------------

t.test('the patient reads their own dossier', async (t) => {
  t.same(decide({ actor: patient, dossier: dossier() }), { allowed: true, reason: 'own-dossier' });
});

t.test('the patient does not see a document invisible to the patient, as absent', async (t) => {
  t.same(decide({ actor: patient, resource: resource({ invisibleToPatient: true }) }), { allowed: false, reason: 'invisible-to-patient', visibleAs: 'absent' });
});

t.test("the patient may not read another patient's dossier", async (t) => {
  t.equal(decide({ actor: { kind: 'patient', patientId: 'p2' } }).reason, 'not-own-dossier');
});

t.test('the patient may not use break-the-glass mode', async (t) => {
  t.equal(decide({ actor: patient, mode: 'break-the-glass' }).reason, 'mode-not-allowed');
});

t.test("a legal representative reads the minor's dossier", async (t) => {
  t.same(decide({ actor: representative, dossier: dossier({ minor: true }) }), { allowed: true, reason: 'representative' });
});

t.test('a legal representative does not see a document invisible to representatives', async (t) => {
  t.equal(decide({ actor: representative, dossier: dossier({ minor: true }), resource: resource({ invisibleToRepresentatives: true }) }).reason, 'invisible-to-representatives');
});

t.test('a legal representative is refused once the patient is no longer a minor', async (t) => {
  t.equal(decide({ actor: representative, dossier: dossier({ minor: false }) }).reason, 'not-minor');
});

t.test('a legal representative is refused on a patient they do not represent', async (t) => {
  t.equal(decide({ actor: { kind: 'representative', patientIds: ['p2'] }, dossier: dossier({ minor: true }) }).reason, 'not-representative');
});

// ---- actors with narrow rights --------------------------------------------------------------

t.test('an occupational physician sees nothing, even as a doctor in break-the-glass mode', async (t) => {
  t.same(decide({ actor: { ...doctor, activity: 'occupational-medicine' }, mode: 'break-the-glass' }), { allowed: false, reason: 'never', visibleAs: 'forbidden' });
});

t.test("an insurer's medical adviser sees nothing, not even the documents they wrote", async (t) => {
  t.equal(decide({ actor: { ...doctor, activity: 'insurer-medical-adviser' }, resource: resource({ authors: [DOC_RPPS] }) }).reason, 'never');
});

t.test('administrative staff read the Patient resource and administrative documents only', async (t) => {
  const staff = dossier({ authorized: ['HOSP-42'] });
  t.same(
    [resource({ type: 'Patient', classCode: '95', typeCode: undefined }), resource({ classCode: '95', typeCode: '51851-4' }), resource()].map((r) => decide({ actor: adminStaff, dossier: staff, resource: r }).allowed),
    [true, true, false],
  );
});

t.test('administrative staff are seen by their role, not their profession code', async (t) => {
  t.equal(decide({ actor: { ...adminStaff, profession: '10' }, dossier: dossier({ authorized: ['HOSP-42'] }) }).reason, 'outside-matrix');
});

t.test('the care-history feed reads nothing', async (t) => {
  t.same(decide({ actor: feed }), { allowed: false, reason: 'no-read-rights', visibleAs: 'forbidden' });
});

t.test('the care-history feed writes reimbursement data into any open dossier', async (t) => {
  t.equal(decide({ actor: feed, dossier: dossier(), resource: resource({ classCode: '60', typeCode: 'REMB', authors: [] }), action: 'create' }).allowed, true);
});

t.test('the care-history feed may not write anything but reimbursement data', async (t) => {
  t.equal(decide({ actor: feed, action: 'create' }).reason, 'create-not-permitted');
});

t.test('an operator reads no health data', async (t) => {
  t.equal(decide({ actor: operator }).reason, 'no-read-rights');
});

t.test('an operator may not write health data', async (t) => {
  t.equal(decide({ actor: operator, action: 'create' }).reason, 'create-not-permitted');
});

t.test('a device creates Observations in its patient’s dossier', async (t) => {
  // As $observe writes it: the device named in Observation.device, no author but itself.
  t.equal(decide({ actor: device, resource: resource({ type: 'Observation', classCode: '10', typeCode: '29274-8', authors: [] }), action: 'create' }).allowed, true);
});

t.test("a device may not create in another patient's dossier", async (t) => {
  t.equal(decide({ actor: { ...device, patientId: 'p2' }, resource: resource({ type: 'Observation' }), action: 'create' }).reason, 'not-own-dossier');
});

t.test('a device may not create a document', async (t) => {
  t.equal(decide({ actor: device, action: 'create' }).reason, 'create-not-permitted');
});

t.test('a device reads nothing, not even its own Observations', async (t) => {
  t.equal(decide({ actor: device, resource: resource({ type: 'Observation', authors: ['Device/scale-1'] }) }).reason, 'no-read-rights');
});

// ---- directory data, wrong dossier -------------------------------------------------------------

t.test('every actor reads directory resources, which belong to no dossier', async (t) => {
  const practitioner = resource({ type: 'Practitioner', dossier: undefined, classCode: undefined, typeCode: undefined, authors: [] });
  t.same(
    [doctor, patient, feed, operator, { ...doctor, activity: 'occupational-medicine' as const }].map((actor) => decideAccess({ actor, resource: practitioner, action: 'read', mode: 'normal', matrix }).allowed),
    [true, true, true, true, true],
  );
});

t.test('only operators change directory resources', async (t) => {
  const practitioner = resource({ type: 'Practitioner', dossier: undefined, authors: [] });
  t.same(
    [operator, doctor].map((actor) => decideAccess({ actor, resource: practitioner, action: 'update', mode: 'normal', matrix }).reason),
    ['directory', 'directory-read-only'],
  );
});

t.test('a resource of another dossier answers as absent', async (t) => {
  t.same(decide({ actor: doctor, resource: resource({ dossier: 'p2' }) }), { allowed: false, reason: 'other-dossier', visibleAs: 'absent' });
});

t.test('nobody creates health data outside a dossier', async (t) => {
  t.same(decide({ actor: doctor, resource: resource({ type: 'Binary', dossier: undefined }), action: 'create' }), { allowed: false, reason: 'create-not-permitted', visibleAs: 'forbidden' });
});

t.test('a resource that belongs to no dossier answers as absent', async (t) => {
  t.same(decide({ actor: patient, resource: resource({ type: 'Binary', dossier: undefined }) }), { allowed: false, reason: 'no-dossier', visibleAs: 'absent' });
});

// ---- writing -----------------------------------------------------------------------------------

t.test('an authorised professional may add a document to the dossier', async (t) => {
  t.same(decide({ actor: nurse, resource: resource({ classCode: '10', typeCode: '11506-3', authors: [DOC_RPPS] }), action: 'create' }), { allowed: true, reason: 'may-create' });
});

t.test('a professional may not add to a dossier they may not access', async (t) => {
  t.equal(decide({ actor: doctor, dossier: dossier(), action: 'create' }).reason, 'not-authorised');
});

t.test("a professional may not add patient documents or the insurer's reimbursement data", async (t) => {
  t.same(
    ['90', '60'].map((classCode) => decide({ actor: doctor, resource: resource({ classCode }), action: 'create' }).reason),
    ['create-not-permitted', 'create-not-permitted'],
  );
});

t.test("a professional may not write the patient's Consents directly", async (t) => {
  t.equal(decide({ actor: doctor, resource: resource({ type: 'Consent', classCode: undefined, typeCode: undefined }), action: 'create' }).reason, 'create-not-permitted');
});

t.test('the patient may upload a document of their own class, not a report', async (t) => {
  t.same(
    [resource({ classCode: '90', typeCode: 'DOCPAT03' }), resource()].map((r) => decide({ actor: patient, resource: r, action: 'create' }).allowed),
    [true, false],
  );
});

t.test('the patient may record a Consent in their own dossier', async (t) => {
  t.equal(decide({ actor: patient, resource: resource({ type: 'Consent', classCode: undefined, typeCode: undefined }), action: 'create' }).allowed, true);
});

t.test('only the author may replace a document', async (t) => {
  const mine = resource({ authors: [DOC_RPPS] });
  t.same(
    [decide({ actor: doctor, resource: mine, action: 'update' }).allowed, decide({ actor: doctor, action: 'update' })],
    [true, { allowed: false, reason: 'not-author', visibleAs: 'forbidden' }],
  );
});

t.test('the author may delete their document', async (t) => {
  t.same(decide({ actor: doctor, resource: resource({ authors: [DOC_RPPS] }), action: 'delete' }), { allowed: true, reason: 'author' });
});

t.test('the patient may delete their own upload', async (t) => {
  t.equal(decide({ actor: patient, resource: resource({ classCode: '90', authors: [`Patient/${PATIENT}`] }), action: 'delete' }).allowed, true);
});

t.test("the patient may not delete a professional's document", async (t) => {
  t.equal(decide({ actor: patient, action: 'delete' }).reason, 'not-author');
});

t.test('the patient may revoke an authorisation a professional declared', async (t) => {
  const selfDeclared = resource({ type: 'Consent', classCode: undefined, typeCode: undefined, authors: [OTHER_RPPS] });
  t.same(decide({ actor: patient, resource: selfDeclared, action: 'delete' }), { allowed: true, reason: 'dossier-manager' });
});

t.test("a professional may not delete the patient's Consent", async (t) => {
  const block = resource({ type: 'Consent', classCode: undefined, typeCode: undefined, authors: [`Patient/${PATIENT}`] });
  t.equal(decide({ actor: doctor, resource: block, action: 'delete' }).reason, 'outside-matrix');
});

t.test('a resource hidden from the actor stays absent when they try to change it', async (t) => {
  t.same(decide({ actor: patient, resource: resource({ invisibleToPatient: true, authors: [`Patient/${PATIENT}`] }), action: 'delete' }), {
    allowed: false,
    reason: 'invisible-to-patient',
    visibleAs: 'absent',
  });
});

// ---- self-authorisation, labels --------------------------------------------------------------

t.test('a professional attesting that the patient agreed becomes authorised', async (t) => {
  t.same(decideSelfAuthorisation(doctor, dossier()), { allowed: true, reason: 'self-authorisation' });
});

t.test('a blocked professional may not declare themselves authorised', async (t) => {
  t.equal(decideSelfAuthorisation(doctor, dossier({ blocked: [DOC_RPPS] })).reason, 'blocked');
});

t.test('self-authorisation is refused on a closed dossier', async (t) => {
  t.equal(decideSelfAuthorisation(doctor, dossier({ status: 'closed' })).reason, 'dossier-closed');
});

t.test('only health professionals may declare themselves authorised', async (t) => {
  t.same(
    [adminStaff, regulator, patient, { ...doctor, activity: 'occupational-medicine' as const }].map((a) => decideSelfAuthorisation(a, dossier()).reason),
    ['not-self-authorisable', 'not-self-authorisable', 'not-self-authorisable', 'never'],
  );
});

function label(actor: Actor, label: 'masked' | 'invisible-patient' | 'invisible-representatives', r: ResourceFacts, d: DossierFacts = authorised) {
  return decideLabelChange({ actor, dossier: d, resource: r, label, mode: 'normal', matrix });
}

t.test("the patient may mask a professional's document", async (t) => {
  t.same(label(patient, 'masked', resource()), { allowed: true, reason: 'label-owner' });
});

t.test('a professional who is not the author may not mask a document', async (t) => {
  t.equal(label(doctor, 'masked', resource()).reason, 'label-not-permitted');
});

t.test('the author may lift the invisible-to-patient flag', async (t) => {
  t.same(label(doctor, 'invisible-patient', resource({ invisibleToPatient: true, authors: [DOC_RPPS] })), { allowed: true, reason: 'label-author' });
});

t.test('the patient cannot lift a flag on a document hidden from them', async (t) => {
  t.equal(label(patient, 'invisible-patient', resource({ invisibleToPatient: true })).reason, 'invisible-to-patient');
});

// ---- the reason table ------------------------------------------------------------------------

t.test('dossier-level refusals answer 403 and content-level refusals 404', async (t) => {
  const absent = Object.entries(REFUSALS).filter(([, r]) => r.visibleAs === 'absent').map(([code]) => code);
  t.same(absent.sort(), ['invisible-to-patient', 'invisible-to-representatives', 'masked', 'no-dossier', 'other-dossier', 'outside-matrix']);
});

t.test('dossierRefusal tells why a whole dossier is refused, and nothing when it is open', async (t) => {
  t.same(
    [dossierRefusal({ actor: doctor, dossier: dossier(), mode: 'normal', matrix }), dossierRefusal({ actor: doctor, dossier: authorised, mode: 'normal', matrix })],
    [{ allowed: false, reason: 'not-authorised', visibleAs: 'forbidden' }, undefined],
  );
});
