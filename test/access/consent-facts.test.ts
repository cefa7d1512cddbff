// The patient's controls as Consents (profiles/README.md) read into DossierFacts.
import t from 'tap';
import type { Consent } from '@medplum/fhirtypes';
import { CONSENT_SCOPE_SYSTEM, DOSSIER_CONTROL_SYSTEM, consentProblems, dossierFacts } from '../../src/access/index.ts';
import type { DossierControlCode } from '../../src/access/index.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');

const PRCP = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] };

function control(code: DossierControlCode, rpps: string[] = [], extra: Partial<Consent> = {}): Consent {
  const type = code === 'authorise' || code === 'treating-doctor' ? 'permit' : 'deny';
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: DOSSIER_CONTROL_SYSTEM, code }] }],
    patient: { reference: 'Patient/p1' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type, actor: rpps.map((value) => ({ role: PRCP, reference: { reference: `Practitioner/${value}` } })) },
    ...extra,
  };
}

function facts(consents: Consent[]) {
  return dossierFacts('p1', 'active', consents, { at: NOW });
}

t.test('without Consents nobody is authorised, blocked or opposed', async (t) => {
  t.same(facts([]), { patientId: 'p1', status: 'active', authorized: [], blocked: [], opposedBreakTheGlass: false, opposedEmergencyCall: false });
});

t.test('an active authorise Consent authorises its professionals', async (t) => {
  t.same(facts([control('authorise', ['10000000001', '10000000002'])]).authorized, ['10000000001', '10000000002']);
});

t.test('a revoked (inactive) authorisation no longer authorises', async (t) => {
  t.same(facts([control('authorise', ['10000000001'], { status: 'inactive' })]).authorized, []);
});

t.test('a block Consent blocks its professional', async (t) => {
  t.same(facts([control('block', ['10000000003'])]).blocked, ['10000000003']);
});

t.test('a PS_IdNat identifier names the professional by their RPPS number', async (t) => {
  const consent = control('block');
  consent.provision = { type: 'deny', actor: [{ role: PRCP, reference: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810000000003' } } }] };
  t.same(facts([consent]).blocked, ['10000000003']);
});

t.test('oppositions to break-the-glass and emergency calls are read', async (t) => {
  const f = facts([control('oppose-break-the-glass'), control('oppose-emergency-call')]);
  t.same([f.opposedBreakTheGlass, f.opposedEmergencyCall], [true, true]);
});

t.test('the latest treating-doctor declaration applies', async (t) => {
  const older = control('treating-doctor', ['10000000001'], { dateTime: '2024-01-01' });
  const newer = control('treating-doctor', ['10000000002'], { dateTime: '2025-01-01' });
  t.equal(facts([newer, older]).treatingDoctor, '10000000002');
});

t.test("Consents about another patient are ignored", async (t) => {
  t.same(facts([control('block', ['10000000003'], { patient: { reference: 'Patient/p2' } })]).blocked, []);
});

t.test('an authorisation with a deny provision is ambiguous and does not authorise', async (t) => {
  t.same(facts([control('authorise', ['10000000001'], { provision: { type: 'deny', actor: [{ role: PRCP, reference: { reference: 'Practitioner/10000000001' } }] } })]).authorized, []);
});

t.test('a block with a permit provision still blocks: ambiguity restricts', async (t) => {
  t.same(facts([control('block', ['10000000003'], { provision: { type: 'permit', actor: [{ role: PRCP, reference: { reference: 'Practitioner/10000000003' } }] } })]).blocked, ['10000000003']);
});

t.test('an authorisation whose period has ended no longer authorises', async (t) => {
  const expired = control('authorise', ['10000000001']);
  expired.provision = { ...expired.provision, period: { start: '2024-01-01', end: '2025-01-01' } };
  t.same(facts([expired]).authorized, []);
});

t.test('an authorisation is in force through the last day of its period', async (t) => {
  const lastDay = control('authorise', ['10000000001']);
  lastDay.provision = { ...lastDay.provision, period: { end: '2025-06-01' } };
  t.same(facts([lastDay]).authorized, ['10000000001']);
});

t.test('Consents outside the patient-privacy scope or Carnet’s control system are not controls', async (t) => {
  const adr = control('block', ['10000000003'], { scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'adr' }] } });
  const foreign = control('block', ['10000000003'], { category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }] });
  t.same(facts([adr, foreign]).blocked, []);
});

t.test('the minor flag is passed through from the dossier module', async (t) => {
  t.equal(dossierFacts('p1', 'active', [], { minor: true }).minor, true);
});

t.test('a well-formed control Consent has no problems', async (t) => {
  t.same(
    (['authorise', 'block', 'oppose-break-the-glass', 'oppose-emergency-call', 'treating-doctor'] as const).map((code) =>
      consentProblems(control(code, code.startsWith('oppose') ? [] : ['10000000001'])),
    ),
    [[], [], [], [], []],
  );
});

t.test('consentProblems names each problem of a malformed control Consent', async (t) => {
  const bad = control('treating-doctor', ['10000000001', '10000000002'], { patient: { reference: 'Group/g' } });
  bad.provision = { type: 'deny', actor: [...(bad.provision?.actor ?? []), { role: PRCP, reference: { reference: 'Organization/o1' } }] };
  t.same(consentProblems(bad), [
    'patient must reference Patient/<id>',
    "provision.type must be 'permit' for treating-doctor",
    'each provision.actor must reference a professional: Practitioner/<rpps> or an RPPS / PS_IdNat identifier',
    'treating-doctor names exactly one provision.actor',
  ]);
});

t.test('a Consent without a control category is refused with the list of codes', async (t) => {
  t.match(consentProblems(control('block', ['1'], { category: [] })), [/category must hold exactly one code of urn:carnet:fhir:CodeSystem:dossier-control: authorise, block/]);
});
